"""`selfplay train`: its options (one per config field) and the run's progress lines."""

from __future__ import annotations

import signal
import sys

import click

from selfplay.cli.base import AutoCount, GameName, Real, Whole, _check_workers, cli, ray_options


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

    from selfplay import runner
    from selfplay.checkpoint import CheckpointError

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
        held, learner = folder.enter_context(
            runner.open_run(
                out=resume if resume is not None else out,
                resume=resume is not None,
                game=game_name if resume is None or game_given else None,
                preset=preset,
                overrides=overrides,
                net={k: v for k, v in net_opts.items() if v is not None},
                force=force,
            )
        )
    except (ValueError, runner.RunError, CheckpointError) as e:
        folder.close()
        raise click.UsageError(_as_flags(str(e))) from None
    except BaseException:
        folder.close()
        raise
    with folder:
        # a run saved with its replay memory goes on saving it (else the next resume would lose it)
        _train_run(learner, held, resume, save_replay or learner.replay_saved, threads, minutes, keep, scale, device)


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


def _train_run(learner, held, resume, save_replay, threads, minutes, keep, scale, device):
    """The training itself, once the run folder is held (``held``, a
    :class:`runner.RunFolder`) and the learner prepared."""
    out_dir = held.path
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
                held,
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
