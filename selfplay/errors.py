"""The package's own exceptions and exits (a leaf: it imports nothing of selfplay)."""

import contextlib


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


@contextlib.contextmanager
def interrupts_held():
    """Hold SIGINT back for the block (on the main thread, where the OS supports it): it
    stays pending and arrives as a KeyboardInterrupt just after the block.

    For imports of compiled libraries. A KeyboardInterrupt raised in Python code that such
    an import calls back into can cross C++ code that cannot pass it on (pybind11 then
    aborts the process with "terminate called ... KeyboardInterrupt", seen once in CI on a
    Ctrl-C while torch imported), so a Ctrl-C there waits the second or two until the
    import is done and then ends the program as one at any other moment does. A thread
    started in the block inherits the hold; one started before it with SIGINT open could
    still take the signal, so this is for the start-up, before any thread."""
    import signal
    import threading

    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
