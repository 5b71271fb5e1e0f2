"""Self-play on a real Ray runtime: actors feed one learner, on one node and on two."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

ray = pytest.importorskip("ray")

from selfplay import checkpoint, distributed, dqn, profiles, runner  # noqa: E402
from selfplay.config import NetConfig  # noqa: E402


@pytest.fixture
def local_ray():
    ray.init(num_cpus=3, include_dashboard=False, object_store_memory=150 * 2**20, log_to_driver=False)
    yield
    ray.shutdown()


def _cfg(**kw):
    base = dict(
        num_envs=16,
        batch_size=64,
        learning_starts=256,
        steps=4096,
        eval_every=0,
        checkpoint_every=0,
        seed=3,
        target_update=20,
        net=NetConfig(kind="mlp", hidden=32, layers=1),
    )
    base.update(kw)
    return profiles.default_config("tic_tac_toe", **base)


def test_actors_feed_both_seats_with_recorded_versions_and_the_learner_keeps_its_updates(local_ray):
    learner = dqn.Learner(_cfg())
    with distributed.Pool(learner, workers=2, chunk=8, max_policy_lag=3) as pool:
        while learner.moves < 4096:
            pool.step()
        st = pool.stats
    assert learner.moves == 4096 and learner.replay.size == 4096
    # the replay ratio of the single process: updates_per_step per batched move, from the
    # chunk that fills the memory to learning_starts (the second chunk of 8 x 16 moves) on
    assert learner.updates == learner.cfg.updates_per_step * (4096 - 128) // 16
    # both seats' moves are stored: X moves (even stone counts) and O moves (odd)
    stones = learner.replay._unpack(learner.replay.obs[: learner.replay.size]).sum(axis=(1, 2, 3))
    assert set(np.unique(stones.astype(int) % 2)) == {0, 1}
    # a terminal move's target is its reward; a winning move is stored with reward +1
    assert (learner.replay.reward[: learner.replay.size][learner.replay.done[: learner.replay.size]] >= 0).all()
    assert learner.replay.reward[: learner.replay.size].max() == 1
    # every chunk names the weight version it was played with, within the allowed lag
    assert len(st.versions) == st.chunks == 4096 // (8 * 16)
    assert st.mean_lag <= 3 and max(st.versions) <= pool.version
    assert len({n for n in st.nodes.values()}) >= 1 and st.replaced == 0


def test_mcts_mode_actors_send_search_targets(local_ray):
    learner = dqn.Learner(_cfg(mcts=True, simulations=8, iteration_episodes=8, iteration_updates=5, num_envs=8))
    with distributed.Pool(learner, workers=2, chunk=4) as pool:
        for _ in range(6):
            pool.step()
    assert learner.source.targets.size > 0 and learner.updates > 0


@pytest.mark.slow  # the default run joins a two-node cluster in the train test below
def test_actors_run_on_both_nodes_of_a_two_node_cluster():
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, object_store_memory=100 * 2**20)
    try:
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        learner = dqn.Learner(_cfg())
        with distributed.Pool(learner, workers=2, chunk=4) as pool:
            for _ in range(6):
                pool.step()
            nodes = set(pool.stats.nodes.values())
        assert len(nodes) == 2, "one actor on each node"
        assert learner.moves == 6 * 4 * 16 and learner.replay.size == learner.moves
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_without_an_address_a_run_starts_its_own_ray_beside_a_running_one():
    """Another Ray on this machine (a user's ``ray start``, a test's cluster) is not joined
    by a run given no address: a plain ``ray.init()`` would join it and refuse num_cpus
    ("When connecting to an existing cluster, num_cpus and num_gpus must not be provided")."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20, "include_dashboard": False},
    )
    try:
        cluster.wait_for_nodes()
        with distributed.session(1):
            assert len(ray.nodes()) == 1
            assert ray.get_runtime_context().gcs_address != cluster.address
        assert not ray.is_initialized()
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_train_joins_a_running_two_node_cluster_uses_both_nodes_and_leaves_it_running(tmp_path):
    """``selfplay train --workers 2 --ray-address ADDR``, as a user with a cluster runs it:
    the actors spread over both nodes (the metrics say how many), and the run disconnects
    without stopping a cluster it did not start."""
    import json

    from click.testing import CliRunner
    from ray.cluster_utils import Cluster

    from selfplay.cli import cli

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, object_store_memory=100 * 2**20)
    try:
        cluster.wait_for_nodes()
        r = CliRunner().invoke(
            cli,
            [
                "train",
                "--game",
                "tic_tac_toe",
                "--workers",
                "2",
                "--ray-address",
                cluster.address,
                "--steps",
                "6000",
                "--eval-every",
                "0",
                "--hidden",
                "32",
                "--out",
                str(tmp_path / "run"),
            ],
        )
        assert r.exit_code == 0, r.output
        assert "2 Ray workers (" + cluster.address + ")" in r.output
        assert not ray.is_initialized()
        rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
        last = [row for row in rows if "worker_nodes" in row][-1]
        assert last["workers"] == 2 and last["worker_nodes"] == 2, last
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        assert sum(n["Alive"] for n in ray.nodes()) == 2, "the cluster is still up"
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.slow  # a whole default run on Ray: ~1 min quiet
def test_tic_tac_toe_with_two_workers_from_the_defaults_never_loses_to_minimax(tmp_path):
    """What holds with 2 workers (docs/cli.md, "Workers"): the plain defaults' 100k moves never
    lose to perfect play and keep the best outcome in all but a few of the 4,520 positions
    (measured: 4,519; one process keeps all of them from 40k moves, test_dqn). The chunks
    are taken in a fixed order, so the run is the same whatever the machine's load."""
    from selfplay.agents import QAgent
    from selfplay.exact import exact_tic_tac_toe

    cfg = profiles.default_config("tic_tac_toe", eval_every=0, checkpoint_every=0)  # the defaults: 100k moves
    learner = dqn.Learner(cfg)
    (tmp_path / "run").mkdir()
    runner.run(learner, tmp_path / "run", options=runner.RunOptions(workers=2))
    assert not ray.is_initialized()  # the run stopped the Ray it started
    ex = exact_tic_tac_toe(QAgent(learner.game, learner.online), np.random.default_rng(0), num_games=50)
    missed = round((1 - ex["kept"]) * ex["positions"])
    assert ex["vs_perfect"]["losses"] == 0 and missed <= 4, missed


