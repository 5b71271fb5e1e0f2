"""The package's own exceptions and exits (a leaf: it imports nothing of selfplay)."""


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
