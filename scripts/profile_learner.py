"""Where a training run's time goes: acting (self-play moves, searches included) against
learning (gradient steps), for the default configs, one process, one torch thread.

    python scripts/profile_learner.py [--seconds 20] [--runs "connect_four,connect_four+mcts"]
    python scripts/profile_learner.py --runs "connect_four+mcts/simulations=32:td_weight=0"
    python scripts/profile_learner.py --runs connect_four --threads 1,2

Each run trains from scratch past ``learning_starts`` (and a first MCTS iteration), then
times ``--seconds`` of training, splitting each batched move into ``Learner.play`` and
``Learner.learn``. The acting share bounds what self-play workers can give at the same
replay ratio: moving all acting elsewhere speeds a run up at most 1 / (learning share).
With ``--threads 1,2`` each run is profiled again with the learner on 2 torch threads, and
the last column compares one thread's whole batched move (acting and learning) with the
learning alone on T threads: what T cores could give if the acting cost nothing at all.
Prints a markdown table for docs/benchmarks.md or docs/experiments.md.
"""

from __future__ import annotations

import argparse
import time


def parse(run: str):
    """``GAME[+mcts][/FIELD=VALUE:...]``: the game's default config (MCTS mode's with
    ``+mcts``), with fields of the training config, its search settings or its network
    (``hidden=512``) set."""
    import dataclasses

    from selfplay import config, profiles
    from selfplay.config import NetConfig

    game, _, extra = run.partition("/")
    overrides, net = {}, {}
    for item in filter(None, extra.split(":")):
        k, v = item.split("=", 1)
        into = net if k in {f.name for f in dataclasses.fields(NetConfig)} else overrides
        kind = type(getattr(config.SearchSettings(), k, getattr(config.TrainConfig(), k, getattr(NetConfig(), k, ""))))
        into[k] = v.lower() in ("1", "true", "yes") if kind is bool else kind(v)
    mcts = game.endswith("+mcts")
    name = game.removesuffix("+mcts")
    if net:
        overrides["net"] = dataclasses.replace(profiles.default_config(name, mcts=True if mcts else None).net, **net)
    return profiles.default_config(
        name,
        mcts=True if mcts else None,
        steps=10**9,
        eval_every=0,
        checkpoint_every=0,
        **overrides,
    )


def profile(run: str, seconds: float, threads: int = 1) -> dict:
    import torch

    from selfplay import dqn

    torch.set_num_threads(threads)
    learner = dqn.Learner(parse(run))
    while learner.updates == 0:
        learner.train_step()
    acting = learning = 0.0
    m0, u0, t0 = learner.moves, learner.updates, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a = time.perf_counter()
        learner.play()
        b = time.perf_counter()
        learner.learn(1)
        acting += b - a
        learning += time.perf_counter() - b
    total = acting + learning
    batched = (learner.moves - m0) / learner.cfg.num_envs
    return {
        "run": run,
        "threads": threads,
        "moves_per_s": (learner.moves - m0) / total,
        "updates_per_s": (learner.updates - u0) / total,
        "ms_per_batched_move": 1e3 * total / batched,
        "ms_learning_per_batched_move": 1e3 * learning / batched,
        "acting": acting / total,
        "learning": learning / total,
        "ms_per_update": 1e3 * learning / max(1, learner.updates - u0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument(
        "--runs",
        default="tic_tac_toe,connect_four,connect_four+mcts",
        help="comma-separated; GAME[+mcts][/FIELD=VALUE:...]",
    )
    ap.add_argument("--threads", default="1", help="comma-separated learner thread counts (the first is the reference)")
    args = ap.parse_args()
    rows = []
    for run in args.runs.split(","):
        ref = None
        for threads in (int(t) for t in args.threads.split(",")):
            r = profile(run, args.seconds, threads)
            ref = ref or r
            r["ceiling"] = ref["ms_per_batched_move"] / max(r["ms_learning_per_batched_move"], 1e-9)
            rows.append(r)
            print(
                f"{run}, {threads} thread(s): {r['moves_per_s']:,.0f} moves/s, {r['updates_per_s']:.1f} updates/s "
                f"({r['ms_per_update']:.1f} ms each), acting {r['acting']:.0%}, learning {r['learning']:.0%}",
                flush=True,
            )
    print(
        "\n| run | threads | moves/s | updates/s | ms per update | acting | learning | acting moved off: x one thread |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['run']} | {r['threads']} | {r['moves_per_s']:,.0f} | {r['updates_per_s']:.1f} | "
            f"{r['ms_per_update']:.1f} | {r['acting']:.0%} | {r['learning']:.0%} | {r['ceiling']:.2f}x |"
        )


if __name__ == "__main__":
    main()
