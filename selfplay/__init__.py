"""Self-play deep Q-learning for two-player board games.

``load_agent(path, search=None)`` gives an agent with ``act(state, rng)`` and
``q_values(state)``; see :mod:`selfplay.dqn` for the algorithm. (Imported lazily, so
that ``selfplay`` on the command line answers before torch has loaded.)
"""

__all__ = ["CheckpointError", "load_agent"]


class Stopped(Exception):
    """Work given up whole because a stop was asked for (a signal during a run): a match
    of an evaluation, or a batched move whose search had not finished."""


def exit_interrupted(message: str, err: bool = True, code: int = 130):
    """Print ``message`` and end the process now with ``code``, after a Ctrl-C was handled
    and the stack unwound. CPython marks a KeyboardInterrupt that passed through ``exec``
    of a string (``dataclasses`` does that while torch imports) as unhandled, and at exit
    then kills even a handled one by SIGINT (exit status -2 instead of 130); ``os._exit``
    skips that. Nothing is open for writing where this is called."""
    import os
    import sys

    sys.stdout.flush()
    print(message, file=sys.stderr if err else sys.stdout, flush=True)
    os._exit(code)


def __getattr__(name: str):
    if name in __all__:
        from selfplay import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module 'selfplay' has no attribute {name!r}")
