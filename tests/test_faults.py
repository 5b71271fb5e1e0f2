"""Faults of the kinds a user meets: two runs in one folder, files that are not regular
files, odd names, signals during long loops, strict JSON, and resumed tournaments."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from selfplay import profiles, runner
from selfplay import tournament as T
from selfplay.cli import cli

ROOT = Path(__file__).resolve().parent.parent
TTT = ROOT / "checkpoints" / "tic_tac_toe.pt"
SMALL = [
    "--game",
    "tic_tac_toe",
    "--num-envs",
    "16",
    "--learning-starts",
    "128",
    "--hidden",
    "16",
    "--layers",
    "1",
    "--eval-games",
    "4",
]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail the test instead of hanging it (a read that waits on a pipe forever)."""

    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error")]


def _start_training(out: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "selfplay",
        "train",
        "--out",
        str(out),
        *SMALL,
        "--steps",
        "100000000",
        "--eval-every",
        "0",
        "--checkpoint-every",
        "2000",
        "--workers",
        "0",
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)


def _wait_for(cond, seconds: float, what: str) -> None:
    t0 = time.time()
    while not cond():
        if time.time() - t0 > seconds:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.2)


# ------------------------------------------------------------------ one run per folder
def test_a_run_folder_takes_one_run_at_a_time_and_a_killed_run_does_not_block_the_next(tmp_path):
    out = tmp_path / "run"
    first = _start_training(out)
    try:
        _wait_for(lambda: any(out.glob("step_*.pt")), 180, "the first run's first checkpoint")
        metrics_before = (out / "metrics.jsonl").read_bytes() if (out / "metrics.jsonl").exists() else b""
        for args in (
            ["--out", str(out), *SMALL, "--steps", "2000"],
            ["--out", str(out), "--force", *SMALL],
            ["--resume", str(out)],
        ):
            r = CliRunner().invoke(cli, ["train", *args])
            assert r.exit_code == 2, r.output
            err = _errors(r.output)
            assert len(err) == 1 and f"another training run (pid {first.pid})" in err[0], r.output
        assert first.poll() is None, "the first run goes on"
        metrics_after = (out / "metrics.jsonl").read_bytes() if (out / "metrics.jsonl").exists() else b""
        assert metrics_after.startswith(metrics_before), "the refused runs wrote nothing into the first's metrics"
    finally:
        first.kill()
        first.wait()
    # the killed run's lock went with it: the folder resumes
    moves = max(int(p.stem.split("_")[1]) for p in out.glob("step_*.pt"))
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", str(moves + 256)])
    assert r.exit_code == 0, r.output
    assert not (out / runner.LOCK).exists()


def test_a_folder_is_claimed_once_and_passed_on_and_a_failed_start_leaves_no_folder(tmp_path):
    out = tmp_path / "a" / "b" / "run"
    with runner.claim(out) as held:
        assert held.path == out and (out / runner.LOCK).exists()
        with pytest.raises(runner.RunError, match="already holds this run folder"):
            with runner.claim(tmp_path / "a" / "b" / ".." / "b" / "run"):  # the same folder, spelled otherwise
                pass
        assert (out / runner.LOCK).exists(), "the refused claim let go of nothing"
        learner = runner.prepare(profiles.default_config("tic_tac_toe"), held)  # no second claim
        assert learner.cfg.game == "tic_tac_toe"
    assert not (tmp_path / "a").exists(), "the folders this claim made, empty, are gone"
    with pytest.raises(ZeroDivisionError), runner.claim(out):
        raise ZeroDivisionError
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize(
    "address,says", [("127.0.0.1:1", "no Ray cluster answers there"), ("no-port", "expected auto, HOST:PORT")]
)
def test_a_ray_address_where_no_ray_is_gets_one_line_at_once_and_leaves_nothing(tmp_path, address, says):
    pytest.importorskip("ray")
    t0 = time.time()
    r = CliRunner().invoke(cli, ["train", "--workers", "1", "--ray-address", address, "--out", str(tmp_path / "run")])
    assert r.exit_code == 2, r.output
    err = _errors(r.output)
    assert len(err) == 1 and "--ray-address" in err[0] and says in err[0], r.output
    assert time.time() - t0 < 60
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # waits out the bounded start-up wait
def test_a_port_that_listens_but_is_no_ray_fails_within_the_start_wait_and_leaves_nothing(tmp_path, monkeypatch):
    """Something answers at the address, but it is not Ray: the run gives up within its
    bounded start-up wait, in one line, and the run folder it made is gone again."""
    pytest.importorskip("ray")
    from selfplay import distributed

    monkeypatch.setattr(distributed, "START_TIMEOUT", 20.0)
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        port = srv.getsockname()[1]
        t0 = time.time()
        r = CliRunner().invoke(
            cli,
            [
                "train",
                *SMALL,
                "--steps",
                "2000",
                "--workers",
                "1",
                "--ray-address",
                f"127.0.0.1:{port}",
                "--out",
                str(tmp_path / "run"),
            ],
        )
    assert r.exit_code == 1, r.output
    err = _errors(r.output)
    assert len(err) == 1 and ("Ray" in err[0]), r.output
    assert "Traceback" not in r.output
    assert time.time() - t0 < 120
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ files that are not files
@pytest.fixture
def odd_files(tmp_path):
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock.pt"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    yield {"fifo": fifo, "socket": sock_path, "device": Path("/dev/null")}
    sock.close()