def _actor_pids(root: int) -> list[int]:
    """The Ray actors under process ``root`` (not those of another run on the machine)."""
    found = []
    for pid in distributed._descendants(root):
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                if "ray::_Actor" in f.read():
                    found.append(pid)
        except OSError:
            continue
    return found


@pytest.mark.slow  # whole CLI runs on Ray, resumed: over a minute
def test_a_worker_killed_mid_run_is_replaced_then_resume_with_another_worker_count(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    cmd = [
        sys.executable,
        "-m",
        "selfplay",
        "train",
        "--game",
        "tic_tac_toe",
        "--out",
        str(out),
        "--workers",
        "2",
        "--steps",
        "40000",
        "--eval-every",
        "0",
        "--checkpoint-every",
        "0",
        "--hidden",
        "32",
        "--layers",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and len(_actor_pids(proc.pid)) < 2:
        time.sleep(0.5)
    time.sleep(4)  # let the actors play a few chunks
    pids = _actor_pids(proc.pid)
    assert pids, "no Ray actor found"
    os.kill(pids[0], signal.SIGKILL)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    assert re.search(r"worker \d died; started a new one", output) and "Traceback" not in output
    d = checkpoint.load(out / "latest.pt")
    assert d["counters"]["moves"] >= 40_000
    rows = (out / "metrics.jsonl").read_text()
    assert '"replaced_workers": 1' in rows
    # resume the same run in one process, then with one worker
    from click.testing import CliRunner

    from selfplay.cli import cli

    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", "44000"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", "48000", "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert checkpoint.load(out / "latest.pt")["counters"]["moves"] >= 48_000
    assert not ray.is_initialized()


def test_without_ray_workers_are_refused_with_one_line_naming_the_extra(tmp_path, monkeypatch):
    import builtins

    from click.testing import CliRunner

    from selfplay.cli import cli

    real = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    r = CliRunner().invoke(cli, ["train", "--workers", "2", "--out", str(tmp_path / "run")])
    assert r.exit_code == 2 and ".[distributed]" in r.output and not (tmp_path / "run").exists(), r.output
    for workers in ([], ["--workers", "auto"], ["--workers", "0"]):
        r = CliRunner().invoke(cli, ["train", "--ray-address", "auto", *workers, "--out", str(tmp_path / "run")])
        assert r.exit_code == 2 and "--workers" in r.output and not (tmp_path / "run").exists()


def test_device_cuda_without_a_gpu_is_one_line_and_cpu_trains(tmp_path):
    from click.testing import CliRunner

    from selfplay.cli import cli

    small = [
        "--steps",
        "600",
        "--num-envs",
        "16",
        "--learning-starts",
        "128",
        "--eval-every",
        "0",
        "--hidden",
        "16",
        "--layers",
        "1",
    ]
    if not torch.cuda.is_available():
        r = CliRunner().invoke(cli, ["train", "--device", "cuda", "--out", str(tmp_path / "a"), *small])
        assert r.exit_code == 2 and "no CUDA GPU" in r.output and not (tmp_path / "a").exists()
    r = CliRunner().invoke(cli, ["train", "--device", "cpu", "--out", str(tmp_path / "b"), *small])
    assert r.exit_code == 0, r.output


@pytest.mark.auto_threads
def test_auto_scale_follows_the_source_the_cpus_and_whether_ray_is_installed(monkeypatch):
    import importlib.util

    from selfplay.sources import SOURCES

    td, search = SOURCES["td"], SOURCES["search"]
    # plain mode: one process, the learner on the measured thread count
    assert distributed.auto_scale(td, cpus=64) == (0, distributed.AUTO_THREADS, None)
    assert distributed.auto_scale(td, cpus=1) == (0, 1, None)
    # MCTS mode: workers where they pay, the learner on one thread beside them
    workers, threads, note = distributed.auto_scale(search, cpus=64)
    assert workers == search.auto_workers >= 2 and threads == 1 and "--workers 0" in note
    assert distributed.auto_scale(search, cpus=2)[:2] == (2, 1)
    assert distributed.auto_scale(search, cpus=1)[:2] == (0, 1)
    # what the user gives stays as given
    assert distributed.auto_scale(search, workers=0, threads=3, cpus=64) == (0, 3, None)
    assert distributed.auto_scale(search, workers=0, cpus=64)[:2] == (0, distributed.AUTO_THREADS)
    assert distributed.auto_scale(td, workers=5, cpus=64)[:2] == (5, 1)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    workers, threads, note = distributed.auto_scale(search, cpus=64)
    assert (workers, threads) == (0, distributed.AUTO_THREADS) and ".[distributed]" in note


@pytest.mark.slow  # whole CLI runs on Ray, resumed: over a minute
def test_mcts_mode_by_default_trains_on_the_workers_auto_picks_and_stops_its_ray(tmp_path, monkeypatch):
    import importlib.util

    from click.testing import CliRunner

    from selfplay.cli import cli
    from selfplay.sources import SOURCES

    small = [
        "--mcts",
        "--steps",
        "3000",
        "--num-envs",
        "16",
        "--simulations",
        "4",
        "--iteration-episodes",
        "8",
        "--learning-starts",
        "128",
        "--eval-every",
        "0",
        "--hidden",
        "16",
        "--layers",
        "1",
    ]
    want = distributed.auto_scale(SOURCES["search"])[0]
    r = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "a"), *small])
    assert r.exit_code == 0, r.output
    assert (f"self-play in {want} Ray workers" in r.output) == bool(want), r.output
    assert not ray.is_initialized()
    rows = (tmp_path / "a" / "metrics.jsonl").read_text()
    assert (f'"workers": {want}' in rows) == bool(want)
    # without Ray installed, auto trains in one process and says how to get workers
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    r = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "b"), *small])
    assert r.exit_code == 0 and "Ray workers (" not in r.output and ".[distributed]" in r.output, r.output
    assert checkpoint.load(tmp_path / "b" / "latest.pt")["counters"]["moves"] >= 3000
    r = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "c"), "--workers", "two", *small])
    assert r.exit_code == 2 and "'two' is not 'auto'" in r.output and not (tmp_path / "c").exists()


