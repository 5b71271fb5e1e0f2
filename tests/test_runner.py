"""Run folders never lose or overwrite a run: faults injected at every write, kills
between writes, signals at random moves, bad options and paths swept as classes."""

import dataclasses
import errno
import json
import os
import signal

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from selfplay import checkpoint, config, dqn, profiles, runner
from selfplay.cli import cli
from selfplay.config import NetConfig

SMALL = [
    "--steps",
    "2000",
    "--num-envs",
    "16",
    "--learning-starts",
    "256",
    "--eval-every",
    "1000",
    "--eval-games",
    "5",
    "--checkpoint-every",
    "500",
    "--hidden",
    "16",
    "--layers",
    "1",
]


def _train(*args):
    return CliRunner().invoke(cli, ["train", "--game", "tic_tac_toe", *args])


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error")]


def test_a_kill_between_the_step_file_and_latest_resumes_from_the_newest_step_file(tmp_path):
    out = tmp_path / "run"
    assert _train("--out", str(out), *SMALL).exit_code == 0
    # as if killed while writing latest.pt at the last checkpoint: no latest.pt, a .tmp left
    (out / "latest.pt").unlink()
    (out / ".latest.pt.abc.tmp").write_bytes(b"half a checkpoint")
    r = _train("--resume", str(out), "--steps", "2500")
    assert r.exit_code == 0, r.output
    assert "step_2000.pt" in r.output and "resuming" in r.output
    assert not list(out.glob(".*.tmp"))
    assert torch.load(out / "latest.pt", weights_only=True)["counters"]["moves"] == 2512


def test_a_broken_latest_falls_back_to_a_step_file_and_metrics_rows_are_not_duplicated(tmp_path):
    out = tmp_path / "run"
    assert _train("--out", str(out), *SMALL).exit_code == 0
    (out / "latest.pt").write_bytes((out / "latest.pt").read_bytes()[:1000])  # cut short
    for p in out.glob("step_*.pt"):  # the run goes back to its 1,008-move checkpoint
        if p.name not in ("step_512.pt", "step_1008.pt"):
            p.unlink()
    r = _train("--resume", str(out))
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [row["moves"] for row in rows if row["kind"] == "eval"]
    assert evals == sorted(set(evals)) == [1008, 2000]
    moves = [row["moves"] for row in rows]
    assert moves == sorted(moves)