def test_a_checkpoint_that_is_not_a_regular_file_is_refused_at_once_everywhere(odd_files, tmp_path):
    for kind, path in odd_files.items():
        for args in (
            ["play", "--game", "tic_tac_toe", "--checkpoint", str(path)],
            ["eval", str(path), "--games", "1"],
            ["tournament", "--game", "tic_tac_toe", str(path), "random", "--db", str(tmp_path / "t.db")],
            ["match", "--game", "tic_tac_toe", str(path), "random", "--games", "2"],
        ):
            with deadline(60):
                r = CliRunner().invoke(cli, args, input="")
            assert r.exit_code == 2, (kind, args, r.output)
            err = _errors(r.output)
            assert len(err) == 1 and ("not a regular file" in err[0] or "not a file" in err[0]), (kind, r.output)


def test_a_resume_whose_latest_checkpoint_or_metrics_is_a_pipe_is_refused_at_once(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["train", "--out", str(out), *SMALL, "--steps", "600", "--eval-every", "0"])
    assert r.exit_code == 0, r.output
    for p in out.glob("step_*.pt"):
        p.unlink()
    latest = (out / "latest.pt").read_bytes()
    (out / "latest.pt").unlink()
    os.mkfifo(out / "latest.pt")
    with deadline(60):
        r = CliRunner().invoke(cli, ["train", "--resume", str(out)])
    assert r.exit_code == 2 and len(_errors(r.output)) == 1 and "not a regular file" in r.output, r.output
    (out / "latest.pt").unlink()
    (out / "latest.pt").write_bytes(latest)
    (out / "metrics.jsonl").unlink()
    os.mkfifo(out / "metrics.jsonl")
    with deadline(60):
        r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", "700"])
    assert r.exit_code == 2 and len(_errors(r.output)) == 1 and "not a regular file" in r.output, r.output


def test_a_checkpoint_whose_name_holds_an_at_sign_is_a_checkpoint(tmp_path):
    for name in ("a@b.pt", "x@search=3.pt"):
        shutil.copy(TTT, tmp_path / name)
        r = CliRunner().invoke(cli, ["match", "--game", "tic_tac_toe", str(tmp_path / name), "random", "--games", "2"])
        assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        cli, ["match", "--game", "tic_tac_toe", f"{tmp_path / 'a@b.pt'}@search=2", "random", "--games", "2"]
    )
    assert r.exit_code == 0 and "a@b@search=2" in r.output, r.output


# ------------------------------------------------------------------ stop means stop
def test_sigterm_during_a_long_end_of_run_evaluation_saves_and_stops_within_seconds(tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "selfplay",
        "train",
        "--game",
        "openspiel:hex(board_size=11)",
        "--out",
        str(out),
        "--steps",
        "64",
        "--num-envs",
        "32",
        "--learning-starts",
        "0",
        "--hidden",
        "16",
        "--layers",
        "1",
        "--eval-every",
        "0",
        "--eval-games",
        "20000",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    _wait_for(lambda: (out / runner.LOCK).exists(), 180, "the run to start")
    time.sleep(8)  # 64 moves take well under this: the run is deep in its 40,000-game evaluation
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 143, output
    assert time.time() - t0 < 30
    assert "SIGTERM: saved" in output and "Traceback" not in output
    from selfplay import checkpoint

    assert checkpoint.load(out / "latest.pt")["counters"]["moves"] == 64  # the signal came in the evaluation


def test_training_from_python_gives_back_the_signal_handlers_it_found(tmp_path):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    r = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "run"), *SMALL, "--steps", "300"])
    assert r.exit_code == 0, r.output
    assert {s: signal.getsignal(s) for s in before} == before