@pytest.mark.auto_threads
def test_plain_mode_by_default_is_the_single_process_loop_without_importing_ray(tmp_path):
    # --workers auto in plain mode is 0 workers (workers do not pay there: docs/benchmarks.md, "Scaling"),
    # and --threads auto gives the learner the measured thread count instead
    code = (
        "import sys, torch; from click.testing import CliRunner; from selfplay.cli import cli; "
        f"r = CliRunner().invoke(cli, ['train', '--out', {str(tmp_path / 'run')!r}, '--steps', '600', "
        "'--num-envs', '16', '--learning-starts', '128', '--eval-every', '0', '--hidden', '16', '--layers', '1']); "
        "assert r.exit_code == 0, r.output; print(r.output.splitlines()[1]); "
        "print('ray' in sys.modules, torch.get_num_threads())"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=os.getcwd()),
    )
    assert r.returncode == 0, r.stderr
    threads = min(os.cpu_count() or 1, distributed.AUTO_THREADS)
    said, last = r.stdout.strip().splitlines()[-2:]
    assert last == f"False {threads}" and f"learner on cpu, {threads} torch thread{'s' * (threads != 1)}" in said, (
        r.stdout
    )


def _games(db):
    import sqlite3

    return sorted(sqlite3.connect(db).execute("SELECT a, b, opening, a_first, round, moves, score_a FROM games"))


