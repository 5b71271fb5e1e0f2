"""Self-play deep Q-learning for two-player board games.

``load_agent(path, search=None)`` gives an agent with ``act(state, rng)`` and
``q_values(state)``; see :mod:`selfplay.dqn` for the algorithm.
"""
from selfplay.checkpoint import CheckpointError, load_agent

__all__ = ["CheckpointError", "load_agent"]
