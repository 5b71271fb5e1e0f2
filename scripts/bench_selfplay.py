"""Self-play training throughput on tic-tac-toe: our learner against OpenSpiel's PyTorch
DQN example (two DQN agents on ``rl_environment``), measured in the same run.

Positions per second count moves played, training included. Gradient samples per
second (minibatch rows) are printed too, since the two default replay ratios differ.

    pip install -e ".[bench]"    # dm-tree, which OpenSpiel's DQN needs
    python scripts/bench_selfplay.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import time

import torch


def ours(seconds: float, **overrides) -> tuple[float, float]:
    from selfplay.dqn import Learner
    from selfplay.profiles import default_config

    learner = Learner(default_config("tic_tac_toe", eval_every=0, checkpoint_every=0, **overrides))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        learner.train_step()
    dt = time.perf_counter() - t0
    return learner.moves / dt, learner.updates * learner.cfg.batch_size / dt


def openspiel(seconds: float) -> tuple[float, float]:
    from open_spiel.python import rl_environment
    from open_spiel.python.pytorch import dqn

    env = rl_environment.Environment("tic_tac_toe")
    size = env.observation_spec()["info_state"][0]
    n_act = env.action_spec()["num_actions"]
    # the settings of OpenSpiel's tic_tac_toe_dqn_vs_tabular / breakthrough_dqn examples
    agents = [
        dqn.DQN(
            player_id=i,
            state_representation_size=size,
            num_actions=n_act,
            hidden_layers_sizes=[64, 64],
            replay_buffer_capacity=10_000,
            batch_size=32,
        )
        for i in range(2)
    ]
    moves, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        ts = env.reset()
        while not ts.last():
            p = ts.observations["current_player"]
            out = agents[p].step(ts)
            ts = env.step([out.action])
            moves += 1
        for a in agents:
            a.step(ts)
    dt = time.perf_counter() - t0
    learns = sum(a._iteration // a._learn_every for a in agents)  # each learn() is one minibatch of 32
    return moves / dt, learns * 32 / dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from selfplay.config import NetConfig

    o_pos, o_smp = ours(args.seconds)
    # OpenSpiel's network (64x64 MLP) and replay ratio (about 4 minibatch rows per position)
    m_pos, m_smp = ours(
        args.seconds, net=NetConfig(kind="mlp", hidden=64, layers=2), num_envs=128, batch_size=512, updates_per_step=1
    )
    s_pos, s_smp = openspiel(args.seconds)
    print(f"{'learner':52s} {'positions/s':>12s} {'samples/s':>10s} {'samples/pos':>12s}")
    for name, p, smp in [
        ("selfplay, default tic_tac_toe config (256x2 MLP)", o_pos, o_smp),
        ("selfplay, OpenSpiel's net (64x64) and replay ratio", m_pos, m_smp),
        ("OpenSpiel pytorch DQN example, 2 agents (64x64)", s_pos, s_smp),
    ]:
        print(f"{name:52s} {p:12,.0f} {smp:10,.0f} {smp / p:12.1f}")
    print(
        f"\nat the same network and replay ratio: {m_pos / s_pos:.1f}x positions/s (target >= 10x); "
        f"default config: {o_pos / s_pos:.1f}x positions/s while doing {o_smp / s_smp:.1f}x the gradient samples/s"
    )


if __name__ == "__main__":
    main()
