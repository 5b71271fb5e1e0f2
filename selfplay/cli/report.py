"""`selfplay eval`: a checkpoint's report, printed."""

from __future__ import annotations

import click

from selfplay.checks import SEED_MAX
from selfplay.cli.base import (
    Real,
    Whole,
    _check_solve,
    _check_workers,
    _console,
    _games_bar,
    _schedule_or_fail,
    cli,
    game_workers,
    opening_plies_option,
    results_option,
    solve_option,
    symmetric_option,
)


# ------------------------------------------------------------------ eval
@cli.command("eval")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--search", type=Whole(1, 1_000_000), default=None, help="MCTS simulations per move")
@click.option("--move-time", type=Real(0.001, 600), default=None, help="thinking time per move (s)")
@click.option(
    "--games",
    "games_per_seat",
    type=Whole(1, 100_000),
    default=50,
    show_default=True,
    help="games per seat against each opponent",
)
@click.option(
    "--opponents",
    default="random,mcts:100,mcts:1000,mcts:10000",
    show_default=True,
    help="comma-separated: random, mcts:N, a checkpoint, gtp:COMMAND (an engine over GTP)",
)
@click.option("--seed", type=Whole(0, SEED_MAX), default=0, show_default=True)
@opening_plies_option
@game_workers
@results_option("eval.db")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@symmetric_option
@solve_option
def eval_cmd(
    checkpoint,
    search,
    move_time,
    games_per_seat,
    opponents,
    seed,
    opening_plies,
    workers,
    ray_address,
    db,
    as_json,
    symmetric,
    solve,
):
    """Report a checkpoint's strength: exact play, and matches against random and MCTS."""
    import json
    from pathlib import Path

    from rich.table import Table

    from selfplay import evaluate, players
    from selfplay.checkpoint import CheckpointError
    from selfplay.players import load_agent
    from selfplay.raytasks import DistributedError

    if move_time is not None and workers:
        raise click.UsageError(
            "--move-time plays in this process only: on workers sharing cores, the time a move "
            "gets would change its strength (leave out --workers)"
        )
    _check_workers(workers, ray_address)
    _check_solve(solve, search, move_time)
    try:
        agent = load_agent(checkpoint, search=search, move_time=move_time, symmetric=symmetric, solve=solve)
    except CheckpointError as e:
        raise click.UsageError(str(e)) from None
    game_name = agent.game.name
    opp_list = [o.strip() for o in opponents.split(",") if o.strip()]
    if not opp_list:
        raise click.UsageError(f"--opponents {opponents!r} names no opponent (try random,mcts:1000)")
    try:
        players.resolve(opp_list, game_name, at_least=0)
    except players.PlayerError as e:
        raise click.UsageError(f"--opponents: {e}") from None
    _schedule_or_fail(game_name, 2 * games_per_seat, seed, opening_plies)
    from selfplay import tournament as T

    try:  # checked before any game: a file that is not ours is refused, nothing written
        store = T.Store(db) if move_time is None else None
    except T.StoreError as e:
        raise click.UsageError(f"--db: {e}") from None
    try:  # the matches' player: built afresh for each chunk of games, here or on a worker
        player = (
            agent if move_time is not None else players.checkpoint_player(Path(checkpoint), search, symmetric, solve)
        )
    except players.PlayerError as e:
        raise click.UsageError(str(e)) from None
    report = {
        "checkpoint": checkpoint,
        "game": game_name,
        "search": search,
        "move_time": move_time,
        "symmetric": agent.info["symmetric"],
        "solve": solve,
    }
    try:
        with _games_bar(None, disable=as_json, console=_console(err=True)) as bar:

            def on_match(opponent):
                task = bar.add_task(f"games vs {opponent}", total=2 * games_per_seat)
                return lambda done, total: bar.update(task, completed=done, total=total)

            report |= evaluate.report(
                agent,
                player,
                opp_list,
                games_per_seat=games_per_seat,
                seed=seed,
                workers=workers,
                ray_address=ray_address,
                opening_plies=opening_plies,
                store=store,
                on_match=on_match,
            )
    except KeyboardInterrupt:
        kept = f"the finished games are kept in {db}; the same command continues" if store else "nothing was kept"
        from selfplay.errors import exit_interrupted

        exit_interrupted(f"\ninterrupted: {kept}")
    except (DistributedError, T.StoreError) as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = _console()
    who = (
        checkpoint
        + (f" @search={search}" if search else "")
        + (f" @{move_time}s/move" if move_time else "")
        + (" @solve" if solve else "")
        + (" (Q: the mean over the board's symmetries)" if agent.info["symmetric"] else "")
    )
    console.print(f"[bold]{who}[/bold] ({game_name})")
    ex = report.get("exact")
    if "exact_missing" in report:
        console.print(f"exact play: skipped ({report['exact_missing']})")
    if ex:
        t = Table(title=f"exact play: the move keeps the best outcome ({ex['positions']:,} positions)")
        for col in ("positions of", "count", "kept", "kept (non-trivial)"):
            t.add_column(col, justify="right")
        for row in ex["rows"]:
            share = row["kept_nontrivial"]
            t.add_row(
                row["label"], str(row["positions"]), f"{row['kept']:.1%}", f"{share:.1%}" if share is not None else ""
            )
        if len(ex["rows"]) > 1:
            t.add_row(
                "all",
                str(ex["positions"]),
                f"{ex['kept']:.1%}",
                f"{ex['kept_nontrivial']:.1%} of {ex['nontrivial_positions']}",
            )
        t.add_row("uniform random", "", f"{ex['random_kept']:.1%}", f"{ex['random_kept_nontrivial']:.1%}")
        console.print(t)
        if ex.get("vs_perfect"):
            p = ex["vs_perfect"]
            console.print(f"against {p['player']} (perfect play): {p['losses']} losses in {p['games']} games")
        console.print(f"({ex['note']})")
    t = Table(title="matches (each seat; Elo relative to the opponent, 95% interval)")
    for c in ("opponent", "as first W/D/L", "as second W/D/L", "score", "Elo"):
        t.add_column(c, justify="right")
    for m in report["matches"]:
        f, s_ = m["seat0"], m["seat1"]
        t.add_row(
            m["opponent"],
            f"{f['win']}/{f['draw']}/{f['loss']}",
            f"{s_['win']}/{s_['draw']}/{s_['loss']}",
            f"{m['score']:.1%}",
            f"{m['elo']:+.0f} +- {m['ci95']:.0f}",
        )
    console.print(t)
    for m in report["matches"]:
        if m["endings"]:
            ends = ", ".join(
                f"{how} {e['games']} ({e['points']:g} points to the agent)" for how, e in m["endings"].items()
            )
            console.print(f"against {m['opponent']}, games not ended by the rules: {ends}")
