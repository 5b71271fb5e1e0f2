"""The command line through click's CliRunner: train, resume, refusals, games list."""

import json
import signal

import pytest
import torch
from click.testing import CliRunner

from selfplay.cli import cli

SMALL = [
    "--steps",
    "3000",
    "--num-envs",
    "16",
    "--learning-starts",
    "256",
    "--eval-every",
    "1500",
    "--eval-games",
    "10",
    "--checkpoint-every",
    "1500",
    "--hidden",
    "32",
    "--layers",
    "1",
]


def test_games_lists_registered_games_with_action_counts():
    r = CliRunner().invoke(cli, ["games"])
    assert r.exit_code == 0
    lines = {line.split()[0]: line.split()[1] for line in r.output.splitlines()[1:] if line and line[0] not in " A"}
    assert lines["tic_tac_toe"] == "9" and lines["connect_four"] == "7" and lines["openspiel:hex(board_size=5)"] == "25"


def test_short_train_run_writes_metrics_checkpoints_and_curve_then_resumes(tmp_path):
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["train", "--game", "tic_tac_toe", "--out", str(out), *SMALL])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # the evaluations come on schedule; training rows come every few seconds, so how many
    # there are depends on the machine's speed, not on the run
    evals = [row for row in rows if row["kind"] == "eval"]
    assert [row["moves"] for row in evals] == [1504, 3008]
    assert all(row["kind"] == "train" for row in rows if row not in evals)
    assert {"vs_random", "vs_frozen", "exact"} <= evals[-1].keys()
    assert evals[-1]["exact"]["positions"] == 4520
    assert (out / "latest.pt").exists() and (out / "learning_curve.png").stat().st_size > 1000
    assert sorted(p.name for p in out.glob("step_*.pt")) == ["step_1504.pt", "step_3008.pt"]
    # the same folder again without --resume is refused, nothing overwritten
    before = (out / "latest.pt").read_bytes()
    r = CliRunner().invoke(cli, ["train", "--game", "tic_tac_toe", "--out", str(out), *SMALL])
    assert r.exit_code == 2 and "--resume" in r.output
    assert (out / "latest.pt").read_bytes() == before
    # resume continues to a larger step count from the saved counters
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", "4500"])
    assert r.exit_code == 0, r.output
    d = torch.load(out / "latest.pt", weights_only=True)
    assert d["counters"]["moves"] == 4512
    # a lower learning rate for fine-tuning: the optimizer uses it and the run's config keeps it
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", "6000", "--lr", "2.5e-4"])
    assert r.exit_code == 0, r.output
    d = torch.load(out / "latest.pt", weights_only=True)
    assert json.loads(d["train_config"])["lr"] == 2.5e-4
    assert [g["lr"] for g in d["optimizer"]["param_groups"]] == [2.5e-4]
    # other settings stay fixed on resume, with a one-line refusal
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--lr-final", "1e-4"])
    assert r.exit_code == 2 and "only --steps and --lr may change" in r.output
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--gamma", "0.9"])
    assert r.exit_code == 2 and "only --steps and --lr may change" in r.output


