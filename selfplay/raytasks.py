"""Ray for chunks of games: start or join it, run tasks on it, stop it, and leave no signal
handler of Ray's behind. Matches (eval, tournament) use this alone; the learner's self-play
actors (:mod:`selfplay.distributed`) build on it. Nothing here imports the learner.
"""

from __future__ import annotations

import contextlib
import logging


class DistributedError(Exception):
    """Ray missing or unreachable; one line."""


def require_ray():
    try:
        import ray
    except ImportError:
        raise DistributedError('--workers needs Ray: pip install -e ".[distributed]" (or pip install ray)') from None
    return ray


#: the signals whose handlers ``ray.init`` replaces in the process that calls it
_SIGNALS = ("SIGINT", "SIGTERM")


def _signal_handlers() -> dict:
    import signal

    return {name: signal.getsignal(getattr(signal, name)) for name in _SIGNALS}


def disconnect(handlers: dict) -> None:
    """Stop the Ray :func:`connect` started and put back the signal handlers it found, so
    none of Ray's outlives it (a SIGTERM then ends the process at once, as before)."""
    import signal
    import threading

    with contextlib.suppress(Exception):
        require_ray().shutdown()
    if threading.current_thread() is threading.main_thread():
        for name, handler in handlers.items():
            if handler is not None:
                signal.signal(getattr(signal, name), handler)


def connect(workers: int, address: str | None = None, object_store_mb: int = 256) -> dict | None:
    """Join Ray at ``address`` (``auto``, ``ray://host:port``), or start a local instance
    with ``workers`` CPUs and a bounded object store. When this call started it, the signal
    handlers it found, for the caller to give to :func:`disconnect`; None when a Ray already
    running in this process is used as it is."""
    ray = require_ray()
    if ray.is_initialized():
        return None
    if address:
        check_address(address)
    handlers = _signal_handlers()
    try:
        quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        if address:
            ray.init(address=address, **quiet)
        else:
            # "local": always a new instance of our own, never one another program on this
            # machine started (a test's cluster, a user's `ray start`): plain ray.init() would
            # join that, and refuse our num_cpus
            ray.init(address="local", num_cpus=max(workers, 1), object_store_memory=object_store_mb * 2**20, **quiet)
    except Exception as e:  # ConnectionError, ValueError, RuntimeError: one line
        disconnect(handlers)
        raise DistributedError(f"cannot start or join Ray ({str(e).splitlines()[0][:160]})") from None
    return handlers


@contextlib.contextmanager
def session(workers: int, address: str | None = None):
    """Ray for the block when ``workers`` > 0: joined at ``address`` or started here (and
    then stopped on every exit); nothing without workers. Several pools of tasks in the
    block share one start-up."""
    started = connect(workers, address) if workers else None
    try:
        yield
    finally:
        if started is not None:
            disconnect(started)


def imap_unordered(fn, tasks: list, workers: int, address: str | None = None):
    """``fn(task)`` for every task as Ray tasks, at most ``workers`` in flight, one CPU
    each; yields the results as they finish. A task whose worker dies is run again (Ray's
    retries), so the caller sees every result once. Stops a Ray it started on every exit,
    also when the caller stops early (Ctrl-C)."""
    ray = require_ray()
    with session(workers, address):
        remote = ray.remote(num_cpus=1, max_retries=3)(fn)
        todo, inflight = list(tasks), []
        while todo or inflight:
            while todo and len(inflight) < workers:
                inflight.append(remote.remote(todo.pop(0)))
            done, inflight = ray.wait(inflight, num_returns=1)
            yield ray.get(done[0])


def check_address(address: str) -> None:
    """Refuse at once, naming ``--ray-address``, an address where no Ray can be: nothing
    listens at a ``host:port`` (or ``ray://host:port``), or ``auto`` with no cluster
    started on this machine."""
    import socket

    if address == "auto":
        require_ray()
        from ray._private.services import get_ray_address_from_environment

        try:
            address = get_ray_address_from_environment("auto", None)  # Ray's own search: RAY_ADDRESS, then this machine
        except ConnectionError:
            raise DistributedError(
                "--ray-address auto: no running Ray cluster found on this machine (start one "
                "with 'ray start --head', or leave out --ray-address to start a Ray for the "
                "run)"
            ) from None
        if address == "auto":
            return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise DistributedError(f"--ray-address {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise DistributedError(
            f"--ray-address {address}: no Ray cluster answers there ({e.strerror or e.__class__.__name__})"
        ) from None
