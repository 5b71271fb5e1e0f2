"""Self-play deep Q-learning for two-player board games.

``load_agent(path, search=None)`` gives an agent with ``act(state, rng)`` and
``q_values(state)``; see docs/algorithm.md and :mod:`selfplay.dqn` for the algorithm. (Imported lazily, so
that ``selfplay`` on the command line answers before torch has loaded.)
"""

from selfplay.errors import Stopped, exit_interrupted

__all__ = ["CheckpointError", "Stopped", "exit_interrupted", "load_agent"]
_LAZY = ("CheckpointError", "load_agent")


def __getattr__(name: str):
    if name == "CheckpointError":
        from selfplay.checkpoint import CheckpointError

        return CheckpointError
    if name == "load_agent":
        from selfplay.players import load_agent

        return load_agent
    raise AttributeError(f"module 'selfplay' has no attribute {name!r}")
