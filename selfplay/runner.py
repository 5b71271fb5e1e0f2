"""A training run on disk: ``runs/<name>/`` with metrics.jsonl, step_<N>.pt, latest.pt
and learning_curve.png. The CLI's ``train`` calls :func:`run`."""
from __future__ import annotations

import json
import time
from pathlib import Path

from selfplay import checkpoint, dqn


class RunError(Exception):
    """A run folder that cannot be used as asked; one-line message."""


def prepare(cfg: dqn.TrainConfig | None, out: Path, resume: bool, steps: int | None = None,
            lr: float | None = None) -> dqn.Learner:
    """A fresh learner writing into ``out`` (refused if it already holds a run), or the
    learner restored from ``out/latest.pt`` (optionally with a new step count, or a new
    learning rate from here on, e.g. a lower one to fine-tune; the change is kept in the
    run's saved config)."""
    out = Path(out)
    latest = out / "latest.pt"
    if resume:
        if not latest.exists():
            raise RunError(f"{out}: no latest.pt to resume from")
        d = checkpoint.load(latest)
        learner = checkpoint.restore_learner(d, latest)
        import dataclasses

        if steps is not None and steps != learner.cfg.steps:
            learner.cfg = dataclasses.replace(learner.cfg, steps=steps)
        if lr is not None and lr != learner.cfg.lr:
            learner.cfg = dataclasses.replace(learner.cfg, lr=lr)  # validated like a new config
            for group in learner.optimizer.param_groups:
                group["lr"] = lr
        return learner
    if latest.exists():
        raise RunError(f"{out} already holds a run: pass --resume {out} to continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return dqn.Learner(cfg)


def run(learner: dqn.Learner, out: Path, on_progress=None, on_eval=None, save_replay: bool = False,
        time_limit: float | None = None) -> dict:
    """Train to ``learner.cfg.steps`` (or until ``time_limit`` seconds of this call have
    passed); evaluate, log and checkpoint on schedule. Ctrl-C saves a checkpoint and
    re-raises KeyboardInterrupt. Returns the final evaluation."""
    out = Path(out)
    metrics = out / "metrics.jsonl"
    t_start = time.perf_counter() - learner.wall_time

    def _save():
        learner.wall_time = time.perf_counter() - t_start
        d = checkpoint.learner_to_dict(learner, with_replay=False)
        checkpoint.atomic_save(d, out / f"step_{learner.moves}.pt")
        if save_replay:
            d = checkpoint.learner_to_dict(learner, with_replay=True)
        checkpoint.atomic_save(d, out / "latest.pt")

    def _on_eval(lr, ev):
        lr.wall_time = time.perf_counter() - t_start
        row = {"time": round(lr.wall_time, 2), "loss": lr.last_loss, "epsilon": dqn.epsilon_at(lr.cfg, lr.moves), **ev}
        with metrics.open("a") as f:
            f.write(json.dumps(row) + "\n")
        if on_eval:
            on_eval(lr, row)

    try:
        deadline = None if time_limit is None else time.perf_counter() + time_limit
        stop = None if deadline is None else (lambda _: time.perf_counter() >= deadline)
        dqn.train(learner, on_progress=on_progress, on_eval=_on_eval, on_checkpoint=lambda _: _save(), should_stop=stop)
    except KeyboardInterrupt:
        _save()
        raise
    if not learner.last_eval or learner.last_eval.get("moves") != learner.moves:
        _on_eval(learner, learner.evaluate())
    _save()
    plot_curve(metrics, out / "learning_curve.png")
    return learner.last_eval


def plot_curve(metrics: Path, png: Path) -> None:
    """Scores against random and the frozen copy (and exact play) over training moves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in Path(metrics).read_text().splitlines() if line.strip()]
    if not rows:
        return
    x = [r["moves"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x, [r["vs_random"]["score"] for r in rows], label="score vs random")
    ax.plot(x, [r["vs_frozen"]["score"] for r in rows], label="score vs frozen copy")
    if "exact" in rows[0]:
        ax.plot(x, [r["exact"]["best_outcome_kept"] for r in rows], label="best outcome kept (exact)")
    ax.set_xlabel("moves played")
    ax.set_ylabel("score / share")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(f"{Path(metrics).parent.name}: learning curve")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
