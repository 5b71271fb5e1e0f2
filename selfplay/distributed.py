"""Self-play on Ray: N actors act, one learner learns.

Each actor is a Ray actor holding the acting half of a :class:`~selfplay.dqn.Learner`
built from the run's own config, so it plays exactly as the single process does, plain
or searched (MCTS mode). It plays ``chunk`` batched moves with the newest weights it was
sent (the online network, and the frozen copy as of its last catch-up) and returns what
it stored: transitions from both seats in the replay memory's stored form and, in MCTS
mode, the search targets, with the weight version it played with.

The learner (the calling process) owns the replay memory, the optimizer and the frozen
copy. After taking in a chunk it runs as many gradient steps as the single process would
for the same moves (:meth:`Learner.learn`), then publishes the new weights as one Ray
object per version, which every actor's next task shares; the frozen copy goes out as an
object of its own after each catch-up, not with every version.

Chunks are taken in the order they were asked for (round robin), so a run is
reproducible from its seed. Policy lag: the learner's weight version minus the version a
chunk was played with. A chunk that comes back with more lag than ``max_policy_lag`` is
dropped and counted.

Ray's driver runs in a child process (the bridge), not in the learner's: Ray ends its
driver when its own processes die, and the learner must outlive that to save.

Faults: a dead actor (``kill -9``) is replaced and the run goes on; the chunk it had in
flight is lost, nothing else. A dead runtime (raylet or GCS killed) ends the bridge; the
learner gets :class:`RayStopped` between two steps, and the run saves and says how to
resume. The caller stops the pool on every exit: the actors, a Ray instance it started,
and every process of that Ray still running.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
import warnings

# Ray's start-up and tasks, shared with matches; named here too for the learner's callers
from selfplay.raytasks import (  # noqa: F401
    DistributedError,
    check_address,
    connect,
    disconnect,
    imap_unordered,
    require_ray,
    session,
)

#: the most torch threads ``--threads auto`` gives a learner that acts in its own process
#: (the largest count measured to pay: docs/benchmarks.md, "Scaling")
AUTO_THREADS = 2


def auto_scale(source, workers="auto", threads="auto", cpus: int | None = None) -> tuple[int, int, str | None]:
    """Resolve ``--workers auto`` and ``--threads auto`` for a target source, as measured
    (``scripts/bench_scale.py``): the source's ``auto_workers`` Ray workers where they pay,
    Ray is installed and there are 2 CPUs; else one process whose learner takes up to
    :data:`AUTO_THREADS` torch threads (with workers it keeps one: two then ran slower).
    Returns (workers, threads, a one-line note or None). Imports no Ray."""
    import importlib.util

    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    note = None
    if workers == "auto":
        want, workers = int(source.auto_workers), 0
        if want and cpus < 2:
            note = "one process (--workers auto: one CPU here)"
        elif want and importlib.util.find_spec("ray") is None:
            note = (
                'one process (--workers auto: Ray is not installed; pip install -e ".[distributed]" '
                f"for {want} self-play workers)"
            )
        elif want:
            workers, note = min(want, cpus), "--workers auto; --workers 0 for one process"
    if threads == "auto":
        threads = 1 if workers else max(1, min(cpus, AUTO_THREADS))
    return workers, threads, note


class _Actor:
    """Plays chunks of self-play with weights it is sent (runs inside a Ray actor)."""

    def __init__(self, cfg_dict: dict, seed: int, chunk: int):
        import torch

        from selfplay.config import TrainConfig
        from selfplay.dqn import Learner

        torch.set_num_threads(1)
        cfg = TrainConfig.from_dict(cfg_dict)
        # the replay memory (and search targets) is only an outbox for one chunk
        outbox = 4 * chunk * cfg.num_envs
        cfg = dataclasses.replace(cfg, seed=seed, replay_capacity=outbox, learning_starts=0)
        self.learner = Learner(cfg)
        self.chunk = chunk
        self.version = -1
        self.frozen_version = -1

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()

    def play(self, online_box: list, version: int, frozen_box: list, frozen_version: int, moves: int) -> dict:
        """Play one chunk with weight ``version`` and the frozen copy's ``frozen_version``
        (each box holds its object, fetched only when this actor does not hold that version)."""
        import ray

        learner = self.learner
        if version != self.version:
            _load(learner.online, ray.get(online_box[0]))
            self.version = version
        if frozen_version != self.frozen_version:
            _load(learner.frozen, ray.get(frozen_box[0]))
            self.frozen_version = frozen_version
        learner.moves = moves  # the schedules (epsilon) follow the learner's move count
        for buf in learner.buffers().values():
            buf.clear()
        episodes, t0 = learner.episodes, time.perf_counter()
        for _ in range(self.chunk):
            learner.play()
        out = {
            "buffers": {name: buf.state_dict() for name, buf in learner.buffers().items()},
            "moves": self.chunk * learner.cfg.num_envs,
            "episodes": learner.episodes - episodes,
            "version": version,
            "pid": os.getpid(),
            "seconds": time.perf_counter() - t0,
        }
        return out


def _arrays(net) -> dict:
    """A network's weights as numpy arrays: Ray stores and reads those without pickling
    (1.1 ms a put and 0.13 ms a get for connect four's 512x3 MLP, against about 4 and
    1.3 ms for its online and frozen weights as torch tensors in one object)."""
    return {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}


def _load(net, arrays: dict) -> None:
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # read-only views of Ray's store, copied in
        net.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})


@dataclasses.dataclass
class PoolStats:
    #: chunks taken in, dropped for lag, and actors replaced after dying
    chunks: int = 0
    dropped: int = 0
    replaced: int = 0
    #: policy lag of the chunks taken in (versions)
    lag_sum: int = 0
    last_lag: int = 0
    #: the Ray node each actor slot runs on
    nodes: dict = dataclasses.field(default_factory=dict)
    #: the weight version each chunk taken in was played with, in order
    versions: list = dataclasses.field(default_factory=list)

    @property
    def mean_lag(self) -> float:
        return self.lag_sum / max(1, self.chunks)


#: seconds the learner waits for Ray to start or be joined, then for each chunk, before
#: it gives up with one line (a cluster that went away, a hung runtime)
START_TIMEOUT = 120.0
CHUNK_TIMEOUT = 600.0


class Pool:
    """N self-play actors feeding one learner. ``step()`` takes in the next finished
    chunk and runs the gradient steps it makes due (pass it to :func:`dqn.train`).

    Ray's driver runs in a child process of its own (the bridge, :func:`_bridge_main`),
    never in the learner's: when Ray's own processes die (a raylet or GCS killed), Ray
    ends its driver at once, and here that takes only the bridge. The learner then gets a
    :class:`RayStopped` between two steps, with its state whole, and can save. On every
    exit the pool stops the actors, the Ray it started, and any process of that Ray left
    behind. ``stop_requested()``, when given, is polled while the learner waits for a
    chunk: if it turns true, ``step()`` returns without one."""

    def __init__(
        self,
        learner,
        workers: int,
        address: str | None = None,
        chunk: int | None = None,
        max_policy_lag: int = 4,
        on_notice=None,
        object_store_mb: int = 256,
        depth: int | None = None,
        stop_requested=None,
    ):
        require_ray()
        self.learner, self.workers = learner, int(workers)
        self.on_notice = on_notice or (lambda msg: None)
        self.stop_requested = stop_requested or (lambda: False)
        cfg = learner.cfg
        # a chunk of about 256 moves (at least one batched move): the lag stays near the
        # single process's (tic-tac-toe's defaults with 2 workers missed exact play with
        # chunks of 512 and more)
        self.chunk = int(chunk or max(1, 256 // cfg.num_envs))
        depth = max(1, int(depth or learner.source.actor_queue))
        if address is None:
            address = _address_in_this_process()  # a Ray this process already joined: the bridge joins it too
        else:
            check_address(address)
        self.version = 0
        #: the learner's ``frozen_changes`` when the frozen copy was last published
        self.frozen_version = -1
        self.stats = PoolStats()
        self.log = _bridge_log()
        spec = dict(
            cfg_dict=cfg.to_dict(),
            workers=self.workers,
            address=address,
            chunk=self.chunk,
            depth=depth,
            max_policy_lag=int(max_policy_lag),
            object_store_mb=object_store_mb,
            moves=learner.moves,
            log=self.log,
        )
        self.conn, self.proc = _spawn_bridge()
        self.tree: dict[int, int] = {}
        try:
            self._send("spec", spec)
            self._recv("connected", START_TIMEOUT, starting=True)
            self._send("publish", *self._weights())
            self._recv("ready", START_TIMEOUT, starting=True)
            self._watch()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ the learner's side
    def _weights(self) -> tuple:
        learner = self.learner
        frozen = None
        if learner.frozen_changes != self.frozen_version:
            frozen, self.frozen_version = _arrays(learner.frozen), learner.frozen_changes
        return self.version, _arrays(learner.online), self.frozen_version, frozen

    def _send(self, *msg) -> None:
        try:
            self.conn.send(msg)
        except (OSError, EOFError, ValueError):
            raise self._stopped() from None

    def _recv(self, want: str, timeout: float, starting: bool = False):
        """The bridge's next answer, which must be ``want``; waits in short polls, so a
        stop request or the bridge's death is seen within a second."""
        t0 = time.monotonic()
        while True:
            try:
                ready = self.conn.poll(0.5)
            except (OSError, EOFError):
                raise self._stopped() from None
            if ready:
                try:
                    kind, *body = self.conn.recv()
                except (OSError, EOFError):
                    raise self._stopped() from None
                if kind == "error":
                    raise DistributedError(body[0])
                if kind == "notice":
                    self.on_notice(body[0])
                    continue
                assert kind == want, (kind, want)
                return body
            if self.proc.poll() is not None:
                raise self._stopped()
            if not starting and self.stop_requested():
                return None
            if time.monotonic() - t0 > timeout:
                what = "Ray did not start or answer" if starting else "no self-play chunk came back"
                raise RayStopped(f"{what} within {timeout:.0f} s (Ray's own log: {self.log})")

    def _stopped(self) -> RayStopped:
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        code = self.proc.returncode
        return RayStopped(
            f"Ray stopped under this run (its driver exited with {code}: a raylet or GCS process "
            f"died or was killed; Ray's own log: {self.log})"
        )

    def _watch(self) -> None:
        """Note every process under the bridge (Ray's raylet, GCS, agents, actors), so they
        can be ended after the bridge itself is gone."""
        for pid, start in _descendants(self.proc.pid).items():
            self.tree.setdefault(pid, start)

    def step(self) -> None:
        learner = self.learner
        self._send("next")
        got = self._recv("chunk", CHUNK_TIMEOUT)
        if got is None:  # asked to stop while waiting: the chunk stays with the bridge
            return
        out, info = got
        st = self.stats
        st.chunks += 1
        st.lag_sum += info["lag"]
        st.last_lag = info["lag"]
        st.versions.append(int(out["version"]))
        st.dropped, st.replaced, st.nodes = info["dropped"], info["replaced"], info["nodes"]
        learner.absorb(out["buffers"], moves=out["moves"], episodes=out["episodes"])
        if info["watch"]:  # an actor was (re)started: note its process
            self._watch()
        updates = learner.updates
        learner.learn(self.chunk)
        if learner.updates != updates:  # a new version only when the weights changed
            self.version += 1
            self._send("publish", *self._weights())

    def close(self) -> None:
        """Stop the actors and a Ray this pool started, then end whatever of it is left."""
        if getattr(self, "proc", None) is None:
            return
        with contextlib.suppress(Exception):
            self._watch()
        with contextlib.suppress(Exception):
            self.conn.send(("close",))
        deadline = time.monotonic() + 20
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:  # a chunk the learner no longer waits for: read it, so the bridge can take "close"
                if self.conn.poll(0.2):
                    self.conn.recv()
            except (OSError, EOFError):
                with contextlib.suppress(Exception):
                    self.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        _end_processes(self.tree)
        with contextlib.suppress(Exception):
            self.conn.close()
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RayStopped(DistributedError):
    """Ray died or stopped answering under a training run; the learner's state is whole."""