def test_metrics_are_strict_json_with_null_for_a_loss_not_yet_computed(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "LOG_SECONDS", 0.0)  # a row after every move, from before the first step
    r = CliRunner().invoke(
        cli, ["train", "--out", str(tmp_path / "run"), *SMALL, "--steps", "400", "--learning-starts", "200"]
    )
    assert r.exit_code == 0, r.output

    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    rows = [json.loads(line, parse_constant=refuse) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    early = [row for row in rows if row["kind"] == "train" and row["updates"] == 0]
    assert early and all(row["loss"] is None for row in early)
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 1000


# ------------------------------------------------------------------ reproducible tournaments
def _stored(db):
    import sqlite3

    return sorted(sqlite3.connect(db).execute("SELECT a, b, opening, a_first, round, moves, score_a FROM games"))


def test_a_tournament_killed_and_resumed_stores_exactly_the_games_of_an_uninterrupted_one(tmp_path):
    from selfplay import players

    plist = players.resolve(["random", "mcts:12", "mcts:25"], "tic_tac_toe", at_least=2)  # their games vary with seeds
    whole = T.Store(tmp_path / "whole.db")
    T.run("tic_tac_toe", plist, 20, whole, seed=5)
    cut = T.Store(tmp_path / "cut.db")
    calls = []

    def stop_after_two_chunks(done, total):
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        T.run("tic_tac_toe", plist, 20, cut, seed=5, on_progress=stop_after_two_chunks)
    assert 0 < len(_stored(tmp_path / "cut.db")) < 60
    T.run("tic_tac_toe", plist, 20, cut, seed=5)
    assert _stored(tmp_path / "cut.db") == _stored(tmp_path / "whole.db")
    assert len(_stored(tmp_path / "whole.db")) == 3 * 20
    # the games differ with the seed, so the equality above says something
    other = T.Store(tmp_path / "other.db")
    T.run("tic_tac_toe", plist, 20, other, seed=6)
    assert _stored(tmp_path / "other.db") != _stored(tmp_path / "whole.db")


# ------------------------------------------------------------------ small frictions
def test_version_games_and_an_empty_opponent_list():
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and r.output.startswith("selfplay ")
    r = CliRunner().invoke(cli, ["games"])
    row = next(line for line in r.output.splitlines() if line.startswith("connect_four "))
    assert row.endswith("checkpoints/connect_four.pt")
    assert next(line for line in r.output.splitlines() if line.startswith("openspiel:othello")).endswith(" -")
    r = CliRunner().invoke(cli, ["eval", str(TTT), "--opponents", ",,,"])
    assert r.exit_code == 2 and "names no opponent" in r.output


def test_opening_plies_that_end_every_game_are_refused_before_the_results_file_is_made(tmp_path):
    db = tmp_path / "t.db"
    r = CliRunner().invoke(
        cli, ["tournament", "--game", "tic_tac_toe", "random", "minimax", "--opening-plies", "20", "--db", str(db)]
    )
    assert r.exit_code == 2 and "--opening-plies" in r.output and not db.exists(), r.output


def test_a_signal_during_a_long_search_gives_up_that_move_and_the_resume_is_the_uninterrupted_run(
    tmp_path, monkeypatch
):
    """A search of hundreds of simulations a move is cut at the next wave when a signal
    comes; the move is given up whole (nothing stored, the random state wound back), so
    the resumed run is bit for bit the run that was not stopped."""
    import torch

    from selfplay import dqn, mcts, profiles
    from selfplay.config import NetConfig

    cfg = profiles.default_config(
        "connect_four",
        mcts=True,
        num_envs=4,
        simulations=400,
        steps=24,
        iteration_episodes=1,
        iteration_updates=2,
        learning_starts=0,
        eval_every=0,
        checkpoint_every=0,
        seed=2,
        net=NetConfig(kind="mlp", hidden=16, layers=1),
    )
    straight = dqn.Learner(cfg)
    runner.run(straight, tmp_path / "a")
    real, cut, calls = mcts.search, [], []

    def search(*a, **k):
        calls.append(1)
        if len(calls) == 3:  # the signal comes as this search begins: it is cut at its first wave
            os.kill(os.getpid(), signal.SIGINT)
        try:
            return real(*a, **k)
        except Exception as e:
            cut.append(type(e).__name__)
            raise

    monkeypatch.setattr(mcts, "search", search)
    first = dqn.Learner(cfg)
    with pytest.raises(runner.Interrupted):
        runner.run(first, tmp_path / "b", options=runner.RunOptions(save_replay=True))
    assert cut == ["Stopped"], "the signal landed in a search, which was given up"
    resumed = runner.prepare(None, tmp_path / "b", resume=True)
    runner.run(resumed, tmp_path / "b")
    assert (resumed.moves, resumed.updates) == (straight.moves, straight.updates)
    for x, y in zip(straight.online.state_dict().values(), resumed.online.state_dict().values()):
        assert torch.equal(x, y)


def test_a_resume_of_a_run_saved_with_its_replay_memory_keeps_saving_it(tmp_path):
    from selfplay import checkpoint

    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["train", "--out", str(out), *SMALL, "--steps", "600", "--save-replay"])
    assert r.exit_code == 0 and "replay" in checkpoint.load(out / "latest.pt"), r.output
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", "800"])  # --save-replay not repeated
    assert r.exit_code == 0, r.output
    d = checkpoint.load(out / "latest.pt")
    assert d["counters"]["moves"] >= 800 and "replay" in d


