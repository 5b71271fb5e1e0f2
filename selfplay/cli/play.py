"""`selfplay play` (a terminal match) and `selfplay gtp` (the agent as a GTP engine)."""

from __future__ import annotations

import sys

import click

from selfplay.checks import SEED_MAX
from selfplay.cli.base import GameName, Real, Whole, _check_solve, cli, solve_option, symmetric_option


# ------------------------------------------------------------------ play
def _use_color() -> bool:
    import os

    try:
        tty = sys.stdout is not None and sys.stdout.isatty()
    except (AttributeError, ValueError, OSError):  # no stdout, or a closed one
        tty = False
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _load_player_agent(game_name: str, checkpoint, search, move_time, symmetric=None, solve=False):
    from selfplay import human
    from selfplay.checkpoint import CheckpointError
    from selfplay.players import load_agent

    path = checkpoint or human.shipped_checkpoint(game_name)
    if checkpoint is None and not path.exists():
        raise click.UsageError(
            f"no shipped checkpoint for {game_name} ({path}); pass --checkpoint PATH "
            f"or train one with: selfplay train --game {game_name}"
        )
    try:
        return load_agent(path, search=search, move_time=move_time, game=game_name, symmetric=symmetric, solve=solve)
    except CheckpointError as e:
        raise click.UsageError(str(e)) from None


@cli.command()
@click.option(
    "--game",
    "game_name",
    type=GameName(),
    default=None,
    help="game to play [default: the checkpoint's game, else connect_four]",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    default=None,
    help="agent to play [default: the shipped checkpoints/<game>.pt]",
)
@click.option("--search", type=Whole(1, 1_000_000), default=None, help="MCTS simulations per agent move")
@click.option("--move-time", type=Real(0.001, 600), default=None, help="agent thinking time per move (s)")
@click.option("--first", "side", flag_value="first", default=True, help="you move first (default)")
@click.option("--second", "side", flag_value="second", help="the agent moves first")
@click.option("--random-side", "side", flag_value="random", help="toss for who moves first")
@click.option("--seed", type=Whole(0, SEED_MAX), default=None, help="random seed for the agent's ties and the toss")
@symmetric_option
@solve_option
def play(game_name, checkpoint, search, move_time, side, seed, symmetric, solve):
    """Play against a trained agent in the terminal.

    Type moves in the game's notation (connect four: a column 1-7; tic-tac-toe: 1-9 like a
    phone keypad, or a1..c3). Commands: help, moves, hint, undo, quit.
    """
    import random

    from selfplay import human
    from selfplay.profiles import profile

    if sys.stdout is None or sys.stdout.closed or sys.stdin is None or sys.stdin.closed:
        raise click.ClickException("play needs an open standard input and output (a terminal)")
    _check_solve(solve, search, move_time)
    if game_name is None:
        from selfplay import players

        game_name = (players.infer_game([checkpoint]) if checkpoint else None) or "connect_four"
    agent = _load_player_agent(game_name, checkpoint, search, move_time, symmetric, solve)
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    seat = {"first": 0, "second": 1}.get(side, seed % 2)
    click.echo(
        f"selfplay: {game_name} against {agent.info.get('path', agent.name)}"
        + (f" with {search} simulations" if search else "")
        + (f", {move_time}s a move" if move_time else "")
        + (", proving what it can" if solve else "")
    )

    def read(prompt):
        # not input(): on a terminal it reads through C's fgets, which stops at a NUL byte
        # and then waits for more, so a line holding one stalled the prompt
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    session = human.Session(
        agent.game,
        agent,
        read=read,
        write=click.echo,
        human_seat=seat,
        color=_use_color(),
        seed=seed,
        exact=hints() if (hints := profile(game_name).hints) else None,
    )
    session.run()


# ------------------------------------------------------------------ gtp
@cli.command()
@click.option("--checkpoint", type=click.Path(dir_okay=False), required=True, help="the agent to run as an engine")
@click.option("--search", type=Whole(1, 1_000_000), default=None, help="MCTS simulations per generated move")
@click.option("--move-time", type=Real(0.001, 600), default=None, help="thinking time per generated move (s)")
@click.option("--seed", type=Whole(0, SEED_MAX), default=0, show_default=True, help="random seed for the agent's ties")
@symmetric_option
@solve_option
def gtp(checkpoint, search, move_time, seed, symmetric, solve):
    """Speak the Go Text Protocol (version 2) on standard input and output.

    For games whose moves are GTP vertices: Hex (openspiel:hex(board_size=N)), Othello,
    Go. Attach it to a GUI as its engine command, e.g. in HexGui:
    selfplay gtp --checkpoint checkpoints/openspiel_hex_board_size_5.pt --search 200
    """
    from selfplay import gtp as G
    from selfplay.checkpoint import CheckpointError
    from selfplay.players import load_agent

    _check_solve(solve, search, move_time)
    try:
        agent = load_agent(checkpoint, search=search, move_time=move_time, symmetric=symmetric, solve=solve)
    except CheckpointError as e:
        raise click.UsageError(str(e)) from None
    why = G.unfit(agent.game)
    if why:
        raise click.UsageError(f"{checkpoint}: {why}; gtp drives games such as Hex, Othello and Go")
    click.echo(
        f"selfplay gtp: {agent.game.name} from {checkpoint}"
        + (f", {search} simulations a move" if search else "")
        + (f", {move_time}s a move" if move_time else "")
        + (", proving what it can" if solve else ""),
        err=True,
    )
    G.Engine(agent, seed=seed).serve(sys.stdin, sys.stdout)
