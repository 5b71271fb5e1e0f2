"""Self-play deep Q-learning for two-player board games.

``load_agent(path, search=None)`` gives an agent with ``act(state, rng)`` and
``q_values(state)``; see :mod:`selfplay.dqn` for the algorithm. (Imported lazily, so
that ``selfplay`` on the command line answers before torch has loaded.)
"""
__all__ = ["CheckpointError", "load_agent"]


def __getattr__(name: str):
    if name in __all__:
        from selfplay import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module 'selfplay' has no attribute {name!r}")