def _address_in_this_process() -> str | None:
    import sys

    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    return ray.get_runtime_context().gcs_address


def _bridge_log() -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"selfplay-ray-{os.getpid()}.log")


def _descendants(root: int) -> dict[int, int]:
    """``pid -> start time`` of every live process under ``root`` (from /proc; empty
    where there is none)."""
    parent, start = {}, {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(name)], start[int(name)] = int(fields[1]), int(fields[19])
    found, todo = {}, [root]
    while todo:
        p = todo.pop()
        for child, par in parent.items():
            if par == p and child not in found:
                found[child] = start[child]
                todo.append(child)
    return found


def _end_processes(tree: dict[int, int]) -> None:
    """SIGKILL every noted process that still runs as the same process (same start time)."""
    import signal

    now = {}
    for pid in tree:
        try:
            with open(f"/proc/{pid}/stat") as f:
                now[pid] = int(f.read().rsplit(")", 1)[1].split()[19])
        except (OSError, ValueError, IndexError):
            continue
    for pid, start in tree.items():
        if now.get(pid) == start:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------- the bridge (its own process)
def _spawn_bridge():
    """A fresh interpreter running :func:`_bridge_main`, and the learner's end of a socket
    pair to it (a new interpreter, not a fork or multiprocessing's spawn, which would run
    the caller's main script again)."""
    import socket
    import subprocess
    import sys
    from multiprocessing.connection import Connection

    mine, theirs = socket.socketpair()
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
    code = f"from selfplay.distributed import _bridge_entry; _bridge_entry({theirs.fileno()})"
    proc = subprocess.Popen([sys.executable, "-c", code], pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
    theirs.close()
    return Connection(mine.detach()), proc


def _bridge_entry(fd: int) -> None:
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    try:
        kind, spec = conn.recv()
    except (EOFError, OSError):
        return
    _bridge_main(conn, spec)


def _bridge_main(conn, spec: dict) -> None:
    """Ray's driver, in a process of its own: starts or joins Ray, runs the actors, and
    answers the learner's ``publish``, ``next`` and ``close`` messages. Its output goes to
    ``spec["log"]`` (Ray prints its own dumps there, not on the run's terminal)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the learner's to handle: it closes the pool
    with contextlib.suppress(OSError):
        fd = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    try:
        bridge = _Bridge(conn, spec)
    except DistributedError as e:
        conn.send(("error", str(e)))
        return
    try:
        bridge.serve()
    except (EOFError, OSError):
        pass  # the learner is gone
    except DistributedError as e:
        with contextlib.suppress(Exception):
            conn.send(("error", str(e)))
    finally:
        bridge.shutdown()


class _Bridge:
    """The actors' side of the pool (runs in the bridge process)."""

    def __init__(self, conn, spec: dict):
        self.conn, self.spec = conn, spec
        self.ray = ray = require_ray()
        self.workers, self.chunk, self.depth = spec["workers"], spec["chunk"], spec["depth"]
        self.max_policy_lag = spec["max_policy_lag"]
        self.moves = spec["moves"]
        self.cfg_dict = spec["cfg_dict"]
        self.seed = int(self.cfg_dict["seed"])
        self.started = connect(self.workers, spec["address"], spec["object_store_mb"])
        self.remote_cls = ray.remote(num_cpus=1, max_restarts=0)(_Actor)
        self.stats = PoolStats()
        self.generation: dict[int, int] = {}
        self.actors: dict[int, object] = {}
        self.inflight: dict = {}
        self.version, self.frozen_version = 0, -1
        self.weights = self.frozen = None
        conn.send(("connected",))
        kind, *body = conn.recv()  # the first weights
        self._publish(*body)
        for i in range(self.workers):
            self._start(i)
        conn.send(("ready",))

    def _publish(self, version, online, frozen_version, frozen) -> None:
        """One object per weight version, shared by every actor's next task, and one for
        the frozen copy after each of its catch-ups."""
        self.version = version
        self.weights = self.ray.put(online)
        if frozen is not None:
            self.frozen, self.frozen_version = self.ray.put(frozen), frozen_version

    def _start(self, slot: int) -> None:
        from selfplay.checks import SEED_MAX

        seed = (self.seed + 1000 * (slot + 1) + 7919 * self.stats.replaced + self.moves) % (SEED_MAX + 1)
        actor = self.remote_cls.options(scheduling_strategy="SPREAD").remote(self.cfg_dict, seed, self.chunk)
        self.actors[slot] = actor
        self.generation[slot] = self.generation.get(slot, -1) + 1
        self.stats.nodes[slot] = None
        for _ in range(self.depth):
            self._submit(slot)

    def _submit(self, slot: int) -> None:
        # the weights go in a list, so Ray passes the reference and the actor fetches
        # them only for a version it does not hold yet
        ref = self.actors[slot].play.remote(
            [self.weights], self.version, [self.frozen], self.frozen_version, self.moves
        )
        self.inflight[ref] = (slot, self.generation[slot])

    def serve(self) -> None:
        while True:
            kind, *body = self.conn.recv()
            if kind == "publish":
                self._publish(*body)
            elif kind == "next":
                self.conn.send(("chunk", *self._next()))
            elif kind == "close":
                return

    def _next(self):
        """The oldest chunk in flight (round robin: the learner takes chunks in a fixed
        order, so a run is reproducible from its seed whatever the timing), skipping
        those played with too old weights and replacing actors that died."""
        ray = self.ray
        watch = False
        while True:
            ref = next(iter(self.inflight))
            slot, generation = self.inflight.pop(ref)
            try:
                out = ray.get(ref)
            except ray.exceptions.RayTaskError as e:  # the actor's own code failed: not a fault to retry
                raise DistributedError(f"worker {slot} failed: {str(e).strip().splitlines()[-1][:200]}") from None
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError):
                if generation != self.generation[slot]:
                    continue  # another chunk queued at an actor already replaced
                self.stats.replaced += 1
                self.conn.send(("notice", f"worker {slot} died; started a new one (its chunk in flight is lost)"))
                self._start(slot)
                watch = True
                continue
            lag = self.version - int(out["version"])
            if lag > self.max_policy_lag:
                self.stats.dropped += 1
                self._submit(slot)
                continue
            break
        self.moves += int(out["moves"])
        self.stats.chunks += 1
        self.stats.lag_sum += lag
        self.stats.last_lag = lag
        self.stats.versions.append(int(out["version"]))
        if self.stats.nodes.get(slot) is None:
            self.stats.nodes[slot] = ray.get(self.actors[slot].node.remote())
            watch = True
        # the actor's next chunk goes out before the learner's steps, with the weights it
        # has now (one version older than after them), so acting and learning overlap
        self._submit(slot)
        info = {
            "lag": lag,
            "dropped": self.stats.dropped,
            "replaced": self.stats.replaced,
            "nodes": dict(self.stats.nodes),
            "watch": watch,
        }
        return out, info

    def shutdown(self) -> None:
        for actor in self.actors.values():
            with contextlib.suppress(Exception):
                self.ray.kill(actor)
        if self.started is not None:
            disconnect(self.started)