def test_a_fresh_run_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    r = _train("--out", str(out), *SMALL)
    assert r.exit_code == 2 and "not empty" in _error_lines(r.output)[0]
    assert _train("--out", str(tmp_path / "run2"), *SMALL).exit_code == 0
    before = (tmp_path / "run2" / "latest.pt").read_bytes()
    r = _train("--out", str(tmp_path / "run2"), *SMALL)
    assert r.exit_code == 2 and "--force" in r.output
    assert (tmp_path / "run2" / "latest.pt").read_bytes() == before
    r = _train("--out", str(tmp_path / "run2"), "--force", *SMALL, "--steps", "3000")
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (tmp_path / "run2" / "metrics.jsonl").read_text().splitlines()]
    # one run's rows: their moves only go up (the first run's rows, kept, would start over);
    # rows of two kinds may share a count, so the counts are checked per kind
    moves = [r["moves"] for r in rows]
    assert moves[0] < moves[-1] and moves == sorted(moves)
    for kind in {r["kind"] for r in rows}:
        counts = [r["moves"] for r in rows if r["kind"] == kind]
        assert len(set(counts)) == len(counts), kind
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC])
def test_an_unwritable_folder_is_refused_before_any_training(tmp_path, monkeypatch, code):
    out = tmp_path / "run"
    assert _train("--out", str(out), *SMALL).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def refuse(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(runner.tempfile, "mkstemp", refuse)
    for args in (["--resume", str(out), "--steps", "4000"], ["--out", str(tmp_path / "other"), *SMALL]):
        r = _train(*args)
        assert r.exit_code == 2 and len(_error_lines(r.output)) == 1, r.output
        assert os.strerror(code) in r.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("fail_at", [1, 2, 3, 5])
def test_a_full_disk_at_any_checkpoint_write_is_one_line_and_the_last_good_checkpoint_stays(
    tmp_path, monkeypatch, fail_at
):
    """The fail_at-th checkpoint write goes to a device that is always full (/dev/full):
    torch's own writer fails there as on a full disk, with a RuntimeError that names no
    errno."""
    out = tmp_path / "run"
    real_mkstemp, calls = checkpoint.tempfile.mkstemp, []

    def mkstemp(*a, **k):
        fd, tmp = real_mkstemp(*a, **k)
        if not k.get("prefix", "").endswith(".pt."):  # not a checkpoint's temporary file
            return fd, tmp
        calls.append(tmp)
        if len(calls) == fail_at:
            os.close(fd)
            fd = os.open("/dev/full", os.O_WRONLY)
        return fd, tmp

    monkeypatch.setattr(checkpoint.tempfile, "mkstemp", mkstemp)
    r = _train("--out", str(out), *SMALL)
    assert r.exit_code == 1, r.output
    assert len(_error_lines(r.output)) == 1 and "No space left" in r.output, r.output
    assert "Traceback" not in r.output and "enforce fail" not in r.output
    assert not list(out.glob(".*.tmp"))
    monkeypatch.setattr(checkpoint.tempfile, "mkstemp", real_mkstemp)
    if fail_at > 2:  # a checkpoint had been written before the disk filled: it resumes
        r = _train("--resume", str(out), "--steps", "2500")
        assert r.exit_code == 0, r.output


def test_a_loss_that_turns_non_finite_stops_the_run_and_keeps_the_finite_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"
    real = dqn.Learner.update

    def update(self):
        loss = real(self)
        if self.moves > 1200:
            with torch.no_grad():
                next(self.online.parameters()).fill_(float("nan"))
            return float("nan")
        return loss

    monkeypatch.setattr(dqn.Learner, "update", update)
    r = _train("--out", str(out), *SMALL)
    assert r.exit_code == 1 and "non-finite" in _error_lines(r.output)[0]
    d = checkpoint.load(out / "latest.pt")
    assert d["counters"]["moves"] <= 1200
    assert all(torch.isfinite(t).all() for t in d["weights"].values())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_signal_at_a_random_move_then_resume_is_bit_identical(tmp_path, seed):
    cfg = profiles.default_config(
        "tic_tac_toe",
        num_envs=8,
        batch_size=32,
        learning_starts=64,
        steps=1600,
        eval_every=400,
        eval_games=4,
        checkpoint_every=0,
        seed=5,
        target_update=7,
        net=NetConfig(kind="mlp", hidden=16, layers=1),
    )
    straight = dqn.Learner(cfg)
    (tmp_path / "a").mkdir()
    runner.run(straight, tmp_path / "a")
    at = int(np.random.default_rng(seed).integers(100, 1500))
    first = dqn.Learner(cfg)
    (tmp_path / "b").mkdir()

    def poke(learner, pool):
        if learner.moves >= at and not getattr(learner, "poked", False):
            learner.poked = True
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C changes nothing

    with pytest.raises(runner.Interrupted):
        runner.run(first, tmp_path / "b", options=runner.RunOptions(save_replay=True), on_progress=poke)
    saved = checkpoint.load(tmp_path / "b" / "latest.pt")
    assert at <= saved["counters"]["moves"] < at + 16
    resumed = runner.prepare(None, tmp_path / "b", resume=True)
    runner.run(resumed, tmp_path / "b")
    assert straight.updates == resumed.updates and straight.moves == resumed.moves
    for a, b in zip(straight.online.state_dict().values(), resumed.online.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "args,msg",
    [
        (["--lr", "inf"], "--lr must be a finite"),
        (["--lr", "nan"], "--lr must be a finite"),
        (["--gamma", "-inf"], "--gamma"),
        (["--checkpoint-every", "-1"], "--checkpoint-every"),
        (["--eval-every", "-5"], "--eval-every"),
        (["--learning-starts", "-1"], "--learning-starts"),
        (["--learning-starts", "1e12"], "--learning-starts"),
        (["--learning-starts", "300000", "--steps", "200000"], "--learning-starts (300,000) must be below --steps"),
        (["--learning-starts", "20000", "--replay-capacity", "10000"], "must be <= --replay-capacity"),
        (["--num-envs", "100000", "--steps", "64"], "--steps (64) must be at least --num-envs"),
        (["--eps-start", "0.1", "--eps-end", "0.5"], "--eps-end (0.5) must be <= --eps-start"),
        (["--replay-capacity", str(10**12)], "--replay-capacity"),
        (["--replay-capacity", str(900_000_000), "--game", "connect_four"], "memory"),
        (["--mcts", "--num-envs", "100000", "--simulations", "100000", "--game", "connect_four"], "search trees"),
        (["--hidden", str(10**6)], "--hidden"),
        (["--minutes", "nan"], "--minutes"),
        (["--seed", "-1"], "--seed"),
        (["--seed", str(2**70)], "--seed"),
        (["--out", ""], "non-empty path"),
        (["--out", "FILE/child"], "is a file"),
        (["--out", "/proc/selfplay-x"], "cannot write"),
        (["--game", "pettingzoo:texas_holdem_v4"], "hidden information"),
        (["--game", "pettingzoo:leduc_holdem_v4"], "hidden information"),
        (["--game", "openspiel:hex(board_size=0)"], "actions"),
        (["--game", "openspiel:hex(board_size=100000)"], "actions"),
        (["--resume", "RUN", "--game", "connect_four"], "does not match"),
        (["--resume", "RUN", "--out", "elsewhere"], "leave out --out"),
        (["--resume", "EMPTY"], "no checkpoint to resume from"),
    ],
)
def test_bad_training_options_are_one_line_before_any_work(tmp_path, monkeypatch, args, msg):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "EMPTY").mkdir()
    if "RUN" in args:
        assert _train("--out", "RUN", *SMALL).exit_code == 0
    before = sorted(p.name for p in tmp_path.rglob("*"))
    r = CliRunner().invoke(cli, ["train", *args])
    assert r.exit_code == 2, r.output
    err = _error_lines(r.output)
    assert len(err) == 1 and msg in err[0], r.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_game_names_are_canonical_so_defaults_follow_the_game(tmp_path):
    a = profiles.default_config(" tic_tac_toe ")
    assert a == profiles.default_config("tic_tac_toe") and a.game == "tic_tac_toe"


