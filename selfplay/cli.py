"""The `selfplay` command: parses options and calls library functions, nothing more."""

from __future__ import annotations

import signal
import sys

import click

import games
from selfplay.checks import SEED_MAX, real, whole


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


# ------------------------------------------------------------------ train
def _field_type(fld):
    """The click type of a config field, from its declared type, range and choices."""
    meta = fld.metadata
    if "choices" in meta:
        return click.Choice(list(meta["choices"]))
    if fld.type == "int":
        return Whole(meta.get("lo"), meta.get("hi"))
    if fld.type == "float":
        return Real(meta.get("lo"), meta.get("hi"), meta.get("lo_open", False))
    return {"bool": bool, "str": str}[fld.type]


def _config_fields():
    """``(field, flag, click parameter name, help prefix)`` for every option ``train``
    derives from a config record: TrainConfig's own fields, its search record (flat:
    ``--simulations``) and NetConfig (``--hidden``, ``--net-kind``)."""
    import dataclasses

    from selfplay.config import NetConfig, SearchSettings, TrainConfig

    out = [
        (fld, "--" + fld.name.replace("_", "-"), fld.name, "")
        for fld in dataclasses.fields(TrainConfig)
        if fld.name not in ("game", "net", "search")
    ]
    out += [
        (fld, "--" + fld.name.replace("_", "-"), fld.name, "MCTS mode: ") for fld in dataclasses.fields(SearchSettings)
    ]
    out += [
        (fld, "--net-kind" if fld.name == "kind" else "--" + fld.name, "net_" + fld.name, "network: ")
        for fld in dataclasses.fields(NetConfig)
    ]
    return out


def ray_options(workers_type, workers_default, workers_help: str, address_help: str):
    """The one declaration of ``--workers`` and ``--ray-address`` (train, eval, tournament),
    each command giving its own type, default and help; :func:`_check_workers` checks them."""

    def apply(f):
        f = click.option("--ray-address", default=None, help=address_help)(f)
        return click.option(
            "--workers", type=workers_type, default=workers_default, show_default=True, help=workers_help
        )(f)

    return apply


def _train_options(f):
    """One option per config field (:func:`_config_fields`), with the help, range and
    choices declared on the field."""
    opts = []
    for fld, flag, dest, prefix in _config_fields():
        text = prefix + fld.metadata["help"]
        if fld.type == "bool":
            opts.append(click.option(f"{flag}/--no-{flag[2:]}", dest, default=None, help=text))
        else:
            opts.append(
                click.option(
                    flag,
                    dest,
                    type=_field_type(fld),
                    default=None,
                    show_default=False,
                    help=f"{text} [default: per game, else {fld.default}]",
                )
            )
    for o in reversed(opts):
        f = o(f)
    return f


def _as_flags(message: str) -> str:
    """A config's refusal with its field names written as the options that set them."""
    import re

    flags = {fld.name: flag for fld, flag, _, _ in _config_fields()}
    return re.sub(r"\b([a-z][a-z_]*)\b(?= \(| must)", lambda m: flags.get(m.group(1), m.group(1)), message)