def _same_games_in_process_and_on_two_workers(tmp_path, args: list[str], games: int) -> None:
    """The tournament ``args`` stores the same ``games`` games in this process and on 2 Ray
    workers, and leaves no Ray running."""
    from click.testing import CliRunner

    from selfplay.cli import cli

    if "--games" not in args:
        args = args + ["--games", str(games), "--json"]
    r0 = CliRunner().invoke(cli, args + ["--db", str(tmp_path / "local.db")])
    assert r0.exit_code == 0, r0.output
    r2 = CliRunner().invoke(cli, args + ["--db", str(tmp_path / "ray.db"), "--workers", "2"])
    assert r2.exit_code == 0, r2.output
    assert not ray.is_initialized()
    local, on_ray = _games(tmp_path / "local.db"), _games(tmp_path / "ray.db")
    assert len(local) == games and local == on_ray


def test_a_tournament_on_ray_workers_stores_the_same_games_as_in_process_and_stops_its_ray(tmp_path):
    """Chunks are seeded, so where they run changes nothing: every game (opening, seats,
    moves, score) is the same with 2 Ray workers as in this process, each stored once."""
    from click.testing import CliRunner

    from selfplay.cli import cli

    args = ["tournament", "--game", "tic_tac_toe", "random", "mcts:30", "minimax", "--games", "12", "--json"]
    _same_games_in_process_and_on_two_workers(tmp_path, args, 3 * 12)
    r = CliRunner().invoke(cli, args + ["--db", str(tmp_path / "x.db"), "--ray-address", "auto"])
    assert r.exit_code != 0 and "--ray-address needs --workers" in r.output


def test_gtp_engines_play_on_ray_workers_each_chunk_with_its_own_engine(tmp_path):
    """Several engine processes at once with --workers: the same games as in this process."""
    from pathlib import Path

    fake = Path(__file__).with_name("fake_gtp.py")
    engine = f"gtp:{sys.executable} {fake} hex_5x5 legal"
    _same_games_in_process_and_on_two_workers(tmp_path, ["tournament", "--game", "hex_5x5", engine, "random"], 16)


def test_a_tournament_worker_killed_mid_chunk_is_retried_and_every_game_is_stored_once(tmp_path):
    import threading

    from selfplay import players, tournament

    plist = players.resolve(["random", "mcts:400", "mcts:800"], "connect_four", at_least=2)
    store = tournament.Store(tmp_path / "t.db")
    killed = []

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            out = []  # this test's own Ray workers only (another run may have its own on the machine)
            for pid in distributed._descendants(os.getpid()):
                with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline") as f:
                    if "ray::play_chunk" in f.read():
                        out.append(pid)
            # Ray titles a worker ray::play_chunk only while it runs that task: it is mid-chunk
            for pid in out[:1]:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass  # that chunk ended first (a quiet machine is quick): take the next one
            time.sleep(0.05)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    played = tournament.run("connect_four", plist, 16, store, workers=2, seed=1, chunk_size=4)
    t.join(timeout=1)
    assert killed, "no Ray worker was killed"
    assert played == 3 * 16 and not ray.is_initialized()
    rows = _games(tmp_path / "t.db")
    keys = [r[:5] for r in rows]
    assert len(rows) == 3 * 16 and len(set(keys)) == len(keys)