@pytest.mark.parametrize(
    "args,msg",
    [
        (["train", "--game", "chess"], "unknown game"),
        (["train", "--game", "openspiel:kuhn_poker"], "chance"),
        (["train", "--gamma", "3"], "gamma"),
        (["train", "--net-kind", "transformer"], "transformer"),
        (["train", "--game", "othello", "--preset", "fast"], "preset 'fast' is not one of othello's presets (strong)"),
        (["train", "--game", "tic_tac_toe", "--preset", "strong"], "tic_tac_toe's presets (none)"),
        (["train", "--lr-final", "1e-4"], "--lr-final (0.0001) needs --lr-final-at"),
        (["train", "--lr-final-at", "100"], "--lr-final-at (100) needs --lr-final"),
        (["play", "--game", "tic_tac_toe", "--checkpoint", "missing.pt"], "no such file"),
        (["play", "--game", "connect_four", "--checkpoint", "checkpoints/tic_tac_toe.pt"], "not connect_four"),
        (["tournament", "--game", "connect_four", "checkpoints/tic_tac_toe.pt", "random"], "not connect_four"),
        (["play", "--game", "tic_tac_toe", "--solve"], "--solve proves inside the agent's search"),
        (["gtp", "--checkpoint", "checkpoints/tic_tac_toe.pt", "--solve"], "--solve proves inside"),
        (["eval", "checkpoints/tic_tac_toe.pt", "--solve"], "--solve proves inside"),
    ],
)
def test_bad_options_get_a_one_line_error(args, msg, tmp_path, monkeypatch):
    import os

    root = os.getcwd()
    monkeypatch.chdir(tmp_path)
    args = [a.replace("checkpoints/", f"{root}/checkpoints/") for a in args]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2
    err = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert len(err) == 1 and msg in err[0]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "signals,code", [((signal.SIGINT,), 130), ((signal.SIGTERM,), 143), ((signal.SIGINT, signal.SIGINT), 130)]
)
def test_a_signal_during_training_saves_one_checkpoint_and_exits_cleanly(tmp_path, signals, code):
    import os
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "selfplay.cli",
            "train",
            "--game",
            "tic_tac_toe",
            "--out",
            str(out),
            "--steps",
            "10000000",
            "--eval-every",
            "0",
            "--checkpoint-every",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    deadline = time.time() + 180
    while time.time() < deadline and not (out / "metrics.jsonl").exists():
        time.sleep(0.2)  # the first training row: it has played and learned a while, however loaded the machine
    for s in signals:
        proc.send_signal(s)
        time.sleep(0.05)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, output
    assert output.count(": saved ") == 1 and "Traceback" not in output and "Aborted" not in output
    d = torch.load(out / "latest.pt", weights_only=True)
    assert 0 < d["counters"]["moves"] < 10_000_000
    r = CliRunner().invoke(cli, ["train", "--resume", str(out), "--steps", str(d["counters"]["moves"] + 64)])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("delay", [0.8, 1.5, 2.5])
def test_ctrl_c_during_start_up_exits_cleanly_without_a_traceback(tmp_path, delay):
    import os
    import subprocess
    import sys
    import time

    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "selfplay",
            "train",
            "--game",
            "connect_four",
            "--out",
            str(tmp_path / "run"),
            "--steps",
            "10000000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as at a terminal, if pytest runs as `&`
    )
    t0 = time.time()
    # the interpreter's own bootstrap comes first: a SIGINT before Python has installed its
    # handler kills any program by the OS default (seen once under load at 0.8 s); the
    # start-up under test is ours, from that handler on
    while not _catches_sigint(proc.pid) and proc.poll() is None and time.time() - t0 < 30:
        time.sleep(0.01)
    time.sleep(max(0.0, delay - (time.time() - t0)))
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "Traceback" not in output and "Aborted" not in output and "interrupted" in output


def test_a_ctrl_c_while_interrupts_are_held_arrives_just_after_the_block():
    """The start-up's imports run with SIGINT held (a KeyboardInterrupt inside a compiled
    library's import can abort the process): the signal must wait for the block, not be
    lost. In a fresh process, as at start-up."""
    import subprocess
    import sys

    script = """
import os, signal, sys, time
from selfplay.errors import interrupts_held
# as at a terminal: a test run started as a background job (`pytest &`) passes SIGINT ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
try:
    with interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)  # without the hold the interrupt comes here
        import torch
        print("block done", flush=True)
    print("after the block", flush=True)
except KeyboardInterrupt:
    print("interrupted", signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set()), flush=True)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.stdout.split("\n")[:2] == ["block done", "interrupted False"], r.stdout + r.stderr


def _catches_sigint(pid: int) -> bool:
    """Whether process ``pid`` has a SIGINT handler installed (Linux /proc; True elsewhere)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return True
    return bool(caught & (1 << (signal.SIGINT - 1)))


