"""Random-play throughput of the native engines against pyspiel (and PettingZoo's connect four).

Counts steps per second with an observation computed after every step (what an agent
needs) and finished games restarted, all measured in this one run, per game:

    python scripts/bench_games.py [--seconds 3] [--games connect_four,othello,hex_9x9]

Target (issues 22 and earlier): at batch 1,024 at least 10x pyspiel for every native game.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import games


def bench_native(name: str, batch: int, seconds: float) -> float:
    g = games.make(name)
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


def bench_pyspiel(name: str, seconds: float) -> float:
    import pyspiel

    game = pyspiel.load_game(games.make(name).pyspiel_name)
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
    ap.add_argument(
        "--games", default="connect_four,othello,hex_5x5,hex_9x9,hex_11x11", help="comma-separated native games"
    )
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    worst = None
    for name in args.games.split(","):
        games.make(name).init(1)  # compile (numba engines) before timing
        rows = {f"native batch {b}": bench_native(name, b, args.seconds) for b in (1, 64, 1024)}
        ps = bench_pyspiel(name, args.seconds)
        rows["pyspiel (observation_tensor)"] = ps
        pz = bench_pettingzoo(args.seconds) if name == "connect_four" else None
        if pz:
            rows["PettingZoo connect_four_v3 AEC"] = pz
        print(f"\n{name}\n{'engine':34s} {'steps/s':>12s} {'x pyspiel':>10s} {'x PettingZoo':>13s}")
        for label, v in rows.items():
            vs_pz = f"{v / pz:13.1f}" if pz else f"{'':13s}"
            print(f"{label:34s} {v:12,.0f} {v / ps:10.2f} {vs_pz}")
        ratio = rows["native batch 1024"] / ps
        worst = ratio if worst is None else min(worst, ratio)
    print(f"\ntarget at batch 1024: >= 10x pyspiel for every game -> the lowest is {worst:.1f}x")


if __name__ == "__main__":
    main()
