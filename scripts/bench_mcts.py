"""Simulations per second of our batched MCTS on connect four against OpenSpiel's MCTS
bots (C++ ``pyspiel.MCTSBot`` and Python ``MCTSBot``, random rollouts), one run:

    python scripts/bench_mcts.py [--checkpoint checkpoints/connect_four.pt] [--seconds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import games
from selfplay import mcts
from selfplay.network import build


def _positions(g, batch, seed=0):
    rng = np.random.default_rng(seed)
    s = g.init(batch)
    for _ in range(6):
        s = g.step(s, games.random_actions(s, rng))
    return s


def ours(g, evaluator, batch, sims, seconds, lanes=1) -> float:
    roots = _positions(g, batch)
    cfg = mcts.SearchConfig(simulations=sims, lanes=lanes)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        r = mcts.search(g, roots, evaluator, cfg, np.random.default_rng(0))
        done += r.simulations * batch
    return done / (time.perf_counter() - t0)


def _bot_rate(bot, game, sims, seconds) -> float:
    """Simulations per second of an OpenSpiel bot stepping from the initial position."""
    state = game.new_initial_state()
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        bot.step(state)
        done += sims
    return done / (time.perf_counter() - t0)


def openspiel_cpp(sims, seconds) -> float:
    import pyspiel

    game = pyspiel.load_game("connect_four")
    bot = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, 0), 2.0, sims, 1000, False, 0, False)
    return _bot_rate(bot, game, sims, seconds)


def openspiel_python(sims, seconds) -> float:
    import pyspiel
    from open_spiel.python.algorithms import mcts as os_mcts

    game = pyspiel.load_game("connect_four")
    bot = os_mcts.MCTSBot(
        game,
        2.0,
        sims,
        os_mcts.RandomRolloutEvaluator(1, np.random.RandomState(0)),
        random_state=np.random.RandomState(0),
    )
    return _bot_rate(bot, game, sims, seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--checkpoint",
        default=None,
        help="network to evaluate leaves with (default: an untrained "
        "network of connect four's default shape; the speed is the same)",
    )
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.checkpoint:
        from selfplay import load_agent

        agent = load_agent(args.checkpoint)
        g, net = agent.game, agent.net  # the agent's game: its observation planes fit the net
    else:
        from selfplay.profiles import default_config

        g = games.make("connect_four")
        net = build(default_config("connect_four").net, g.obs_shape, g.num_actions)
    net_ev = mcts.NetworkEvaluator(g, net)
    rows = [
        ("ours, network evaluator, batch 1", ours(g, net_ev, 1, 800, args.seconds)),
        ("ours, network evaluator, batch 1, 16 lanes", ours(g, net_ev, 1, 800, args.seconds, lanes=16)),
        ("ours, network evaluator, batch 256", ours(g, net_ev, 256, 200, args.seconds)),
        ("ours, rollout evaluator, batch 256", ours(g, mcts.RolloutEvaluator(g), 256, 200, args.seconds)),
        ("ours, uniform evaluator (overhead), batch 1", ours(g, mcts.UniformEvaluator(), 1, 800, args.seconds)),
        ("ours, uniform evaluator (overhead), batch 256", ours(g, mcts.UniformEvaluator(), 256, 200, args.seconds)),
    ]
    cpp = openspiel_cpp(1000, args.seconds)
    py = openspiel_python(200, args.seconds)
    rows += [("OpenSpiel C++ MCTSBot, random rollouts", cpp), ("OpenSpiel Python MCTSBot, random rollouts", py)]
    print(f"{'search':48s} {'sims/s':>10s} {'x C++ bot':>10s} {'x Py bot':>9s}")
    for name, v in rows:
        print(f"{name:48s} {v:10,.0f} {v / cpp:10.2f} {v / py:9.1f}")
    overhead = rows[5][1]
    print(
        f"\ntarget: our search's own overhead at batch 256 >= OpenSpiel's C++ bot -> "
        f"{overhead:,.0f} vs {cpp:,.0f} sims/s ({overhead / cpp:.2f}x)"
    )


if __name__ == "__main__":
    main()
