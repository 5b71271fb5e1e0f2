"""The `selfplay` command group, the option types and helpers its commands share, and the
console entry point."""

from __future__ import annotations

import sys

import click

import games
from selfplay.checks import real, whole


class GameName(click.ParamType):
    """A registered game name; an unknown one is a one-line usage error."""

    name = "game"

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            value = games.canonical_name(value)
            try:
                games.make(value)
            except (games.UnknownGameError, ValueError) as e:
                self.fail(str(e), param, ctx)
        return value


def _flag(param) -> str:
    return param.opts[0] if param is not None and param.opts else "the value"


class Whole(click.ParamType):
    """A whole number in ``lo..hi`` (:func:`selfplay.checks.whole`); ``1e6`` and
    ``1_000_000`` are read as whole numbers. A refusal names the option."""

    name = "integer"

    def __init__(self, lo: int | None = None, hi: int | None = None):
        self.lo, self.hi = lo, hi

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text)
            except ValueError:
                try:
                    f = float(text)
                except ValueError:
                    f = None
                value = int(f) if f is not None and f == f and abs(f) != float("inf") and f == int(f) else text
        try:
            return whole(value, _flag(param), self.lo, self.hi)
        except (TypeError, ValueError) as e:
            raise click.UsageError(str(e), ctx) from None


class Real(click.ParamType):
    """A finite number in ``[lo, hi]`` (``lo`` excluded with ``lo_open``); NaN and
    infinities are refused, naming the option (:func:`selfplay.checks.real`)."""

    name = "number"

    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise click.UsageError(f"{_flag(param)} must be a number, not {value!r}", ctx) from None
        try:
            return real(value, _flag(param), self.lo, self.hi, self.lo_open)
        except (TypeError, ValueError) as e:
            raise click.UsageError(str(e), ctx) from None


class AutoCount(click.ParamType):
    """``auto`` or a whole number in ``lo..hi`` (workers, threads)."""

    name = "auto|N"

    def __init__(self, lo: int, hi: int, what: str):
        self.lo, self.hi, self.what = lo, hi, what

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            n = int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not 'auto' or a whole number of {self.what}", param, ctx)
        if not self.lo <= n <= self.hi:
            self.fail(f"{n} {self.what} is not in {self.lo}..{self.hi}", param, ctx)
        return n


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="selfplay", prog_name="selfplay", message="%(prog)s %(version)s")
def cli() -> None:
    """Teach a network to play board games by self-play; play it; rank checkpoints."""


@cli.command("games")
def games_cmd() -> None:
    """List the registered games with their action counts and observation shapes."""
    # every native engine that registered (a game added by docs/new_game.md joins by
    # registering), then examples of the adapters' forms
    import re

    def natural(name: str) -> list:  # hex_5x5 before hex_10x10
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]

    examples = sorted((n for n in games.registered() if ":" not in n), key=natural) + [
        "openspiel:tic_tac_toe",
        "openspiel:connect_four",
        "openspiel:hex(board_size=5)",
        "openspiel:breakthrough(rows=6,columns=6)",
        "openspiel:othello",
        "openspiel:clobber",
        "pettingzoo:tictactoe_v3",
        "pettingzoo:connect_four_v3",
        "pettingzoo:go_v5(board_size=9)",
    ]
    from selfplay.human import shipped_checkpoint

    click.echo(f"{'game':44s} {'actions':>7s}  {'observation':12s} {'engine':8s} shipped agent")
    for name in examples:
        g = games.make(name)
        kind = "native" if ":" not in name else "adapter"
        ship = shipped_checkpoint(name)
        shipped = f"checkpoints/{ship.name}" if ship.exists() else "-"
        click.echo(f"{name:44s} {g.num_actions:7d}  {'x'.join(map(str, g.obs_shape)):12s} {kind:8s} {shipped}")
    click.echo(
        "\nAny 2-player, zero-sum, deterministic, perfect-information pyspiel game works as "
        "openspiel:<name>(params); PettingZoo classic envs as pettingzoo:<env>."
    )


