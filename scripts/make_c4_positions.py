"""Build the shipped set of labelled connect four positions (selfplay/data/c4_positions.npz).

Positions come from varied play: games where each move is made by an epsilon-greedy
connect four agent (epsilon drawn per game from 0.1 to 0.6), OpenSpiel's MCTS with 50
simulations, or uniformly at random. One position per game is kept at a ply drawn for
its phase: early (8-15 stones), middle (16-27), late (28-40). Every legal move is
labelled win/draw/loss by the exact solver under a node budget per move; positions with
a move left unsolved are dropped (and counted), so the early phase leans to positions the
solver settles within the budget.

    python scripts/make_c4_positions.py --agent runs/c4/latest.pt --per-phase 340
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import games
from selfplay import load_agent
from selfplay.agents import OpenSpielMCTSAgent
from selfplay.c4solver import UNKNOWN, Solver, from_state

PHASES = {"early": (8, 15), "middle": (16, 27), "late": (28, 40)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", required=True, help="connect four checkpoint used for part of the moves")
    ap.add_argument("--per-phase", type=int, default=400)
    ap.add_argument("--budget", type=int, default=1_000_000, help="solver nodes per move")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parent.parent / "selfplay" / "data" / "c4_positions.npz")
    )
    ap.add_argument("--force", action="store_true", help="replace --out if it is there (the shipped set is)")
    args = ap.parse_args()
    from selfplay.checks import TargetError, writable_target

    try:  # before the solver's hours: never onto a file it did not make, nor onto the agent
        writable_target(args.out, name="--out", force=args.force, sources=[args.agent])
    except TargetError as e:
        raise SystemExit(f"error: {e}") from None
    torch.set_num_threads(1)
    g = games.make("connect_four")
    rng = np.random.default_rng(args.seed)
    agent = load_agent(args.agent, game="connect_four")
    mcts = OpenSpielMCTSAgent(g, 50, seed=args.seed)
    solver = Solver()
    rows, values, phases = [], [], []
    dropped = {p: 0 for p in PHASES}
    seen = set()
    t0 = time.time()
    for phase, (lo, hi) in PHASES.items():
        kept = 0
        while kept < args.per_phase:
            target = int(rng.integers(lo, hi + 1))
            eps = float(rng.uniform(0.1, 0.6))
            s, moves = g.init(1), []
            while len(moves) < target and not s.terminated[0]:
                u = rng.random()
                if u < eps:
                    a = int(games.random_actions(s, rng)[0])
                elif u < eps + (1 - eps) * 0.3:
                    a = int(mcts.act(s, rng, histories=[moves])[0])
                else:
                    a = int(agent.act(s, rng)[0])
                s = g.step(s, np.array([a]))
                moves.append(a)
            if s.terminated[0] or len(moves) != target or tuple(moves) in seen:
                continue
            seen.add(tuple(moves))
            v = solver.move_values(*from_state(s), budget=args.budget)
            if (v == UNKNOWN).any():
                dropped[phase] += 1
                continue
            rows.append(moves + [-1] * (42 - len(moves)))
            values.append(v)
            phases.append(phase)
            kept += 1
            if kept % 50 == 0:
                print(f"  {phase}: {kept} kept, {dropped[phase]} dropped, {time.time() - t0:.0f}s", flush=True)
        print(
            f"{phase}: {kept} kept, {dropped[phase]} dropped (unsolved within budget), {time.time() - t0:.0f}s",
            flush=True,
        )
    np.savez_compressed(
        args.out,
        moves=np.array(rows, np.int8),
        values=np.array(values, np.int8),
        phase=np.array(phases),
        budget=args.budget,
        dropped=np.array([dropped[p] for p in PHASES]),
    )
    print(f"wrote {len(rows)} positions to {args.out}")


if __name__ == "__main__":
    main()
