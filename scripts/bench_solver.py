"""The search's solver (``--solve``, ``PATH@search=N,solve=1``) against the same search
without it, as play and gtp run it: one game's search at a time, on connect four's labelled
positions of each phase. Prints wall time and simulations a move for both and their ratio,
measured in the same run, and how many moves keep the position's best outcome:

    python scripts/bench_solver.py [--checkpoint checkpoints/connect_four.pt] [--simulations 2000] [--positions 60]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import games
from selfplay import mcts
from selfplay.exact import load_c4_positions, states_from_moves
from selfplay.players import load_agent


def measure(game, evaluator, states, values, sims: int, solve: bool) -> dict:
    cfg = mcts.SearchConfig(simulations=sims, lanes=mcts.auto_lanes(1), solve=solve)
    used, proven, kept = [], 0, 0
    t0 = time.perf_counter()
    for i in range(states.batch_size):
        r = mcts.search(game, games.take(states, np.array([i])), evaluator, cfg, np.random.default_rng(0))
        used.append(float(r.visits.sum()))
        proven += int(r.proven[0])
        kept += int(values[i, r.action[0]] == values[i][values[i] > -9].max())
    return {
        "ms": 1000 * (time.perf_counter() - t0) / states.batch_size,
        "sims": float(np.mean(used)),
        "proven": proven,
        "kept": kept,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="checkpoints/connect_four.pt")
    ap.add_argument("--simulations", type=int, default=2000)
    ap.add_argument("--positions", type=int, default=60, help="labelled positions of each phase")
    args = ap.parse_args()
    agent = load_agent(args.checkpoint)
    game = agent.game
    evaluator = mcts.NetworkEvaluator(game, agent.net)
    data = load_c4_positions()
    print(f"{args.checkpoint}, {args.simulations} simulations a move, one game's search at a time")
    print(
        "| phase | positions | plain: ms / simulations a move | solver: ms / simulations | time ratio "
        "| proven roots | best kept (plain, solver) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for phase in ("early", "middle", "late"):
        idx = np.flatnonzero(data["phase"] == phase)[: args.positions]
        states = states_from_moves(game, data["moves"][idx].astype(np.int64))
        values = data["values"][idx].astype(np.int64)
        plain = measure(game, evaluator, states, values, args.simulations, solve=False)
        solver = measure(game, evaluator, states, values, args.simulations, solve=True)
        print(
            f"| {phase} | {len(idx)} | {plain['ms']:.0f} / {plain['sims']:.0f} | {solver['ms']:.0f} / "
            f"{solver['sims']:.0f} | {solver['ms'] / plain['ms']:.2f}x | {solver['proven']} | "
            f"{plain['kept']}, {solver['kept']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