def _check_solve(solve: bool, search, move_time) -> None:
    if solve and not (search or move_time):
        raise click.UsageError("--solve proves inside the agent's search: give --search N or --move-time S too")


def _check_workers(workers: int | str, ray_address: str | None) -> None:
    """Refuse, before any game, an address without workers (0 or ``auto``) and workers
    without Ray: the one check of --workers and --ray-address, for every command."""
    from selfplay.raytasks import DistributedError, check_address, require_ray

    if ray_address is not None and workers in (0, "auto"):
        raise click.UsageError("--ray-address needs --workers N (N > 0)")
    if workers not in (0, "auto"):
        try:
            require_ray()
            if ray_address is not None:
                check_address(ray_address)  # a bounded wait, before any work
        except DistributedError as e:
            raise click.UsageError(str(e)) from None


def _console(err: bool = False):
    """A rich console (on standard error with ``err``); a file or pipe gets tables whole
    (no 80-column wrap that cuts names)."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    return Console(stderr=err) if stream.isatty() else Console(width=250, stderr=err)


def _games_bar(label: str | None, *, disable: bool, console=None):
    """The progress display of commands that play games: done of all, elapsed, and an ETA
    (each task's own description where ``label`` is None)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn(label or "{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, TextColumn("eta"), TimeRemainingColumn(), disable=disable, console=console)


def _schedule_or_fail(game_name: str, num_games: int, seed: int, opening_plies: int | None):
    """The planned games; one line for --opening-plies that no game survives."""
    from selfplay import profiles

    try:
        return profiles.schedule(game_name, num_games, seed, opening_plies)
    except ValueError as e:
        raise click.UsageError(str(e).replace("opening plies", "--opening-plies")) from None


def game_workers(f):
    """``--workers`` and ``--ray-address`` of the commands that play chunks of games
    (tournament, eval): none by default, a count of Ray workers when given."""
    return ray_options(
        Whole(0, 1024),
        0,
        "Ray workers playing chunks of games (0: in this process, no Ray)",
        "with --workers: join this Ray cluster (auto, ray://host:port)",
    )(f)


def opening_plies_option(f):
    return click.option(
        "--opening-plies",
        type=Whole(0, 20),
        default=None,
        help="random plies in each opening [default: the game's, 1 in tic-tac-toe, else 2; deeper once those run out]",
    )(f)


def ray_options(workers_type, workers_default, workers_help: str, address_help: str):
    """The one declaration of ``--workers`` and ``--ray-address`` (train, eval, tournament),
    each command giving its own type, default and help; :func:`_check_workers` checks them."""

    def apply(f):
        f = click.option("--ray-address", default=None, help=address_help)(f)
        return click.option(
            "--workers", type=workers_type, default=workers_default, show_default=True, help=workers_help
        )(f)

    return apply


def results_option(default: str):
    """``--db``: the SQLite file that keeps every finished game (tournament, eval)."""
    return click.option(
        "--db",
        type=click.Path(),
        default=default,
        show_default=True,
        help="SQLite file keeping every finished game: a rerun plays only the missing ones",
    )


def solve_option(f):
    """``--solve`` of the commands that load one agent (play, gtp, eval)."""
    return click.option(
        "--solve",
        is_flag=True,
        help="the agent's search proves wins, losses and draws (MCTS-Solver) and plays a proven "
        "position at once; with --search or --move-time",
    )(f)


def symmetric_option(f):
    """``--symmetric/--no-symmetric`` of the commands that load one agent (play, gtp, eval)."""
    return click.option(
        "--symmetric/--no-symmetric",
        default=None,
        help="the agent's Q as the mean over the board's symmetries [default: on, where the game declares any]",
    )(f)


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning, module="pettingzoo")
    warnings.filterwarnings("ignore", message=".*old environment creation API.*")
    try:
        rc = cli.main(standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):  # Ctrl-C outside a command's own handling
        from selfplay.errors import exit_interrupted

        exit_interrupted("\ninterrupted: nothing was saved")
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    sys.exit(rc if isinstance(rc, int) else 0)
