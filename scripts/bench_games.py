"""Random-play throughput of the native connect four engine against pyspiel and PettingZoo.

Counts steps per second with an observation computed after every step (what an agent
needs) and finished games restarted, all measured in this one run:

    python scripts/bench_games.py [--seconds 3]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import games


def bench_native(batch: int, seconds: float) -> float:
    g = games.make("connect_four")
    rng = np.random.default_rng(0)
    fresh = g.init(batch)
    s, steps, t0 = fresh, 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(20):
            s = g.step(s, games.random_actions(s, rng))
            g.observe(s)
            if s.terminated.any():
                s = games.where(s.terminated, fresh, s)
            steps += batch
    return steps / (time.perf_counter() - t0)


def bench_pyspiel(seconds: float) -> float:
    import pyspiel

    game = pyspiel.load_game("connect_four")
    rng = np.random.default_rng(0)
    s, steps, t0 = game.new_initial_state(), 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(100):
            legal = s.legal_actions()
            s.apply_action(legal[rng.integers(len(legal))])
            if s.is_terminal():
                s = game.new_initial_state()
            s.observation_tensor(s.current_player())
            steps += 1
    return steps / (time.perf_counter() - t0)


def bench_pettingzoo(seconds: float) -> float:
    from pettingzoo.classic import connect_four_v3

    env = connect_four_v3.env()
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(100):
            obs = env.observe(env.agent_selection)
            legal = np.flatnonzero(obs["action_mask"])
            env.step(int(legal[rng.integers(len(legal))]))
            if any(env.terminations.values()):
                env.reset()
            env.observe(env.agent_selection)
            steps += 1
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="measuring time per entry")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    rows = {f"native batch {b}": bench_native(b, args.seconds) for b in (1, 64, 1024)}
    ps, pz = bench_pyspiel(args.seconds), bench_pettingzoo(args.seconds)
    rows["pyspiel (observation_tensor)"] = ps
    rows["PettingZoo connect_four_v3 AEC"] = pz
    print(f"{'engine':34s} {'steps/s':>12s} {'x pyspiel':>10s} {'x PettingZoo':>13s}")
    for name, v in rows.items():
        print(f"{name:34s} {v:12,.0f} {v / ps:10.2f} {v / pz:13.1f}")
    best = rows["native batch 1024"]
    print(f"\ntarget at batch 1024: >= 1,000,000 steps/s, >100x PettingZoo, >8x pyspiel -> "
          f"{best:,.0f} steps/s, {best / pz:.0f}x PettingZoo, {best / ps:.1f}x pyspiel")


if __name__ == "__main__":
    main()