@cli.command()
@click.option("--game", "game_name", type=GameName(), default="tic_tac_toe", show_default=True, help="game to learn")
@click.option("--out", type=click.Path(), default=None, help="run folder [default: runs/<game>]")
@click.option(
    "--resume", type=click.Path(), default=None, help="continue the run in this folder from its newest checkpoint"
)
@click.option("--force", is_flag=True, help="start over in a --out folder that holds a run (its run files are deleted)")
@click.option(
    "--save-replay",
    is_flag=True,
    help="keep the replay memory in latest.pt (exact resume; a resume of such a run keeps doing it)",
)
@click.option(
    "--threads",
    type=AutoCount(1, 64, "threads"),
    default="auto",
    show_default=True,
    help="the learner's torch CPU threads (auto: 1 beside workers, else as many as were measured to "
    "pay, capped at the CPUs: distributed.AUTO_THREADS)",
)
@click.option(
    "--minutes",
    type=Real(0.01, 1e6),
    default=None,
    help="stop after this many minutes of training (then evaluate and save), or at --steps",
)
@click.option(
    "--keep", type=Whole(1, 1_000_000), default=None, help="keep only the newest N step_<moves>.pt files [default: all]"
)
@ray_options(
    AutoCount(0, 1024, "workers"),
    "auto",
    "self-play actors on Ray feeding this learner (0: one process, no Ray; auto: the count measured "
    'to pay in the run\'s mode, capped at the CPUs, 0 without Ray: docs/benchmarks.md, "Scaling")',
    "join this Ray cluster ('auto', or ray://host:port) [default: start a local Ray for the run]",
)
@click.option(
    "--policy-lag",
    "policy_lag",
    type=Whole(0, 1000),
    default=4,
    show_default=True,
    help="with --workers: drop chunks played with weights more than this many versions old",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="the learner's device (auto: cuda when there is a GPU)",
)
@click.option("--tensorboard", is_flag=True, help="also log the metrics as TensorBoard scalars in <run>/tensorboard/")
@click.option(
    "--preset",
    default=None,
    help=(
        "a named recipe of the game's (strong: the long run behind the shipped connect_four, othello"
        " and hex_9x9 agents, also for the other hex_N); options given beside it win"
    ),
)
@_train_options
@click.pass_context
def train(
    ctx,
    game_name,
    out,
    resume,
    force,
    save_replay,
    threads,
    minutes,
    keep,
    workers,
    ray_address,
    policy_lag,
    device,
    tensorboard,
    preset,
    **opts,
):
    """Learn a game by self-play DQN against a frozen, negated copy of the network.

    Writes runs/<name>/metrics.jsonl, step_<N>.pt, latest.pt and learning_curve.png.
    Ctrl-C (or SIGTERM) saves a checkpoint and exits; --resume continues exactly there.
    """
    try:
        _train(
            ctx,
            game_name,
            out,
            resume,
            force,
            save_replay,
            threads,
            minutes,
            keep,
            preset,
            opts,
            dict(workers=workers, ray_address=ray_address, max_policy_lag=policy_lag, tensorboard=tensorboard),
            device,
        )
    except KeyboardInterrupt:  # before the run's own signal handling is in place
        from selfplay.errors import exit_interrupted

        exit_interrupted("\ninterrupted before training started: nothing was trained or saved", err=False)


def _train(ctx, game_name, out, resume, force, save_replay, threads, minutes, keep, preset, opts, scale, device):
    import contextlib
    import dataclasses
    from pathlib import Path

    from selfplay import evaluate, profiles, runner
    from selfplay.checkpoint import CheckpointError
    from selfplay.config import NetConfig

    net_opts = {k[4:]: opts.pop(k) for k in list(opts) if k.startswith("net_")}
    overrides = {k: v for k, v in opts.items() if v is not None}
    game_given = ctx.get_parameter_source("game_name") == click.core.ParameterSource.COMMANDLINE
    folder = contextlib.ExitStack()  # holds the run folder's lock from before prepare to the run's end
    try:
        _check_workers(scale["workers"], scale["ray_address"])
        device = _device(device)
        if scale["tensorboard"]:
            runner.tensorboard_writer()
        for flag, value in (("--out", out), ("--resume", resume)):
            if value is not None:
                try:
                    runner.check_folder_path(value)  # the string as typed
                except runner.RunError as e:
                    raise click.UsageError(f"{flag}: {e}") from None
        if resume is not None:
            if out is not None or force:
                raise click.UsageError("--resume continues its own folder: leave out --out and --force")
            if overrides.keys() - {"steps", "lr"} or any(v is not None for v in net_opts.values()) or preset:
                raise click.UsageError(
                    "with --resume only --steps and --lr may change; the run keeps its saved settings"
                )
            out_dir = Path(resume)
            if out_dir.is_dir():
                folder.enter_context(runner.claim(out_dir))
            learner = runner.prepare(
                None,
                out_dir,
                resume=True,
                steps=overrides.get("steps"),
                lr=overrides.get("lr"),
                game=games.canonical_name(game_name) if game_given else None,
            )
        else:
            cfg = profiles.default_config(game_name, preset=preset, **overrides)
            evaluate.ladder(cfg)  # a rung of --eval-opponents that cannot play: one line, before any work
            if any(v is not None for v in net_opts.values()):
                base = dataclasses.asdict(cfg.net)
                base.update({k: v for k, v in net_opts.items() if v is not None})
                cfg = dataclasses.replace(cfg, net=NetConfig(**base))
            out_dir = Path(out) if out is not None else Path("runs") / games.slug(game_name)
            runner.check_folder_path(out_dir)
            folder.enter_context(runner.claim(out_dir))
            learner = runner.prepare(cfg, out_dir, resume=False, force=force)
    except (ValueError, runner.RunError, CheckpointError) as e:
        folder.close()
        raise click.UsageError(_as_flags(str(e))) from None
    except BaseException:
        folder.close()
        raise
    with folder:
        # a run saved with its replay memory goes on saving it (else the next resume would lose it)
        _train_run(learner, out_dir, resume, save_replay or learner.replay_saved, threads, minutes, keep, scale, device)