def _resume_says(*args) -> list[str]:
    """The lines a successful resume prints about the replay memory."""
    r = CliRunner().invoke(cli, ["train", *args])
    assert r.exit_code == 0, r.output
    return [line for line in r.output.splitlines() if "replay memory" in line]


def test_a_resume_says_whether_the_replay_memory_came_back(tmp_path):
    """Not silent: a resume from a file without the memory (latest.pt lost, a step file, a run
    saved without --save-replay) is not the exact continuation, and says so in one line."""
    from selfplay import checkpoint

    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["train", "--out", str(out), *SMALL, "--steps", "600", "--save-replay"])
    assert r.exit_code == 0, r.output
    held = checkpoint.load(out / "latest.pt")["replay"]
    said = _resume_says("--resume", str(out), "--steps", "800")
    assert said == [
        f"replay memory restored with the checkpoint (replay {int(held['size']):,} positions): an exact resume"
    ]
    (out / "latest.pt").unlink()  # lost: the newest step file has no memory
    said = _resume_says("--resume", str(out), "--steps", "900", "--save-replay")
    assert len(said) == 1 and said[0].startswith("no replay memory in step_") and "not exact" in said[0], said
    assert "--save-replay keeps it" not in said[0]  # asked for already
    plain = tmp_path / "plain"
    assert CliRunner().invoke(cli, ["train", "--out", str(plain), *SMALL, "--steps", "600"]).exit_code == 0
    said = _resume_says("--resume", str(plain), "--steps", "800")
    assert said == [
        "no replay memory in latest.pt: the memory refills from self-play, so this resume is not exact "
        "(--save-replay keeps it from the next save on)"
    ]


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("DefaultCPUAllocator: can't allocate memory")])
def test_running_out_of_memory_mid_run_is_one_line_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, error):
    from selfplay import dqn

    out = tmp_path / "run"
    real = dqn.Learner.update

    def update(self):
        if self.moves > 1200:
            raise error
        return real(self)

    monkeypatch.setattr(dqn.Learner, "update", update)
    r = CliRunner().invoke(cli, ["train", "--out", str(out), *SMALL, "--steps", "3000", "--checkpoint-every", "600"])
    assert r.exit_code == 1, r.output
    err = _errors(r.output)
    assert len(err) == 1 and "out of memory" in err[0] and "Traceback" not in r.output, r.output
    monkeypatch.setattr(dqn.Learner, "update", real)
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", "3000"])
    assert r.exit_code == 0, r.output