def test_keep_leaves_only_the_newest_step_files(tmp_path):
    out = tmp_path / "run"
    assert _train("--out", str(out), "--keep", "2", *SMALL).exit_code == 0
    assert [p.name for p in runner.step_files(out)] == ["step_1504.pt", "step_2000.pt"]


def test_tensorboard_gets_the_same_scalars_as_metrics_jsonl(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    assert _train("--out", str(out), "--tensorboard", *SMALL).exit_code == 0
    acc = EventAccumulator(str(out / "tensorboard"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"eval/vs_random/score", "eval/exact/kept", "eval/loss"} <= set(tags)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if '"eval"' in x]
    logged = [(e.step, e.value) for e in acc.Scalars("eval/vs_random/score")]
    assert logged == [(r["moves"], pytest.approx(r["vs_random"]["score"])) for r in rows]


@pytest.mark.parametrize("latest", ["truncated", "play-only othello", "resumable other game"])
def test_a_resume_says_which_file_it_passed_over_and_why_and_never_writes_over_it(tmp_path, latest):
    out = tmp_path / "run"
    assert _train("--out", str(out), *SMALL).exit_code == 0
    if latest == "truncated":
        content = (out / "latest.pt").read_bytes()[:1000]
        why = "latest.pt passed over ("
    elif latest == "play-only othello":
        content = (runner.Path(__file__).resolve().parents[1] / "checkpoints" / "othello.pt").read_bytes()
        why = "latest.pt passed over ("
    else:
        other = tmp_path / "other"
        assert _train("--out", str(other), *SMALL, "--game", "connect_four").exit_code == 0
        content = (other / "latest.pt").read_bytes()
        why = "a connect_four checkpoint in a tic_tac_toe run"
    (out / "latest.pt").write_bytes(content)
    r = _train("--resume", str(out), "--steps", "2500")
    assert r.exit_code == 0, r.output
    assert "from " + str(out / "step_2000.pt") in r.output
    assert why in r.output and "moved to latest.pt.unreadable, never written over" in r.output
    assert (out / "latest.pt.unreadable").read_bytes() == content  # kept as it was
    assert torch.load(out / "latest.pt", weights_only=True)["counters"]["moves"] == 2512


def test_a_tic_tac_toe_run_stops_at_the_first_evaluation_that_finds_exact_play(tmp_path):
    """Known answer: a learner holding the shipped (exact) network is done at once."""
    shipped = checkpoint.load(runner.Path(__file__).resolve().parents[1] / "checkpoints" / "tic_tac_toe.pt")
    cfg = config.TrainConfig.from_dict(json.loads(shipped["train_config"]))
    # a rate too small to move the weights off exact play
    cfg = dataclasses.replace(cfg, steps=100_000, eval_every=1_000, eval_games=20, lr=1e-12)
    learner = dqn.Learner(cfg)
    _, net = checkpoint.build_net(shipped, "shipped")
    learner.online.load_state_dict(net.state_dict())
    learner.frozen.load_state_dict(net.state_dict())
    final = runner.run(learner, tmp_path / "run")
    assert final["exact"]["kept"] == 1.0
    assert 1_000 <= learner.moves < 2_000  # stopped at the first evaluation, not at 100,000 moves
    assert runner.plays_exactly(learner)


def test_the_ladder_rates_an_exact_tic_tac_toe_player_level_with_minimax_and_never_losing(tmp_path):
    """Known answer: the shipped tic-tac-toe network plays exactly, so every ladder game
    against minimax is drawn (the openings are balanced), none against any rung is lost,
    and the fit puts minimax at the learner's Elo."""
    shipped = checkpoint.load(runner.Path(__file__).resolve().parents[1] / "checkpoints" / "tic_tac_toe.pt")
    cfg = config.TrainConfig.from_dict(json.loads(shipped["train_config"]))
    cfg = dataclasses.replace(
        cfg, steps=2_500, eval_every=1_000, eval_games=5, lr=1e-12, ladder_games=10, eval_opponents="minimax"
    )
    learner = dqn.Learner(cfg)
    _, net = checkpoint.build_net(shipped, "shipped")
    learner.online.load_state_dict(net.state_dict())
    learner.frozen.load_state_dict(net.state_dict())
    runner.run(learner, tmp_path / "run")
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    ladders = [r["ladder"] for r in rows if r.get("kind") == "eval"]
    assert len(ladders) >= 1
    for lad in ladders:
        assert list(lad["rungs"]) == ["random", "mcts:10", "mcts:100", "minimax"] and lad["anchor"] == "mcts:100"
        assert all(g["wins"] + g["draws"] + g["losses"] == 20 and g["losses"] == 0 for g in lad["rungs"].values())
        assert lad["rungs"]["minimax"]["draws"] == 20
        assert abs(lad["rung_elo"]["minimax"] - lad["elo"]) < 1.0 and lad["rung_elo"]["mcts:100"] == 0.0
        assert lad["rung_elo"]["random"] < lad["elo"]
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 0


@pytest.mark.parametrize(
    "spec, said",
    [
        ("gtp:no-such-engine-here", "no program 'no-such-engine-here'"),
        ("mcts:0", "mcts:N"),
        ("perfect", "perfect"),  # connect four's solver cannot play tic-tac-toe
        ("/no/such/file.pt", "/no/such/file.pt"),
    ],
)
def test_a_ladder_rung_that_cannot_play_is_one_line_before_the_run_folder_is_made(tmp_path, spec, said):
    out = tmp_path / "run"
    r = _train("--out", str(out), *SMALL, "--eval-opponents", f"random,{spec}")
    assert r.exit_code == 2 and len(_error_lines(r.output)) == 1 and said in r.output, r.output
    assert not out.exists()


def test_open_run_claims_once_for_a_fresh_run_and_its_resume(tmp_path):
    """The library's way in to a train: the folder is held for the block (a second claim
    is refused), a fresh run takes the game's config with the settings given, a resume
    changes only steps, and a game that is not the run's is refused before any work."""
    out = tmp_path / "run"
    small = {"steps": 512, "num_envs": 16, "learning_starts": 64, "eval_every": 0, "checkpoint_every": 256}
    with runner.open_run(out=out, game="tic_tac_toe", overrides=small, net={"hidden": 16}) as (held, learner):
        assert held.path == out and learner.cfg.net.hidden == 16 and learner.cfg.steps == 512
        with pytest.raises(runner.RunError, match="already holds"):
            runner.prepare(None, out, resume=True)
        runner.run(learner, held, options=runner.RunOptions(save_replay=True))
    assert not (out / runner.LOCK).exists()
    with runner.open_run(out=out, resume=True, overrides={"steps": 1024, "hidden": 64}) as (_, resumed):
        assert resumed.moves >= 512 and resumed.cfg.steps == 1024 and resumed.cfg.net.hidden == 16
    with pytest.raises(runner.RunError, match="connect_four does not match"):
        with runner.open_run(out=out, resume=True, game="connect_four"):
            pass