def test_eval_on_ray_workers_plays_the_same_games_as_in_process_and_stops_its_ray(tmp_path):
    """An eval's matches go out in seeded chunks, so 2 Ray workers report exactly what this
    process does (an untrained checkpoint: its games against random vary)."""
    import json

    from click.testing import CliRunner

    from selfplay.cli import cli

    learner = dqn.Learner(_cfg())
    checkpoint.save_learner(learner, tmp_path / "weak.pt")
    args = ["eval", str(tmp_path / "weak.pt"), "--opponents", "random,mcts:20", "--games", "24", "--json"]
    r0 = CliRunner().invoke(cli, args)
    assert r0.exit_code == 0, r0.output
    r2 = CliRunner().invoke(cli, args + ["--workers", "2"])
    assert r2.exit_code == 0, r2.output
    assert not ray.is_initialized()
    local, on_ray = json.loads(r0.output)["matches"], json.loads(r2.output)["matches"]
    assert [m["games"] for m in local] == [48, 48] and local == on_ray
    assert 0 < local[0]["score"] < 1  # games that vary: the same report is no accident
    for extra, says in (
        (["--ray-address", "auto"], "--ray-address needs --workers"),
        (["--workers", "2", "--move-time", "0.01"], "--move-time plays in this process only"),
    ):
        r = CliRunner().invoke(cli, args + extra)
        assert r.exit_code == 2 and says in r.output and not ray.is_initialized(), r.output


def _tree(root: int) -> dict[int, int]:
    return distributed._descendants(root)


@pytest.mark.parametrize(
    "victim",
    [
        pytest.param("raylet", marks=pytest.mark.slow),
        pytest.param("gcs_server", marks=pytest.mark.slow),
        pytest.param("DashboardAgent", marks=pytest.mark.slow),
    ],
)
def test_a_run_outlives_the_death_of_rays_own_processes_saves_and_leaves_none_behind(tmp_path, victim):
    """kill -9 of a Ray system process mid-run: the run saves what the learner holds, says
    in one line what happened and how to resume, exits 1, and no process of its Ray stays."""
    out = tmp_path / "run"
    # Ray gives a lost GCS this long to come back before its driver exits (60 s by default)
    env = dict(os.environ, PYTHONPATH=os.getcwd(), RAY_gcs_rpc_server_reconnect_timeout_s="10")
    cmd = [
        sys.executable,
        "-m",
        "selfplay",
        "train",
        "--game",
        "tic_tac_toe",
        "--out",
        str(out),
        "--workers",
        "2",
        "--steps",
        "100000000",
        "--eval-every",
        "0",
        "--checkpoint-every",
        "0",
        "--hidden",
        "32",
        "--layers",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not (out / "metrics.jsonl").exists():
            time.sleep(0.5)  # the first metrics row: the actors are playing and the learner learning
        assert (out / "metrics.jsonl").exists(), "the run never started training"
        tree = _tree(proc.pid)
        targets = [pid for pid in tree if victim in open(f"/proc/{pid}/cmdline").read()]
        assert targets, f"no {victim} under the run"
        os.kill(targets[0], signal.SIGKILL)
        output, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, output
    errors = [line for line in output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "Ray stopped under this run" in errors[0], output
    assert f"selfplay train --resume {out}" in errors[0] and "Traceback" not in output
    assert "state-dump" not in output, "Ray's own log dump stays in its log file"
    moves = checkpoint.load(out / "latest.pt")["counters"]["moves"]
    assert moves > 0
    time.sleep(1)
    alive = distributed._descendants(1)
    left = [pid for pid, start in tree.items() if alive.get(pid) == start]
    assert not left, f"processes of the run's Ray still running: {left}"
    from click.testing import CliRunner

    from selfplay.cli import cli

    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", str(moves + 512), "--workers", "0"])
    assert r.exit_code == 0, r.output


def test_no_signal_handler_of_rays_outlives_the_run_and_a_sigterm_ends_a_test_run_at_once(tmp_path):
    from pathlib import Path

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with distributed.session(1):
        assert ray.is_initialized()
    assert {s: signal.getsignal(s) for s in before} == before
    # a test run that started Ray in its own process: SIGTERM during a later test ends it
    # (Ray leaves its Python handler registered after shutdown; code that saves and puts
    # back the SIGTERM handler, as a training run does, makes it live: SystemExit in a test)
    (tmp_path / "test_late.py").write_text(
        "import signal, time, ray\n"
        "def test_ray():\n"
        "    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)\n"
        "    ray.shutdown()\n"
        "def test_long():\n"
        "    signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGTERM))\n"
        "    open('started', 'w').close()\n"
        "    time.sleep(600)\n"
        "def test_after():\n"
        "    pass\n"
    )
    conftest = Path(__file__).with_name("conftest.py")
    (tmp_path / "conftest.py").write_text(conftest.read_text())
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not (tmp_path / "started").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert (tmp_path / "started").exists()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    # stopped at once, reported as an interruption (not a failure of the test it hit), nothing after it run
    assert proc.returncode == 2, out
    assert "SIGTERM: the test run stops here" in out and "SystemExit" not in out and "1 passed" in out, out