# ------------------------------------------------------------------ every writer refuses what it did not make
def _ship(*args):
    script = Path(__file__).resolve().parents[1] / "scripts" / "ship_checkpoint.py"
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_ship_checkpoint_never_writes_over_its_source_or_a_file_it_did_not_make(tmp_path):
    import shutil

    ckpt = Path(__file__).resolve().parents[1] / "checkpoints" / "tic_tac_toe.pt"
    src = tmp_path / "src.pt"
    shutil.copy(ckpt, src)
    keep = tmp_path / "keep.pt"
    keep.write_bytes(b"someone else's file")
    (tmp_path / "sub").mkdir()
    cases = [
        (src, "is the file being read"),
        (tmp_path / "." / "src.pt", "is the file being read"),
        (keep, "the file is there already; --force overwrites it"),
        (tmp_path / "sub", "is a folder"),
        (tmp_path / "nowhere" / "x.pt", "does not exist"),
        ("/proc/foo.pt", "DST /proc/foo.pt"),
    ]
    for dst, says in cases:
        r = _ship(src, dst)
        lines = r.stderr.strip().splitlines()
        assert r.returncode != 0 and len(lines) == 1 and says in lines[0], (dst, r.stderr)
        assert "Traceback" not in r.stderr
    assert src.read_bytes() == ckpt.read_bytes() and keep.read_bytes() == b"someone else's file"
    assert _ship(src, src, "--force").returncode != 0  # --force never writes onto the source
    r = _ship(src, keep, "--force")
    assert r.returncode == 0 and keep.read_bytes() != b"someone else's file"
    assert _ship(src, tmp_path / "new.pt").returncode == 0


def test_eval_keeps_its_finished_games_through_a_ctrl_c_and_a_rerun_plays_only_the_rest(tmp_path):
    """Every user runs eval: a Ctrl-C loses only the games in flight."""
    import sqlite3

    ckpt = str(Path(__file__).resolve().parents[1] / "checkpoints" / "openspiel_hex_board_size_5.pt")
    db = tmp_path / "eval.db"
    # MCTS 1,000: the games left after the first stored chunk take seconds, so the Ctrl-C lands
    # while some are still to play, however loaded the machine
    cmd = [sys.executable, "-m", "selfplay", "eval", ckpt, "--games", "48", "--opponents", "mcts:1000", "--json"]
    cmd += ["--db", str(db)]
    # a test run started in the background (``cmd &``) ignores SIGINT, and its children would
    # inherit that: the eval gets Ctrl-C's default back, as in a terminal
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def stored() -> int:
        # closed at once: an open reader would hold a lock the eval's writer waits on
        try:
            with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
                return con.execute("SELECT COUNT(*) FROM games").fetchall()[0][0]
        except sqlite3.OperationalError as e:
            if "no such table" in str(e) or "unable to open" in str(e):
                return 0  # the eval has not made its store yet
            raise

    deadline = time.monotonic() + 300
    while stored() == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the eval ended before its first game was seen stored"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    kept = stored()
    assert proc.returncode == 130 and f"the finished games are kept in {db}" in err, err
    assert 0 < kept < 96
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    match = json.loads(r.stdout)["matches"][0]
    assert match["games"] == 96 and stored() == 96
    again = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert json.loads(again.stdout)["matches"][0] == match  # all stored: nothing played, the same report


@pytest.mark.parametrize(
    "script, args",
    [
        ("ship_checkpoint.py", ["{ckpt}", "{there}"]),
        ("c4_capacity.py", ["{ckpt}", "--out", "{there}"]),
        ("make_c4_positions.py", ["--agent", "{ckpt}", "--out", "{there}"]),
    ],
)
def test_every_script_that_writes_a_file_refuses_one_it_did_not_make_before_any_work(tmp_path, script, args):
    root = Path(__file__).resolve().parents[1]
    there = tmp_path / "someone_elses.file"
    there.write_bytes(b"keep me")
    fill = {"ckpt": str(root / "checkpoints" / "connect_four.pt"), "there": str(there)}
    cmd = [sys.executable, str(root / "scripts" / script), *(a.format(**fill) for a in args)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0 and len(lines) == 1 and "the file is there already; --force overwrites it" in lines[0]
    assert there.read_bytes() == b"keep me"
