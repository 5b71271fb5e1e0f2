"""Self-play positions per second with training included, for 0, 1 and 2 Ray workers,
measured in the same run, with ratios against the single process (0 workers).

    python scripts/bench_scale.py [--seconds 25] [--games tic_tac_toe,connect_four,connect_four+mcts]
    python scripts/bench_scale.py --games "connect_four+mcts/simulations=64:td_weight=0"
    python scripts/bench_scale.py --games connect_four --workers 0,0/2,1/2,2/2   # learner threads
    python scripts/bench_scale.py --workers 2 --games \
        "connect_four+mcts/simulations=32:hidden=512,connect_four+mcts/simulations=32:hidden=512:precision=bf16"

Each row trains the game's default config (``+mcts``: MCTS mode's defaults; after ``/``,
config fields that differ, separated by colons) from scratch: a warm-up until the replay
memory reaches ``learning_starts`` (and the pool is up), then ``--seconds`` of timed
training, learner included. Workers run on a local Ray started once for the whole benchmark
(one CPU and one torch thread each); the learner is this process, with one torch thread
unless ``--workers`` gives ``W/T`` (T threads). The first setup is the reference of each
game's rows, and the first game's row of the same setup the reference of the last column
(bfloat16 against float32 in the second example, 512 wide; ``--preset strong`` on connect
four is 768 wide in bfloat16).
Prints a markdown table for docs/benchmarks.md or docs/experiments.md.
"""

from __future__ import annotations

import argparse
import os
import time


def measure(game: str, workers: int, seconds: float, threads: int = 1) -> tuple[float, float]:
    import torch

    from selfplay import distributed, dqn

    torch.set_num_threads(threads)
    from profile_learner import parse  # scripts/ is on the path when run as a script

    cfg = parse(game)
    learner = dqn.Learner(cfg)
    pool = distributed.Pool(learner, workers) if workers else None
    step = pool.step if pool else learner.train_step
    try:
        warm = time.perf_counter()
        while learner.replay.size < max(cfg.learning_starts, 2 * cfg.num_envs) or time.perf_counter() - warm < 3:
            step()
        m0, u0, t0 = learner.moves, learner.updates, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            step()
        dt = time.perf_counter() - t0
        return (learner.moves - m0) / dt, (learner.updates - u0) / dt
    finally:
        if pool:
            pool.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=25.0)
    ap.add_argument(
        "--games",
        default="tic_tac_toe,connect_four,connect_four+mcts",
        help="comma-separated; GAME[+mcts][/FIELD=VALUE:...]",
    )
    ap.add_argument(
        "--workers",
        default="0,1,2",
        help="comma-separated worker counts; W/T: W workers and T torch threads for the learner",
    )
    args = ap.parse_args()
    import ray

    setups = [tuple(int(x) for x in (w + "/1").split("/")[:2]) for w in args.workers.split(",")]
    counts = [w for w, _ in setups]
    ray.init(
        num_cpus=max(max(counts), 1), include_dashboard=False, log_to_driver=False, object_store_memory=256 * 2**20
    )
    try:
        rows, first_game = [], {}
        for game in args.games.split(","):
            base = None
            for w, t in setups:
                pps, ups = measure(game, w, args.seconds, t)
                base = base or pps
                first_game.setdefault((w, t), pps)
                label = f"{w}" + (f" (learner {t} threads)" if t != 1 else "")
                rows.append((game, label, pps, ups, pps / base, pps / first_game[(w, t)]))
                print(
                    f"{game:20s} workers {label}: {pps:9,.0f} positions/s  {ups:7,.1f} updates/s  "
                    f"x{pps / base:.2f} (x{pps / first_game[(w, t)]:.2f} the first game's)",
                    flush=True,
                )
    finally:
        ray.shutdown()
    print(
        f"\n{os.cpu_count()} CPU cores; positions/s with training included (x: against the first setup "
        "of the same game, and against the first game at the same setup; same run)\n"
    )
    print("| game | workers | positions/s | updates/s | x first setup | x first game |")
    print("| --- | --- | --- | --- | --- | --- |")
    for game, w, pps, ups, ratio, vs_first in rows:
        print(f"| {game} | {w} | {pps:,.0f} | {ups:,.1f} | {ratio:.2f} | {vs_first:.2f} |")


if __name__ == "__main__":
    main()
