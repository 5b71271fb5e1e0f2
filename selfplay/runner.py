"""A training run on disk: ``runs/<name>/`` with metrics.jsonl, step_<N>.pt, latest.pt
and learning_curve.png. The CLI's ``train`` calls :func:`prepare` and :func:`run`.

Nothing is lost or overwritten:
- a fresh run refuses a folder that is not empty (``force`` deletes the old run's files);
- the folder is checked writable before any training;
- ``--resume`` takes the newest checkpoint that loads (latest.pt, else the newest
  step_N.pt), sweeps the ``.tmp`` files of interrupted saves, and drops metrics rows from
  after that checkpoint so replayed moves are logged once;
- SIGINT and SIGTERM only ask the loop to stop after the current move and its updates,
  then one checkpoint is saved (a second signal changes nothing), so a resumed run is the
  run that would have gone on;
- a write that fails (a full disk) stops the run with one line and leaves the last good
  checkpoint; a loss that turns non-finite stops it before anything non-finite is saved.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import signal
import tempfile
import time
from pathlib import Path

import torch

from selfplay import checkpoint, config, dqn, evaluate, sources
from selfplay.errors import Stopped

#: the files a run folder holds (all written by this module)
RUN_FILES = ("latest.pt", "metrics.jsonl", "learning_curve.png")
#: the lock a training run holds on its folder (see :func:`claim`)
LOCK = ".selfplay.lock"
_STEP = re.compile(r"step_(\d+)\.pt$")
#: seconds between the training rows (loss, epsilon, speed) in metrics.jsonl
LOG_SECONDS = 5.0


class RunError(Exception):
    """A run folder that cannot be used as asked, or a run that had to stop; one line."""


class Interrupted(KeyboardInterrupt):
    """The run stopped on SIGINT or SIGTERM after saving; ``signum`` says which."""

    def __init__(self, signum: int, saved: Path):
        super().__init__(signum)
        self.signum, self.saved = signum, saved


def step_files(out: Path) -> list[Path]:
    """The folder's step_N.pt files, oldest (fewest moves) first."""
    found = [(int(m.group(1)), p) for p in Path(out).glob("step_*.pt") if (m := _STEP.search(p.name))]
    return [p for _, p in sorted(found)]


def _is_run_file(p: Path) -> bool:
    return (
        p.name in RUN_FILES
        or p.name == LOCK
        or bool(_STEP.search(p.name))
        or (p.name.startswith(".") and p.name.endswith(".tmp"))
    )


@dataclasses.dataclass(frozen=True)
class RunFolder:
    """A run folder this process holds (yielded by :func:`claim`): pass it to
    :func:`prepare` and :func:`run`, which then take no claim of their own."""

    path: Path


#: the folders this process holds the lock of
_HELD: set[str] = set()