@pytest.mark.parametrize("game", ["othello", "hex_5x5"])
def test_the_native_othello_and_hex_engines_train_evaluate_rank_and_serve(tmp_path, game):
    """A short MCTS-mode run of each new engine, then eval against OpenSpiel's MCTS (its
    twin), a tournament with random and the engine as a GTP program: the commands a
    user of the game meets, on a real checkpoint of our own train."""
    import re
    import subprocess
    import sys

    out = tmp_path / game
    r = CliRunner().invoke(
        cli,
        ["train", "--game", game, "--mcts", "--workers", "0", "--out", str(out), "--steps", "3000", "--num-envs", "32"]
        + ["--iteration-episodes", "32", "--iteration-updates", "10", "--simulations", "4", "--eval-every", "0"]
        + ["--eval-games", "4", "--hidden", "32", "--layers", "1", "--learning-starts", "64", "--ladder-games", "1"],
    )
    assert r.exit_code == 0, r.output
    # the evaluation ladder: OpenSpiel's MCTS at two budgets, and the game's engine where it
    # is installed (GRhino is, by scripts/install_engines; Wolve only where it is on the PATH)
    from selfplay.gtp_player import find_program

    ladder = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if '"eval"' in x][-1]["ladder"]
    engine = {"othello": "gtp:gtp-rhino -l 1", "hex_5x5": "gtp:wolve --quiet; param_wolve max_depth 1"}[game]
    there = game == "othello" or find_program("wolve") is not None
    assert list(ladder["rungs"]) == ["random", "mcts:100", "mcts:1000"] + [engine] * there
    assert ladder["anchor"] == "mcts:1000" and (there or f"left out: {engine} (not installed)" in r.output)
    assert all(sum(g[k] for k in ("wins", "draws", "losses")) == 2 for g in ladder["rungs"].values())
    ckpt = str(out / "latest.pt")
    r = CliRunner().invoke(cli, ["eval", ckpt, "--opponents", "random,mcts:20", "--games", "4", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["game"] == game and [m["opponent"] for m in report["matches"]] == ["random", "mcts:20"]
    assert all(m["games"] == 8 for m in report["matches"])
    db = tmp_path / "t.db"
    r = CliRunner().invoke(cli, ["tournament", ckpt, "random", "--games", "4", "--db", str(db), "--json"])
    assert r.exit_code == 0, r.output
    import sqlite3

    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from games").fetchone()[0] == 4
    gtp = subprocess.run(
        [sys.executable, "-m", "selfplay", "gtp", "--checkpoint", ckpt],
        input=f"boardsize {8 if game == 'othello' else 5}\ngenmove b\nquit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gtp.returncode == 0 and re.fullmatch(r"=\n\n= [a-h][1-8]\n\n=\n\n", gtp.stdout), gtp.stdout


def test_the_learning_rate_drops_at_its_minute_of_the_runs_clock_and_a_resume_lr_ends_the_schedule(tmp_path):
    """--lr-final from minute --lr-final-at of the run's own clock: a run that passes that
    minute trains on at the final rate (the optimizer saved with it says so); one that does
    not, at --lr; a resume with --lr sets the rate from there on and ends the schedule."""
    import json

    import torch

    def saved(out):
        d = torch.load(out / "latest.pt", weights_only=True)
        return json.loads(d["train_config"]), [g["lr"] for g in d["optimizer"]["param_groups"]]

    args = ["train", "--game", "tic_tac_toe", *SMALL, "--lr", "1e-3", "--lr-final", "2e-4"]
    # minute 0.001 is 0.06 s into the run: it is passed before the first gradient step
    r = CliRunner().invoke(cli, [*args, "--lr-final-at", "0.001", "--out", str(tmp_path / "early")])
    assert r.exit_code == 0, r.output
    assert "Adam's rate 0.001, then 0.0002 from minute 0.001 of the run's clock (now minute 0)" in r.output
    cfg, lrs = saved(tmp_path / "early")
    assert (cfg["lr"], cfg["lr_final"], cfg["lr_final_at"]) == (1e-3, 2e-4, 0.001) and lrs == [2e-4]
    r = CliRunner().invoke(cli, [*args, "--lr-final-at", "600", "--out", str(tmp_path / "late")])
    assert r.exit_code == 0, r.output
    assert saved(tmp_path / "late")[1] == [1e-3]
    # resumed: the schedule carries on (the early run stays at its final rate) unless --lr is given
    r = CliRunner().invoke(cli, ["train", "--resume", str(tmp_path / "early"), "--steps", "4500"])
    assert r.exit_code == 0, r.output
    assert saved(tmp_path / "early")[1] == [2e-4]
    r = CliRunner().invoke(cli, ["train", "--resume", str(tmp_path / "early"), "--steps", "6000", "--lr", "5e-4"])
    assert r.exit_code == 0, r.output
    cfg, lrs = saved(tmp_path / "early")
    assert (cfg["lr"], cfg["lr_final"], cfg["lr_final_at"], lrs) == (5e-4, 0.0, 0.0, [5e-4])


def test_a_rate_schedule_past_the_segments_end_is_said_at_the_start(tmp_path):
    r = CliRunner().invoke(
        cli,
        ["train", "--game", "tic_tac_toe", "--out", str(tmp_path / "r"), "--lr-final", "1e-4", "--lr-final-at", "5"]
        + ["--minutes", "0.01", "--steps", "2000", "--hidden", "8", "--layers", "1", "--eval-games", "2"],
    )
    assert r.exit_code == 0, r.output
    assert "this segment ends at minute 0 of the run's clock, before the rate changes at minute 5" in r.output