def _memory_line(learner, save_replay: bool) -> str:
    """What a resume takes back of the replay memories: said either way, since a resume
    without them is not the exact continuation --save-replay promises."""
    if learner.replay_saved:
        parts = ", ".join(f"{name} {buf.size:,}" for name, buf in learner.buffers().items())
        return f"replay memory restored with the checkpoint ({parts} positions): an exact resume"
    tail = " (--save-replay keeps it from the next save on)" if not save_replay else ""
    return (
        f"no replay memory in {learner.resumed_from.name}: the memory refills from self-play, "
        f"so this resume is not exact{tail}"
    )


def _train_run(learner, out_dir, resume, save_replay, threads, minutes, keep, scale, device):
    """The training itself, once the run folder is held and the learner prepared."""
    import time

    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from selfplay import runner, sources
    from selfplay.distributed import DistributedError, auto_scale

    learner.to(device)
    cfg = learner.cfg
    mode = learner.source.describe(cfg)

    scale["workers"], threads, why = auto_scale(learner.source, scale["workers"], threads)
    torch.set_num_threads(threads)
    if resume is not None:
        click.echo(
            f"resuming {cfg.game} at {learner.moves:,} of {cfg.steps:,} moves from {learner.resumed_from} ({mode})"
        )
        for note in learner.resume_notes:
            click.echo(note)
        click.echo(_memory_line(learner, save_replay))
    else:
        click.echo(
            f"training {cfg.game} for {cfg.steps:,} moves into {out_dir}/ ({mode}; net {cfg.net.kind}, "
            f"{cfg.num_envs} games in parallel, seed {cfg.seed})"
        )
    where = (
        f"self-play in {scale['workers']} Ray workers ({scale['ray_address'] or 'local Ray'})"
        if scale["workers"]
        else ""
    )
    click.echo(
        "; ".join(
            x
            for x in (
                f"learner on {device}"
                + (f", {threads} torch thread{'s' * (threads != 1)}" if device == "cpu" else "")
                + _precision_text(cfg.precision, device),
                where,
                why,
            )
            if x
        )
    )
    if cfg.lr_final:
        click.echo(
            f"Adam's rate {cfg.lr:g}, then {cfg.lr_final:g} from minute {cfg.lr_final_at:g} of the run's clock "
            f"(now minute {learner.wall_time / 60:.0f})"
        )
        ends = learner.wall_time / 60 + (minutes or 0)
        if minutes is not None and ends <= cfg.lr_final_at:
            click.echo(
                f"note: this segment ends at minute {ends:.0f} of the run's clock, before the rate changes at "
                f"minute {cfg.lr_final_at:g}: the change comes in a later segment (--resume), or lower --lr-final-at"
            )
    columns = [
        TextColumn("moves"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta {task.fields[eta]}"),
        TextColumn("{task.fields[info]}"),
    ]
    t0, m0 = time.perf_counter(), learner.moves
    deadline = None if minutes is None else t0 + 60 * minutes
    # from here on every SIGINT/SIGTERM means: save once, then stop (the handlers come back after)
    # the bar's total is --steps (the run ends at the first batched move past it: the total
    # grows to the count reached), or none while --minutes may end the run first
    total = None if minutes is not None else cfg.steps
    with runner.stop_requests() as asked, Progress(*columns, transient=False) as progress:
        task = progress.add_task("moves", total=total, completed=learner.moves, info="", eta="-:--:--")
        last = {"t": 0.0}

        def show(moves: int, **fields) -> None:
            progress.update(task, completed=moves, total=None if total is None else max(total, moves), **fields)

        def on_progress(learner, pool):
            now = time.perf_counter()
            if now - last["t"] < 0.5:
                return
            last["t"] = now
            rate = (learner.moves - m0) / max(1e-9, now - t0)
            eps = ""
            if learner.source.shows_epsilon:
                eps = f" eps {sources.epsilon_at(learner.cfg, learner.moves):.2f}"
            lag = f" lag {pool.stats.mean_lag:.1f}" if pool is not None else ""
            # the run ends at --steps or at --minutes, whichever comes first
            left = (cfg.steps - learner.moves) / rate if rate > 0 else float("inf")
            if deadline is not None:
                left = min(left, max(0.0, deadline - now))
            eta = time.strftime("%H:%M:%S", time.gmtime(left)) if left < 360_000 else "-:--:--"
            loss = f"{learner.last_loss:.4f}" if learner.updates else "- (no gradient step yet)"
            info = f"{rate:,.0f}/s loss {loss}{eps}{lag}"
            show(learner.moves, eta=eta, info=info)

        def on_eval(learner, row):
            show(learner.moves)
            progress.console.print(f"[{learner.moves:,} moves, {row['time']:.0f}s] {_eval_text(row)}", soft_wrap=True)

        try:
            final = runner.run(
                learner,
                out_dir,
                options=runner.RunOptions(minutes=minutes, keep=keep, save_replay=save_replay, **scale),
                on_progress=on_progress,
                on_eval=on_eval,
                asked=asked,
                on_notice=lambda msg: progress.console.print(msg, soft_wrap=True),
            )
        except runner.Interrupted as e:
            progress.stop()
            name = "SIGTERM" if e.signum == signal.SIGTERM else "interrupted"
            click.echo(
                f"\n{name}: saved {e.saved} at {learner.moves:,} moves; "
                f"continue with: selfplay train --resume {out_dir}"
            )
            sys.exit(143 if e.signum == signal.SIGTERM else 130)
        except (runner.RunError, DistributedError) as e:
            progress.stop()
            hint = "; --workers 0 trains in one process" if why and isinstance(e, DistributedError) else ""
            raise click.ClickException(str(e) + hint) from None
        show(learner.moves, eta="0:00:00")
        progress.update(task, total=learner.moves)  # where the run ended is the whole
    if runner.plays_exactly(learner):
        click.echo(f"exact play reached at {learner.moves:,} moves: the run is done (of {cfg.steps:,} moves)")
    click.echo(f"done: {_eval_text(final)}")
    click.echo(f"checkpoint: {out_dir}/latest.pt   curve: {out_dir}/learning_curve.png")


def _precision_text(precision: str, device: str) -> str:
    """The start-up line's words on ``--precision``: none for fp32; bf16 named, with a
    warning where the CPU has no native bfloat16."""
    from selfplay import network

    if precision != "bf16":
        return ""
    if device == "cpu" and not network.native_bf16():
        return ", bfloat16 arithmetic (this CPU has no native bfloat16: slower than --precision fp32 here)"
    return ", bfloat16 arithmetic"


def _device(name: str) -> str:
    """The torch device for --device; a missing GPU is a one-line usage error."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise click.UsageError("--device cuda: no CUDA GPU is available to torch here (use --device cpu or auto)")
    return name


def _eval_text(row: dict) -> str:
    parts = [f"vs random {row['vs_random']['score']:.1%}", f"vs frozen {row['vs_frozen']['score']:.1%}"]
    if "exact" in row:
        parts.append(_exact_text(row["exact"]))
    ladder = row.get("ladder")
    if ladder and "elo" in ladder:
        scores = ", ".join(
            f"{spec} {(g['wins'] + g['draws'] / 2) / max(1, g['wins'] + g['draws'] + g['losses']):.0%}"
            for spec, g in ladder["rungs"].items()
        )
        parts.append(f"Elo {ladder['elo']:+.0f} ± {ladder['ci95']:.0f} (0 = {ladder['anchor']}; {scores})")
    return "  ".join(parts)


def _exact_text(ex: dict) -> str:
    """One line of an exact-play report (:mod:`selfplay.exact`: one shape for every game)."""
    text = f"exact {ex['kept']:.2%} of {ex['positions']:,} positions ({ex['kept_nontrivial']:.1%} non-trivial)"
    if ex.get("vs_perfect"):
        p = ex["vs_perfect"]
        text += f", {p['losses']} losses in {p['games']} games vs {p['player']}"
    return text


# ------------------------------------------------------------------ play
def _use_color() -> bool:
    import os

    try:
        tty = sys.stdout is not None and sys.stdout.isatty()
    except (AttributeError, ValueError, OSError):  # no stdout, or a closed one
        tty = False
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def symmetric_option(f):
    """``--symmetric/--no-symmetric`` of the commands that load one agent (play, gtp, eval)."""
    return click.option(
        "--symmetric/--no-symmetric",
        default=None,
        help="the agent's Q as the mean over the board's symmetries [default: on, where the game declares any]",
    )(f)


def solve_option(f):
    """``--solve`` of the commands that load one agent (play, gtp, eval)."""
    return click.option(
        "--solve",
        is_flag=True,
        help="the agent's search proves wins, losses and draws (MCTS-Solver) and plays a proven "
        "position at once; with --search or --move-time",
    )(f)


def _check_solve(solve: bool, search, move_time) -> None:
    if solve and not (search or move_time):
        raise click.UsageError("--solve proves inside the agent's search: give --search N or --move-time S too")


def _load_player_agent(game_name: str, checkpoint, search, move_time, symmetric=None, solve=False):
    from selfplay import human
    from selfplay.checkpoint import CheckpointError, load_agent

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
    from selfplay.checkpoint import CheckpointError, load_agent

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


# ------------------------------------------------------------------ tournament
def opening_plies_option(f):
    return click.option(
        "--opening-plies",
        type=Whole(0, 20),
        default=None,
        help="random plies in each opening [default: the game's, 1 in tic-tac-toe, else 2; deeper once those run out]",
    )(f)


def _schedule_or_fail(game_name: str, num_games: int, seed: int, opening_plies: int | None):
    """The planned games; one line for --opening-plies that no game survives."""
    from selfplay import profiles

    try:
        return profiles.schedule(game_name, num_games, seed, opening_plies)
    except ValueError as e:
        raise click.UsageError(str(e).replace("opening plies", "--opening-plies")) from None


def results_option(default: str):
    """``--db``: the SQLite file that keeps every finished game (tournament, eval)."""
    return click.option(
        "--db",
        type=click.Path(),
        default=default,
        show_default=True,
        help="SQLite file keeping every finished game: a rerun plays only the missing ones",
    )


def game_workers(f):
    """``--workers`` and ``--ray-address`` of the commands that play chunks of games
    (tournament, eval): none by default, a count of Ray workers when given."""
    return ray_options(
        Whole(0, 1024),
        0,
        "Ray workers playing chunks of games (0: in this process, no Ray)",
        "with --workers: join this Ray cluster (auto, ray://host:port)",
    )(f)


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


def _players_or_fail(specs, game_name, at_least=2):
    """The players, and the game: given, or read from the first checkpoint among them."""
    from selfplay import players

    try:
        if game_name is None:
            game_name = players.infer_game(list(specs)) or "connect_four"
        return players.resolve(list(specs), game_name, at_least), game_name
    except (players.PlayerError, games.UnknownGameError) as e:
        raise click.UsageError(str(e)) from None


def _print_standings(st, as_json: bool) -> None:
    import json

    from rich.table import Table

    if as_json:
        click.echo(
            json.dumps(
                {
                    "ratings": [
                        {
                            "player": r.name,
                            "ident": p.ident,
                            "elo": round(r.elo, 1),
                            "ci95": round(r.ci95, 1),
                            "games": r.games,
                            "score": round(r.score, 4),
                        }
                        for r, p in zip(st.ratings, st.players)
                    ],
                    "cross": {
                        p.label: {
                            q.label: {"points": st.cross[i][j][0], "games": st.cross[i][j][1]}
                            for j, q in enumerate(st.players)
                            if i != j
                        }
                        for i, p in enumerate(st.players)
                    },
                },
                indent=2,
            )
        )
        return
    console = _console()
    n = len(st.players)
    cross = Table(title="cross table: points of the row player / games")
    cross.add_column("player", no_wrap=True)
    for k in range(n):
        cross.add_column(str(k + 1), justify="right")
    for i, p in enumerate(st.players):
        cells = [
            "-" if i == j else (f"{st.cross[i][j][0]:g}/{st.cross[i][j][1]}" if st.cross[i][j][1] else "")
            for j in range(n)
        ]
        cross.add_row(f"{i + 1}. {p.label}", *cells)
    console.print(cross)
    table = Table(title="ratings (Bradley-Terry, Elo units, 95% interval)")
    for col, just in (
        ("rank", "right"),
        ("player", "left"),
        ("Elo", "right"),
        ("+-95%", "right"),
        ("games", "right"),
        ("score", "right"),
        ("as first", "right"),
        ("as second", "right"),
    ):
        table.add_column(col, justify=just, no_wrap=col == "player")
    order = sorted(range(n), key=lambda k: -st.ratings[k].elo) if st.ratings else range(n)
    for rank, k in enumerate(order, 1):
        r = st.ratings[k]
        (f_pts, f_n), (s_pts, s_n) = st.seat[k]
        table.add_row(
            str(rank),
            r.name,
            f"{r.elo:.0f}",
            f"{r.ci95:.0f}",
            str(r.games),
            f"{r.score:.1%}",
            f"{f_pts / f_n:.1%}" if f_n else "",
            f"{s_pts / s_n:.1%}" if s_n else "",
        )
    console.print(table)


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


def _console(err: bool = False):
    """A rich console (on standard error with ``err``); a file or pipe gets tables whole
    (no 80-column wrap that cuts names)."""
    from rich.console import Console

    stream = sys.stderr if err else sys.stdout
    return Console(stderr=err) if stream.isatty() else Console(width=250, stderr=err)


def _check_export(path: str | None, game_name: str, force: bool, db: str) -> None:
    """One line, before any game, for an --export path that cannot be written, names a
    form the game has not, or is a file already there (unless --force)."""
    from selfplay import sgf
    from selfplay.checks import TargetError, writable_target

    if path is None:
        return
    try:
        p = writable_target(path, name="--export", force=force, sources=[db])
    except TargetError as e:
        raise click.UsageError(str(e)) from None
    if p.suffix not in (".csv", ".sgf", ".txt"):
        raise click.UsageError(f"--export {path}: name a .csv, .sgf or .txt file (the suffix picks the form)")
    if p.suffix == ".sgf" and sgf.suffix(game_name) != ".sgf":
        raise click.UsageError(f"--export {path}: SGF has no game number for {game_name}: name a .txt file")


#: --game of the commands that rank players: the checkpoints' game unless given
_checkpoints_game = click.option(
    "--game",
    "game_name",
    type=GameName(),
    default=None,
    help="game [default: the checkpoints' game, else connect_four]",
)


@cli.command()
@click.argument("players", nargs=-1, required=True)
@_checkpoints_game
@click.option(
    "--games",
    "games_per_pair",
    type=Whole(1, 100_000),
    default=20,
    show_default=True,
    help="games per pair (each opening twice, seats swapped)",
)
@results_option("tournament.db")
@game_workers
@click.option("--anchor", default="random", show_default=True, help="player whose rating is fixed")
@click.option("--anchor-elo", type=Real(-1e5, 1e5), default=0.0, show_default=True)
@opening_plies_option
@click.option("--seed", type=Whole(0, SEED_MAX), default=0, show_default=True, help="seed of the openings")
@click.option(
    "--export",
    "export_csv",
    type=click.Path(dir_okay=False),
    default=None,
    help="write the stored games: .csv (a row each), .sgf (Go, Othello, Hex: an SGF collection), "
    ".txt (a line of moves each)",
)
@click.option("--force", is_flag=True, help="let --export overwrite a file that is there")
@click.option("--json", "as_json", is_flag=True, help="print ratings and cross table as JSON")
def tournament(
    players,
    game_name,
    games_per_pair,
    db,
    workers,
    ray_address,
    anchor,
    anchor_elo,
    opening_plies,
    seed,
    export_csv,
    force,
    as_json,
):
    """Round robin between checkpoints, folders of checkpoints and bots, with ratings.

    PLAYERS: checkpoint files, folders, PATH@search=N, PATH@sym=0, random, minimax, perfect, mcts:N,
    gtp:COMMAND (an engine over GTP).
    """

    from selfplay import profiles
    from selfplay import tournament as T

    plist, game_name = _players_or_fail(players, game_name)
    _check_export(export_csv, game_name, force, db)
    _check_workers(workers, ray_address)
    from selfplay.raytasks import DistributedError  # Ray itself only with --workers

    try:
        if anchor != "random" and not any(anchor in (p.label, p.ident, p.path) for p in plist):
            raise T.PlayerError(f"anchor {anchor!r} is not one of the players")
        profiles.schedule(game_name, games_per_pair, seed, opening_plies)  # refuses openings no game survives
        store = T.Store(db)
        missing, total = T.pending(game_name, plist, games_per_pair, store, seed, opening_plies)
    except ValueError as e:  # a player, the results file, or --opening-plies that no game survives
        raise click.UsageError(str(e).replace("opening plies", "--opening-plies")) from None
    if not as_json:
        click.echo(f"{game_name}: {len(plist)} players, {games_per_pair} games per pair, results in {db}")
        if not missing:
            click.echo(f"all {total} games already stored")
    if missing:
        with _games_bar("games", disable=as_json) as progress:
            task = progress.add_task("games", total=total)

            def on_progress(done, total):
                progress.update(task, completed=done, total=total)

            try:
                T.run(
                    game_name,
                    plist,
                    games_per_pair,
                    store,
                    workers=workers,
                    seed=seed,
                    opening_plies=opening_plies,
                    on_progress=on_progress,
                    ray_address=ray_address,
                )
            except KeyboardInterrupt:
                progress.stop()
                click.echo("\ninterrupted: finished games are saved; run the same command again to resume.")
                sys.exit(130)
            except (T.StoreError, DistributedError) as e:
                progress.stop()
                raise click.ClickException(str(e)) from None
    st = T.standings(game_name, plist, store, anchor=anchor, anchor_elo=anchor_elo)
    _print_standings(st, as_json)
    idents = {p.ident: p.label for p in plist}
    ended = [(a, b, how, sc) for a, b, how, sc in store.endings(game_name) if a in idents and b in idents]
    if ended and not as_json:
        from collections import Counter

        counts = Counter((idents[b] if sc == 1.0 else idents[a], how) for a, b, how, sc in ended)
        click.echo("games not ended by the rules (the player who lost them, how):")
        for (who, how), n in counts.most_common():
            click.echo(f"  {who}: {how} x{n}")
    if export_csv:
        _export(export_csv, game_name, plist, store, db)


def _export(path: str, game_name: str, plist, store, db: str) -> None:
    """The stored games of these players into ``path`` (its suffix picks the form), written
    whole or not at all: a temporary file beside it, renamed over it at the end."""
    import csv
    import os
    import tempfile
    from pathlib import Path

    from selfplay import sgf

    labels = {p.ident: p.label for p in plist}
    rows = store.stored(game_name, list(labels))
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        if target.suffix == ".csv":
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["game", "player_a", "player_b", "a_first", "opening", "moves", "score_a", "ending"])
                for a, b, op, a_first, mv, sc, how in rows:
                    w.writerow([game_name, labels[a], labels[b], int(a_first), op, mv, sc, how])
        else:
            sgf.export(tmp, game_name, rows, labels)
        os.replace(tmp, target)
    except OSError as e:
        raise click.ClickException(f"--export {path}: {e.strerror or e}; the games stay in {db}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@cli.command()
@click.argument("player_a")
@click.argument("player_b")
@_checkpoints_game
@click.option(
    "--games",
    "num_games",
    type=Whole(2, 1_000_000),
    default=100,
    show_default=True,
    help="games to play (the most, with --sprt)",
)
@click.option("--sprt", is_flag=True, help="stop as soon as a sequential probability ratio test decides")
@click.option(
    "--elo0", type=Real(-2000, 2000), default=0.0, show_default=True, help="SPRT: H0, A is not stronger than this"
)
@click.option("--elo1", type=Real(-2000, 2000), default=20.0, show_default=True, help="SPRT: H1, A is stronger by this")
@click.option("--alpha", type=Real(0.001, 0.5), default=0.05, show_default=True)
@click.option("--beta", type=Real(0.001, 0.5), default=0.05, show_default=True)
@click.option("--seed", type=Whole(0, SEED_MAX), default=0, show_default=True)
@opening_plies_option
def match(player_a, player_b, game_name, num_games, sprt, elo0, elo1, alpha, beta, seed, opening_plies):
    """Play A against B (seats alternating, varied openings); optionally gate by SPRT.

    A and B: checkpoints, PATH@search=N, random, mcts:N, gtp:COMMAND (an engine over GTP)."""
    import time

    import numpy as np

    from selfplay import arena, players, ratings

    if sprt and elo1 <= elo0:
        raise click.UsageError("--elo1 must be larger than --elo0")
    plist, game_name = _players_or_fail([player_a, player_b], game_name)
    planned = _schedule_or_fail(game_name, num_games, seed, opening_plies)
    game = games.make(game_name)
    a, b = players.make_agent(plist[0], game_name, seed), players.make_agent(plist[1], game_name, seed + 1)
    lo, hi = ratings.sprt_bounds(alpha, beta)

    t0 = time.perf_counter()

    def report(scores):
        llr = ratings.sprt_llr(scores, elo0, elo1)
        left = (time.perf_counter() - t0) / len(scores) * (len(planned) - len(scores))
        eta = f" (eta {time.strftime('%H:%M:%S', time.gmtime(left))})" if len(scores) < len(planned) else ""
        click.echo(
            f"{len(scores)} of {len(planned)} games{eta}: A scores {np.mean(scores):.1%}"
            + (f"  LLR {llr:+.2f} [{lo:.2f}, {hi:.2f}]" if sprt else "")
        )

    stop = (lambda scores: ratings.sprt_decision(scores, elo0, elo1, alpha, beta) is not None) if sprt else None
    endings: list[str] = []
    try:
        scores = arena.match(
            game, a, b, planned, np.random.default_rng(seed), stop=stop, on_batch=report, endings=endings
        )
    finally:
        for agent in (a, b):
            if hasattr(agent, "close"):
                agent.close()
    r = ratings.fit(["B", "A"], [(1, 0, s) for s in scores], anchor=0)[1]
    w, d, l_ = scores.count(1.0), scores.count(0.5), scores.count(0.0)
    click.echo(
        f"{plist[0].label} vs {plist[1].label} ({game_name}): +{w} ={d} -{l_}  score {np.mean(scores):.1%}  "
        f"Elo {r.elo:+.0f} +- {r.ci95:.0f}"
    )
    if any(endings):
        click.echo("games not ended by the rules: " + _endings_text(endings, scores))
    if sprt:
        decision = ratings.sprt_decision(scores, elo0, elo1, alpha, beta)
        verdict = {
            "H1": f"H1 accepted: A is stronger (elo1={elo1:g})",
            "H0": f"H0 accepted: A is not stronger than elo0={elo0:g}",
            None: "no decision within --games",
        }[decision]
        click.echo(f"SPRT: {verdict}")


def _endings_text(endings: list[str], scores: list[float]) -> str:
    """``"resign 3 (A won 3), forfeit: no answer within 600 s 1 (A won 1)"``."""
    from collections import Counter

    counts = Counter(e for e in endings if e)
    won = Counter(e for e, s in zip(endings, scores) if e and s == 1.0)
    return ", ".join(f"{how} {n} (A won {won[how]})" for how, n in counts.most_common())


# ------------------------------------------------------------------ serve
@cli.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="address to listen on (this machine only by default)"
)
@click.option("--port", type=Whole(1, 65535), default=8000, show_default=True)
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    help="a checkpoint the page may play (repeat; the shipped agents are always there)",
)
@click.option("--db", "dbs", multiple=True, help="a tournament file the page may show (repeat)")
@click.option("--run", "runs", multiple=True, help="a run folder whose curve the page may plot (repeat)")
@click.option(
    "--player",
    "others",
    multiple=True,
    help="a bot or engine the page may pick, as match names it (mcts:1000, 'gtp:gtp-rhino -l 1'; repeat)",
)
def serve(host, port, checkpoints, dbs, runs, others):
    """Play, watch and rank in the browser: a local web app over the named files."""
    import socket

    from selfplay import serve as S

    try:
        sources = S.Sources.from_paths(checkpoints=checkpoints, dbs=dbs, runs=runs, players=others)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    try:  # a port in use is one line, before the server starts
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as e:
        raise click.UsageError(f"--host {host} --port {port}: cannot listen there ({e.strerror or e})") from None
    import uvicorn

    shown = f"[{host}]" if ":" in host else host
    click.echo(f"selfplay serve: http://{shown}:{port}/  (Ctrl-C stops it)")
    uvicorn.run(S.make_app(sources), host=host, port=port, log_level="warning")


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
    from selfplay.checkpoint import CheckpointError, load_agent
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


if __name__ == "__main__":
    main()
