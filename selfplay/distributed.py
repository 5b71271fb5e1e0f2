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

Faults: a dead actor (``kill -9``) is replaced and the run goes on; the chunk it had in
flight is lost, nothing else. The caller stops the pool (and a Ray instance it started)
on every exit.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
import warnings


class DistributedError(Exception):
    """Ray missing or unreachable; one line."""


def require_ray():
    try:
        import ray
    except ImportError:
        raise DistributedError("--workers needs Ray: pip install -e \".[distributed]\" (or pip install ray)") from None
    return ray


#: the most torch threads ``--threads auto`` gives a learner that acts in its own process
#: (measured on 2 cores: connect four 1.41x the positions/s of one thread, tic-tac-toe
#: 1.23x; larger counts were not measured here)
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
            note = ('one process (--workers auto: Ray is not installed; pip install -e ".[distributed]" '
                    f"for {want} self-play workers)")
        elif want:
            workers, note = min(want, cpus), "--workers auto; --workers 0 for one process"
    if threads == "auto":
        threads = 1 if workers else max(1, min(cpus, AUTO_THREADS))
    return workers, threads, note


def connect(workers: int, address: str | None = None, object_store_mb: int = 256) -> bool:
    """Join Ray at ``address`` (``auto``, ``ray://host:port``), or start a local instance
    with ``workers`` CPUs and a bounded object store; True when this call started it (the
    caller then shuts it down). A Ray already running in this process is used as it is."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    try:
        quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=max(workers, 1), object_store_memory=object_store_mb * 2**20, **quiet)
    except Exception as e:  # ConnectionError, ValueError, RuntimeError: one line
        raise DistributedError(f"cannot start or join Ray ({str(e).splitlines()[0][:160]})") from None
    return True


@contextlib.contextmanager
def session(workers: int, address: str | None = None):
    """Ray for the block when ``workers`` > 0: joined at ``address`` or started here (and
    then stopped on every exit); nothing without workers. Several pools of tasks in the
    block share one start-up."""
    started = connect(workers, address) if workers else False
    try:
        yield
    finally:
        if started:
            require_ray().shutdown()


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


class _Actor:
    """Plays chunks of self-play with weights it is sent (runs inside a Ray actor)."""

    def __init__(self, cfg_dict: dict, seed: int, chunk: int):
        import torch

        from selfplay.dqn import Learner, TrainConfig

        torch.set_num_threads(1)
        cfg = TrainConfig.from_dict(cfg_dict)
        # the replay memory (and search targets) is only an outbox for one chunk
        outbox = 4 * chunk * cfg.num_envs
        cfg = dataclasses.replace(cfg, seed=seed, replay_capacity=outbox, learning_starts=0)
        self.lr = Learner(cfg)
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

        lr = self.lr
        if version != self.version:
            _load(lr.online, ray.get(online_box[0]))
            self.version = version
        if frozen_version != self.frozen_version:
            _load(lr.frozen, ray.get(frozen_box[0]))
            self.frozen_version = frozen_version
        lr.moves = moves  # the schedules (epsilon) follow the learner's move count
        for buf in lr.buffers().values():
            buf.clear()
        episodes, t0 = lr.episodes, time.perf_counter()
        for _ in range(self.chunk):
            lr.play()
        out = {"buffers": {name: buf.state_dict() for name, buf in lr.buffers().items()},
               "moves": self.chunk * lr.cfg.num_envs,
               "episodes": lr.episodes - episodes, "version": version, "pid": os.getpid(),
               "seconds": time.perf_counter() - t0}
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


class Pool:
    """N self-play actors feeding one learner. ``step()`` takes in the next finished
    chunk and runs the gradient steps it makes due (pass it to :func:`dqn.train`)."""

    def __init__(self, learner, workers: int, address: str | None = None, chunk: int | None = None,
                 max_policy_lag: int = 4, on_notice=None, object_store_mb: int = 256, depth: int | None = None):
        ray = require_ray()
        self.ray, self.learner, self.workers = ray, learner, int(workers)
        #: chunks queued at each actor, so it keeps playing while the learner takes its
        #: gradient steps (the target source says how deep: MCTS mode's steps come in
        #: bursts, one per iteration)
        self.depth = max(1, int(depth or learner.source.actor_queue))
        self.generation: dict[int, int] = {}
        self.max_policy_lag = int(max_policy_lag)
        self.on_notice = on_notice or (lambda msg: None)
        cfg = learner.cfg
        # a chunk of about 256 moves (at least one batched move): the lag stays near the
        # single process's. Measured on tic-tac-toe's defaults with 2 workers: 512- and
        # 2,048-move chunks missed exact play by 2-3 positions, 128 and 256 reached it
        self.chunk = int(chunk or max(1, 256 // cfg.num_envs))
        self.started = connect(self.workers, address, object_store_mb)
        self.remote_cls = ray.remote(num_cpus=1, max_restarts=0)(_Actor)
        self.cfg_dict = cfg.to_dict()
        self.version = 0
        #: the learner's ``frozen_changes`` when the frozen copy was last published
        self.frozen_version = -1
        self.stats = PoolStats()
        self._publish()
        self.actors: dict[int, object] = {}
        self.inflight: dict = {}
        for i in range(self.workers):
            self._start(i)

    # ------------------------------------------------------------------ internals
    def _publish(self) -> None:
        """One object per weight version, shared by every actor's next task, and one for
        the frozen copy after each of its catch-ups."""
        lr = self.learner
        self.weights = self.ray.put(_arrays(lr.online))
        if lr.frozen_changes != self.frozen_version:
            self.frozen = self.ray.put(_arrays(lr.frozen))
            self.frozen_version = lr.frozen_changes

    def _start(self, slot: int) -> None:
        seed = self.learner.cfg.seed + 1000 * (slot + 1) + 7919 * self.stats.replaced + self.learner.moves
        actor = self.remote_cls.options(scheduling_strategy="SPREAD").remote(self.cfg_dict, seed, self.chunk)
        self.actors[slot] = actor
        self.generation[slot] = self.generation.get(slot, -1) + 1
        self.stats.nodes[slot] = None
        for _ in range(self.depth):
            self._submit(slot)

    def _submit(self, slot: int) -> None:
        # the weights go in a list, so Ray passes the reference and the actor fetches
        # them only for a version it does not hold yet
        ref = self.actors[slot].play.remote([self.weights], self.version, [self.frozen], self.frozen_version,
                                            self.learner.moves)
        self.inflight[ref] = (slot, self.generation[slot])

    def step(self) -> None:
        ray = self.ray
        while True:
            # the oldest chunk in flight first (round robin): the learner takes chunks in a
            # fixed order, so a run is reproducible from its seed whatever the timing
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
                self.on_notice(f"worker {slot} died; started a new one (its chunk in flight is lost)")
                self._start(slot)
                continue
            lag = self.version - int(out["version"])
            if lag > self.max_policy_lag:
                self.stats.dropped += 1
                self._submit(slot)
                continue
            break
        lr = self.learner
        for name, buf in lr.buffers().items():
            buf.extend(out["buffers"][name])
        lr.moves += int(out["moves"])
        lr.episodes += int(out["episodes"])
        self.stats.chunks += 1
        self.stats.lag_sum += lag
        self.stats.last_lag = lag
        self.stats.versions.append(int(out["version"]))
        if self.stats.nodes.get(slot) is None:
            self.stats.nodes[slot] = out.get("node") or ray.get(self.actors[slot].node.remote())
        # the actor's next chunk goes out before the learner's steps, with the weights it
        # has now (one version older than after them), so acting and learning overlap
        self._submit(slot)
        updates = lr.updates
        lr.learn(self.chunk)
        if lr.updates != updates:  # a new version only when the weights changed
            self.version += 1
            self._publish()

    def close(self) -> None:
        for actor in self.actors.values():
            try:
                self.ray.kill(actor)
            except Exception:
                pass
        self.actors.clear()
        self.inflight.clear()
        if self.started:
            self.ray.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