@contextlib.contextmanager
def claim(out: Path):
    """Hold the run folder ``out`` for this process for the block, and yield it as a
    :class:`RunFolder`: a second training run (or a resume) of the same folder is refused
    with one line while it is held, in this process too. The lock is an ``flock`` on
    ``out/.selfplay.lock``: the kernel drops it when its holder dies, so a killed run never
    blocks the next one. A folder this claim created is removed again if the block leaves
    nothing in it (a run that failed while starting)."""
    import fcntl

    out = Path(out)
    check_folder_path(out)
    key = os.path.realpath(out)
    if key in _HELD:
        raise RunError(f"{out}: this process already holds this run folder; pass its RunFolder on")
    made = [p for p in (out, *out.parents) if not p.exists()]  # the folders this claim creates, deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"{out}: cannot write the run folder ({e.strerror or e})") from None
    lock = out / LOCK
    fd = None
    try:
        while fd is None:
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise RunError(f"{out}: cannot write the run folder ({e.strerror or e})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                fd = None
                raise RunError(
                    f"{out}: another training run (pid {holder}) is using this folder; wait for it "
                    f"to end, or choose another --out"
                ) from None
            try:  # the file may have been removed by the holder that just let go: lock the one on disk
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                fd = None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD.add(key)
        try:
            yield RunFolder(out)
        finally:
            _HELD.discard(key)
    finally:
        if fd is not None:
            with contextlib.suppress(OSError):
                lock.unlink()
            os.close(fd)
        for p in made:  # only while empty: a run that wrote anything keeps its folder
            try:
                p.rmdir()
            except OSError:
                break


def sweep_tmp(out: Path) -> int:
    """Delete the temporary files of interrupted saves; returns how many."""
    n = 0
    for p in Path(out).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n


def check_folder_path(out: str | Path) -> None:
    """Refuse, without creating anything, a path that cannot be a run folder: an empty
    one (pass the string as typed: ``Path("")`` is ``.``) or one under a file."""
    if not str(out).strip():
        raise RunError("the run folder must be a non-empty path")
    out = Path(out)
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise RunError(f"{out}: {p} is a file, not a folder")
            break


def check_writable(out: Path) -> None:
    """Create the folder if needed and prove a file can be written in it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise RunError(f"{out}: cannot write the run folder ({e.strerror or e})") from None


def newest_checkpoint(out: Path) -> tuple[dict, Path, list[tuple[Path, str]]]:
    """The loadable checkpoint with the most moves: latest.pt, or a step file where
    latest.pt is missing, broken or older (a kill between the two writes); and the files
    passed over, each with why: unreadable, not resumable, or of another game than the
    run's step files."""
    found, skipped = [], []
    for p in [*step_files(out), out / "latest.pt"]:
        if not p.exists():
            continue
        try:
            d = checkpoint.load(p)
            checkpoint.check_resumable(d, p)
        except checkpoint.CheckpointError as e:
            skipped.append((p, str(e)))
            continue
        found.append((int(d["counters"]["moves"]), p.name == "latest.pt", d, p))
    step_games = {d["game"] for _, latest, d, _ in found if not latest}
    for item in [f for f in found if f[1] and step_games and f[2]["game"] not in step_games]:
        found.remove(item)
        run_game = ", ".join(sorted(step_games))
        skipped.append((item[3], f"{item[3]}: a {item[2]['game']} checkpoint in a {run_game} run"))
    if not found:
        why = f" ({skipped[-1][1]})" if skipped else ""
        raise RunError(f"{out}: no checkpoint to resume from{why}")
    moves, _, d, p = max(found, key=lambda t: (t[0], t[1]))
    for m, latest, _, q in found:
        if latest and q != p:
            skipped.append((q, f"holds {m:,} moves, fewer than {p.name} ({moves:,}): a kill between two saves"))
    return d, p, skipped


def set_aside(path: Path) -> Path:
    """Rename a file a resume could not use to ``NAME.unreadable`` (``.unreadable.2``, ...
    where that is taken), so that the run never writes over it; the new path."""
    target = path.with_name(path.name + ".unreadable")
    k = 2
    while target.exists():
        target = path.with_name(f"{path.name}.unreadable.{k}")
        k += 1
    os.replace(path, target)
    return target


@contextlib.contextmanager
def _holding(out):
    """The folder's path for the block: a :class:`RunFolder` is held already; a path is
    claimed for the block (:func:`claim`)."""
    if isinstance(out, RunFolder):
        yield out.path
        return
    with claim(Path(out)) as folder:
        yield folder.path


@contextlib.contextmanager
def open_run(
    *,
    out: Path | None = None,
    resume: bool = False,
    game: str | None = None,
    preset: str | None = None,
    overrides: dict | None = None,
    net: dict | None = None,
    force: bool = False,
):
    """The run a ``train`` asks for, held for the block: yields ``(RunFolder, Learner)``.
    Fresh: ``game``'s config (its profile, ``preset``, then ``overrides`` and the ``net``
    settings by name), its evaluation ladder checked before any work, in ``out`` (default
    ``runs/<game>``; refused if not empty unless ``force``). With ``resume``: the run in
    ``out`` from its newest checkpoint; only ``steps`` and ``lr`` of ``overrides`` apply,
    and ``game``, when given, must be the run's. The folder is claimed once, here."""
    import games
    from selfplay import profiles
    from selfplay.errors import interrupts_held

    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if resume:
        out = Path(out)
        if not out.is_dir():
            raise RunError(f"{out}: no such run folder")
        with claim(out) as held:
            learner = prepare(
                None,
                held,
                resume=True,
                steps=overrides.get("steps"),
                lr=overrides.get("lr"),
                game=games.canonical_name(game) if game is not None else None,
            )
            yield held, learner
        return
    cfg = profiles.default_config(game, preset=preset, net=net or None, **overrides)
    # a rung of the ladder that cannot play: one line, before any work. OpenSpiel (the MCTS
    # rungs' twin games) may load here: a Ctrl-C waits for that import to end
    with interrupts_held():
        evaluate.ladder(cfg)
    out = Path(out) if out is not None else Path("runs") / games.slug(game)
    check_folder_path(out)
    with claim(out) as held:
        yield held, prepare(cfg, held, force=force)


def prepare(
    cfg: config.TrainConfig | None,
    out: Path | RunFolder,
    *,
    resume: bool = False,
    steps: int | None = None,
    lr: float | None = None,
    force: bool = False,
    game: str | None = None,
) -> dqn.Learner:
    """A fresh learner writing into ``out`` (refused if the folder is not empty, unless
    ``force``), or the learner restored from the newest checkpoint in ``out`` (optionally
    with a new step count, or a new learning rate from here on; the change is kept in
    the run's saved config). ``game``, when given with ``resume``, must be the run's.
    ``out``: a :class:`RunFolder` this process holds, or a path, claimed for the call
    (refused while another run holds it: :func:`claim`)."""
    if resume and not isinstance(out, RunFolder):
        check_folder_path(Path(out))
        if not Path(out).is_dir():
            raise RunError(f"{out}: no such run folder")
    with _holding(out) as path:
        return _prepare(cfg, path, resume, steps, lr, force, game)


def _prepare(cfg, out: Path, resume: bool, steps, lr, force: bool, game) -> dqn.Learner:
    import dataclasses

    if resume:
        d, path, skipped = newest_checkpoint(out)
        if game is not None and d["game"] != game:
            raise RunError(f"{out} is a {d['game']} run; --game {game} does not match (leave --game out to resume)")
        check_writable(out)
        sweep_tmp(out)
        cfg = checkpoint.check_resumable(d, path)
        if steps is not None:
            cfg = dataclasses.replace(cfg, steps=steps)
        if lr is not None:  # the rate from here on (the run gives it to Adam): it ends a --lr-final schedule too
            cfg = dataclasses.replace(cfg, lr=lr, lr_final=0.0, lr_final_at=0.0)
        learner = dqn.restore_learner(d, path, cfg=cfg)
        learner.resumed_from = path
        learner.resume_notes = []
        for p, why in skipped:  # said, and a file the run could not use is kept out of its way
            if "fewer than" in why:
                learner.resume_notes.append(f"{p.name} passed over: it {why}")
            else:
                moved = set_aside(p)
                learner.resume_notes.append(f"{p.name} passed over ({why}); moved to {moved.name}, never written over")
        learner.replay_saved = "replay" in d
        _truncate_metrics(out / "metrics.jsonl", learner.moves)
        return learner
    if out.is_dir() and any(p.name != LOCK for p in out.iterdir()):
        mine = [p for p in out.iterdir() if _is_run_file(p) and p.name != LOCK]
        if not force:
            what = "holds a run" if mine else "is not empty"
            raise RunError(
                f"{out} {what}: pass --resume {out} to continue it, --force to start over "
                f"(its run files are deleted), or choose another --out"
            )
    learner = dqn.Learner(cfg)
    check_writable(out)
    if force:
        for p in out.iterdir():
            if _is_run_file(p) and p.name != LOCK:
                p.unlink()
    return learner


def _truncate_metrics(path: Path, moves: int) -> None:
    """Keep only the rows logged up to ``moves``: the moves after it are played again."""
    if not path.exists():
        return
    if not path.is_file():  # a pipe or device: reading it could wait forever
        raise RunError(f"{path}: not a regular file (a pipe, socket or device); move it away to resume")
    keep = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a row cut short by a kill
        if isinstance(row, dict) and row.get("moves", math.inf) <= moves:
            keep.append(line)
    fd, tmp = tempfile.mkstemp(prefix=".metrics.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write("".join(line + "\n" for line in keep))
    os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; the metrics are as readable as before
    os.replace(tmp, path)


def tensorboard_writer():
    """TensorBoard's SummaryWriter class; RunError naming the package where it is missing
    (``pip install -e ".[tensorboard]"``): the one check, before a run and when it opens."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise RunError('--tensorboard needs the tensorboard package: pip install -e ".[tensorboard]"') from None
    return SummaryWriter


def open_tensorboard(out: Path):
    """A TensorBoard writer for ``out/tensorboard`` (RunError as :func:`tensorboard_writer`)."""
    return tensorboard_writer()(log_dir=str(Path(out) / "tensorboard"))


def _scalars(row: dict, prefix: str = ""):
    """(name, number) for every finite number in a metrics row, nested names joined by '/'."""
    for key, value in row.items():
        if key in ("kind", "moves"):
            continue
        if isinstance(value, dict):
            yield from _scalars(value, f"{prefix}{key}/")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            yield f"{prefix}{key}", float(value)


def _strict(value):
    """A metrics row as strict JSON takes it: NaN and infinities (a loss before the first
    gradient step) become null."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _pool_fields(pool) -> dict:
    """With workers (the run's ``distributed.Pool``): how many, the Ray nodes they run on,
    the mean policy lag, chunks dropped, workers replaced; nothing without."""
    if pool is None:
        return {}
    return {
        "workers": pool.workers,
        "worker_nodes": len({n for n in pool.stats.nodes.values() if n}),
        "policy_lag": round(pool.stats.mean_lag, 2),
        "dropped_chunks": pool.stats.dropped,
        "replaced_workers": pool.stats.replaced,
    }


@contextlib.contextmanager
def stop_requests():
    """For the block, SIGINT and SIGTERM append their number to the yielded list instead
    of raising; the handlers before it come back on every exit."""
    asked: list[int] = []
    old = {}
    try:
        for s in (signal.SIGINT, signal.SIGTERM):
            old[s] = signal.signal(s, lambda signum, frame: asked.append(signum))
    except ValueError:  # not the main thread: signals stay as they were
        pass
    try:
        yield asked
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How one segment of a run is carried out, apart from what it learns (the
    :class:`~selfplay.config.TrainConfig` saved with the run): these may change from one
    segment to the next."""

    #: stop after this many minutes of this segment (None: at the config's steps)
    minutes: float | None = None
    #: step files kept, the newest (None: all)
    keep: int | None = None
    #: latest.pt holds the replay memories too, for an exact resume
    save_replay: bool = False
    #: self-play in this many Ray actors (0: in this process), at ``ray_address`` or a local Ray
    workers: int = 0
    ray_address: str | None = None
    #: the most learner updates a worker's batch of moves may lag behind
    max_policy_lag: int = 4
    #: every metrics row also as TensorBoard scalars in ``out/tensorboard/``
    tensorboard: bool = False


def run(
    learner: dqn.Learner,
    out: Path,
    *,
    options: RunOptions | None = None,
    on_progress=None,
    on_eval=None,
    on_notice=None,
    asked: list[int] | None = None,
) -> dict:
    """Train to ``learner.cfg.steps`` (or until ``options.minutes`` have passed); evaluate,
    log and checkpoint on schedule. SIGINT/SIGTERM (or a number put in ``asked``, the list
    of :func:`stop_requests`): save once, raise :class:`Interrupted`. Returns the final
    evaluation. With ``options.workers``, self-play runs in that many Ray actors
    (:mod:`selfplay.distributed`), started here and stopped on every exit.
    ``on_progress(learner, pool)`` after every batched move (``pool``: the workers'
    :class:`selfplay.distributed.Pool`, or None), ``on_eval(learner, row)`` after each
    evaluation, ``on_notice(line)`` for what the run has to say. ``out``: a
    :class:`RunFolder` this process holds, or a path, claimed for the call (refused while
    another run holds it: :func:`claim`)."""
    with _holding(out) as path:
        return _run(learner, path, options or RunOptions(), on_progress, on_eval, asked, on_notice)


def plays_exactly(learner) -> bool:
    """The game's profile ends runs at exact play, and the latest evaluation found it."""
    from selfplay.profiles import profile

    ev = learner.last_eval or {}
    return profile(learner.cfg.game).stop_at_exact and ev.get("exact", {}).get("kept") == 1.0


def _run(learner, out: Path, options: RunOptions, on_progress, on_eval, asked, on_notice) -> dict:
    metrics = out / "metrics.jsonl"
    t_start = time.perf_counter() - learner.wall_time
    deadline = None if options.minutes is None else time.perf_counter() + 60 * options.minutes
    updates0 = learner.updates
    log = {"t": time.perf_counter(), "moves": learner.moves}

    board = None
    pool = None  # the Ray workers' pool, with workers: the run's collaborator, not the learner's
    try:
        ladder = evaluate.ladder(learner.cfg)
    except ValueError as e:  # a rung saved with the run that cannot play here (an engine gone)
        raise RunError(f"evaluation ladder: {e}") from None
    if ladder.rungs and on_notice:
        on_notice(
            f"evaluation ladder: {', '.join(ladder.specs)} ({learner.cfg.ladder_games} games a seat each; "
            f"Elo relative to {ladder.anchor})"
            + (f"; left out: {', '.join(ladder.left_out)}" if ladder.left_out else "")
        )

    def _append(row: dict) -> None:
        with metrics.open("a") as f:
            f.write(json.dumps(_strict(row), allow_nan=False) + "\n")
        if board is not None:
            for key, value in _scalars(row):
                board.add_scalar(f"{row['kind']}/{key}", value, row["moves"])
            board.flush()

    def _save():
        learner.wall_time = time.perf_counter() - t_start
        if not all(torch.isfinite(p).all() for p in learner.online.parameters()):
            raise RunError(
                f"the network's weights are not finite at {learner.moves:,} moves: nothing saved; "
                f"the last good checkpoint stays in {out}"
            )
        d = checkpoint.learner_to_dict(learner, with_replay=False)
        checkpoint.atomic_save(d, out / f"step_{learner.moves}.pt")
        if options.save_replay:
            d = checkpoint.learner_to_dict(learner, with_replay=True)
        checkpoint.atomic_save(d, out / "latest.pt")
        if options.keep:
            for old in step_files(out)[: -options.keep]:
                old.unlink()

    def _on_eval(learner):
        try:
            ev = evaluate.training_report(learner, stop=lambda: bool(asked), ladder=ladder)
        except Stopped:  # a signal during the evaluation: the run saves and stops without it
            return
        if "ladder" in ev:  # the Elo of every evaluation so far, fitted again with this one's games
            fit = evaluate.ladder_fit([*_eval_rows(metrics), ev])[-1]
            ev["ladder"].update(elo=round(fit["elo"], 1), ci95=round(fit["ci95"], 1), rung_elo=fit["rungs"])
        learner.last_eval = ev
        learner.wall_time = time.perf_counter() - t_start
        row = {
            "kind": "eval",
            "time": round(learner.wall_time, 2),
            "loss": learner.last_loss,
            "epsilon": sources.epsilon_at(learner.cfg, learner.moves),
            **_pool_fields(pool),
            **ev,
        }
        _append(row)
        if on_eval:
            on_eval(learner, row)

    def _on_progress(learner):
        now = time.perf_counter()
        lr = learner.set_lr(now - t_start)
        if now - log["t"] >= LOG_SECONDS:
            rate = (learner.moves - log["moves"]) / (now - log["t"])
            row = {
                "kind": "train",
                "moves": learner.moves,
                "updates": learner.updates,
                "time": round(now - t_start, 2),
                "loss": learner.last_loss,
                "epsilon": sources.epsilon_at(learner.cfg, learner.moves),
                "lr": lr,
                "moves_per_s": round(rate, 1),
            }
            _append({**row, **_pool_fields(pool)})
            log.update(t=now, moves=learner.moves)
        if on_progress:
            on_progress(learner, pool)

    def _should_stop(learner) -> bool:
        if learner.updates > updates0 and not math.isfinite(learner.last_loss):
            return True
        if plays_exactly(learner):
            return True
        return bool(asked) or (deadline is not None and time.perf_counter() >= deadline)

    try:
        with contextlib.ExitStack() as stack:
            asked = stack.enter_context(contextlib.nullcontext(asked) if asked is not None else stop_requests())
            step, stopped = None, ()
            if options.workers:
                from selfplay import distributed

                pool = stack.enter_context(
                    distributed.Pool(
                        learner,
                        options.workers,
                        options.ray_address,
                        max_policy_lag=options.max_policy_lag,
                        on_notice=on_notice,
                        stop_requested=lambda: bool(asked),
                    )
                )
                step, stopped = pool.step, distributed.DistributedError
            learner.stop_requested = lambda: bool(asked)
            stack.callback(setattr, learner, "stop_requested", lambda: False)
            if options.tensorboard:
                board = open_tensorboard(out)
            learner.set_lr(time.perf_counter() - t_start)
            try:
                dqn.train(
                    learner,
                    on_progress=_on_progress,
                    on_eval=_on_eval,
                    on_checkpoint=lambda _: _save(),
                    should_stop=_should_stop,
                    step=step,
                )
            except Stopped:
                pass  # a signal during a search: that move was given up whole, and the run saves below
            except stopped as e:  # Ray died under the run: the learner's state is whole between two steps
                _save()
                raise RunError(
                    f"{e}: saved {out / 'latest.pt'} at {learner.moves:,} moves; continue with: "
                    f"selfplay train --resume {out}"
                ) from None
            if learner.updates > updates0 and not math.isfinite(learner.last_loss):
                raise RunError(
                    f"the training loss became non-finite at {learner.moves:,} moves (try a lower --lr): "
                    f"stopped; the last finite checkpoint stays in {out}"
                )
            if not asked and (not learner.last_eval or learner.last_eval.get("moves") != learner.moves):
                _on_eval(learner)
            if asked:
                _save()
                raise Interrupted(asked[0], out / "latest.pt")
            _save()
    except OSError as e:
        raise RunError(f"{out}: could not write ({e.strerror or e}); the last good checkpoint stays there") from None
    except (MemoryError, RuntimeError) as e:
        if isinstance(e, RuntimeError) and "allocat" not in str(e):  # torch's "can't allocate memory"
            raise
        raise RunError(
            f"out of memory at {learner.moves:,} moves (lower --num-envs, --batch-size, --simulations "
            f"or --replay-capacity); the last good checkpoint stays in {out}"
        ) from None
    finally:
        if board is not None:
            board.close()
        with contextlib.suppress(Exception):
            plot_curve(metrics, out / "learning_curve.png", title=learner.cfg.game)
    return learner.last_eval


def _eval_rows(metrics: Path) -> list[dict]:
    """The evaluation rows of a metrics file, oldest first (a torn last line skipped)."""
    rows = []
    if Path(metrics).exists():
        for line in Path(metrics).read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                row = json.loads(line)
                if row.get("kind") == "eval":
                    rows.append(row)
    return rows


def plot_curve(metrics: Path, png: Path, title: str | None = None) -> None:
    """The run's learning curve: scores (against random, the frozen copy, exact play) at
    each evaluation and the loss and epsilon of the training rows, over moves; and, where
    the evaluations played a ladder, the learner's Bradley-Terry Elo against moves and
    against the run's own clock, with 95% intervals, fitted over all evaluations at once."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    for line in Path(metrics).read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            rows.append(json.loads(line))
    evals = [r for r in rows if "vs_random" in r]
    train = [r for r in rows if r.get("kind") == "train"]
    if not evals and not train:
        return
    elo = evaluate.ladder_fit(evals)
    if elo:
        fig, grid = plt.subplots(2, 2, figsize=(13, 6))
        (ax, ax_elo), (ax2, ax_time) = grid
        ax2.sharex(ax)
    else:
        fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    if evals:
        x = [r["moves"] for r in evals]
        ax.plot(x, [r["vs_random"]["score"] for r in evals], "o-", label="score vs random")
        ax.plot(x, [r["vs_frozen"]["score"] for r in evals], "o-", label="score vs frozen copy")
        if "exact" in evals[0]:
            # rows of runs logged before the one report shape hold best_outcome_kept
            kept = [r["exact"].get("kept", r["exact"].get("best_outcome_kept")) for r in evals]
            ax.plot(x, kept, "o-", label="best outcome kept (exact)")
    ax.set_ylabel("score / share")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if evals:
        ax.legend(loc="lower right")
    if train:
        x = [r["moves"] for r in train]
        ax2.plot(x, [math.nan if r["loss"] is None else r["loss"] for r in train], color="tab:red", label="loss")
        ax2.set_yscale("log")
        ax2.set_ylabel("loss")
        eps = ax2.twinx()
        eps.plot(x, [r["epsilon"] for r in train], color="tab:gray", linestyle="--", label="epsilon")
        eps.set_ylabel("epsilon")
        eps.set_ylim(0, 1.02)
    ax2.set_xlabel("moves played")
    ax2.grid(alpha=0.3)
    ax.set_title(f"{title or Path(metrics).parent.name}: learning curve")
    if elo:
        anchor, rungs = elo[-1]["anchor"], elo[-1]["rungs"]
        y, err = [e["elo"] for e in elo], [e["ci95"] for e in elo]
        hours = (elo[-1]["time"] or 0) >= 7200
        clock = [(e["time"] or 0) / (3600 if hours else 60) for e in elo]
        for axis, x, label in (
            (ax_elo, [e["moves"] for e in elo], "moves played"),
            (ax_time, clock, f"{'hours' if hours else 'minutes'} of the run's clock"),
        ):
            axis.errorbar(x, y, yerr=err, fmt="o-", capsize=3, label="learner (95% interval)")
            for name, value in rungs.items():
                axis.axhline(value, color="tab:gray", linewidth=0.8, linestyle=":")
                axis.annotate(name, (0, value), xycoords=("axes fraction", "data"), fontsize=7, va="bottom")
            axis.set_xlabel(label)
            axis.set_ylabel(f"Elo (0 = {anchor})")
            axis.grid(alpha=0.3)
        ax_elo.set_title("Bradley-Terry Elo against the evaluation ladder")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
