"""Checkpoints: exact round trips, exact resume, and refusal of bad files."""

import json
import os
import pickle

import numpy as np
import pytest
import torch

import games
from selfplay import checkpoint, dqn, load_agent, profiles
from selfplay.agents import QAgent
from selfplay.checkpoint import CheckpointError
from selfplay.config import NetConfig
from selfplay.network import symmetry_mean


def _cfg(game="tic_tac_toe", **kw):
    base = dict(
        num_envs=8,
        batch_size=32,
        learning_starts=64,
        steps=800,
        eval_every=0,
        checkpoint_every=0,
        seed=5,
        net=NetConfig(kind="mlp", hidden=32, layers=1),
        target_update=7,
    )
    base.update(kw)
    return profiles.default_config(game, **base)


def _run(learner, until):
    while learner.moves < until:
        learner.train_step()


def test_saved_and_reloaded_checkpoint_predicts_exactly_the_same(tmp_path):
    learner = dqn.Learner(_cfg())
    _run(learner, 400)
    checkpoint.save_learner(learner, tmp_path / "a.pt")
    agent = load_agent(tmp_path / "a.pt", symmetric=False)
    rng = np.random.default_rng(0)
    g = learner.game
    s = g.init(16)
    for _ in range(4):
        s = g.step(s, games.random_actions(s, rng))
    np.testing.assert_array_equal(agent.q_values(s), QAgent(learner.game, learner.online).q_values(s))
    # as it plays by default: the same network's mean over the board's symmetries
    played = load_agent(tmp_path / "a.pt")
    assert played.info["symmetric"] and not agent.info["symmetric"]
    want = QAgent(g, symmetry_mean(learner.online, g)).q_values(s)
    np.testing.assert_array_equal(played.q_values(s), want)
    assert not np.array_equal(played.q_values(s), agent.q_values(s))


@pytest.mark.parametrize(
    "game_name,net,n_step",
    [
        ("tic_tac_toe", NetConfig(kind="mlp", hidden=32, layers=1), 1),
        ("tic_tac_toe", NetConfig(kind="mlp", hidden=32, layers=1), 3),
        ("connect_four", NetConfig(kind="resnet", channels=8, blocks=1, hidden=16), 1),
    ],
)
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path, game_name, net, n_step):
    cfg = profiles.default_config(
        game_name,
        num_envs=8,
        batch_size=32,
        learning_starts=64,
        steps=800,
        eval_every=0,
        checkpoint_every=0,
        seed=5,
        net=net,
        target_update=7,
        n_step=n_step,
    )
    straight = dqn.Learner(cfg)
    _run(straight, 800)
    first = dqn.Learner(cfg)
    _run(first, 400)
    checkpoint.save_learner(first, tmp_path / "mid.pt", with_replay=True)
    del first
    resumed = dqn.restore_learner(checkpoint.load(tmp_path / "mid.pt"))
    _run(resumed, 800)
    for a, b in zip(straight.online.state_dict().values(), resumed.online.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.frozen.state_dict().values(), resumed.frozen.state_dict().values()):
        assert torch.equal(a, b)
    assert straight.updates == resumed.updates


def test_a_checkpoint_written_with_the_per_tensor_adam_resumes_exactly_on_the_fused_kernel(tmp_path):
    # checkpoints before the fused kernel name Adam's per-tensor loop in their param groups;
    # the resumed run takes the moments over and steps with the fused kernel, as a run that
    # never stopped does
    cfg = _cfg(steps=600)
    straight = dqn.Learner(cfg)
    _run(straight, 600)
    first = dqn.Learner(cfg)
    _run(first, 300)
    checkpoint.save_learner(first, tmp_path / "mid.pt", with_replay=True)
    d = checkpoint.load(tmp_path / "mid.pt")
    for group in d["optimizer"]["param_groups"]:
        group.update(fused=None, foreach=None)
    resumed = dqn.restore_learner(d)
    assert all(g["fused"] for g in resumed.optimizer.param_groups)
    _run(resumed, 600)
    assert straight.updates == resumed.updates > 0
    for a, b in zip(straight.online.state_dict().values(), resumed.online.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "extra,split",
    [
        (dict(opponent_search=True, search_target="visits", root_all=False), 150),
        (dict(), 170),
        (dict(outcome_mix=0.5), 170),
    ],
)
def test_mcts_mode_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path, extra, split):
    # the search targets and the iteration's progress travel in the checkpoint
    cfg = _cfg(mcts=True, simulations=8, iteration_episodes=4, iteration_updates=3, steps=300, td_weight=0.5, **extra)
    straight = dqn.Learner(cfg)
    _run(straight, 300)
    first = dqn.Learner(cfg)
    _run(first, split)
    while first.episodes == first.source.episodes_at_iteration:  # stop inside an iteration
        first.train_step()
    assert first.source.targets.size > 0 and first.episodes > first.source.episodes_at_iteration
    checkpoint.save_learner(first, tmp_path / "mid.pt", with_replay=True)
    del first
    resumed = dqn.restore_learner(checkpoint.load(tmp_path / "mid.pt"))
    _run(resumed, 300)
    assert straight.updates == resumed.updates > 0
    for a, b in zip(straight.online.state_dict().values(), resumed.online.state_dict().values()):
        assert torch.equal(a, b)


def test_refuses_corrupt_truncated_foreign_and_newer_files(tmp_path):
    learner = dqn.Learner(_cfg())
    good = tmp_path / "good.pt"
    checkpoint.save_learner(learner, good)

    junk = tmp_path / "junk.pt"
    junk.write_bytes(np.random.default_rng(0).bytes(2000))
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(good.read_bytes()[:3000])
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": torch.zeros(3)}, foreign)
    newer = tmp_path / "newer.pt"
    d = torch.load(good, weights_only=True)
    d["format_version"] = checkpoint.FORMAT_VERSION + 1
    torch.save(d, newer)
    cases = [
        (junk, "not a readable"),
        (trunc, "not a readable"),
        (foreign, "not a selfplay checkpoint"),
        (newer, "newer"),
        (tmp_path / "missing.pt", "no such file"),
        (tmp_path, "folder"),
    ]
    for path, msg in cases:
        with pytest.raises(CheckpointError, match=msg) as e:
            load_agent(path)
        assert "\n" not in str(e.value)
    with pytest.raises(CheckpointError, match="connect_four"):
        load_agent(good, game="connect_four")
    # fuzz: random bytes, and random bytes after a pickle header, are all one-line refusals
    for seed in range(50):
        rng = np.random.default_rng(seed)
        blob = rng.bytes(int(rng.integers(1, 3000)))
        junk.write_bytes(blob if seed % 2 else b"\x80\x02" + blob)
        with pytest.raises(CheckpointError) as e:
            load_agent(junk)
        assert "\n" not in str(e.value)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_CHECKPOINT",))


def test_a_checkpoint_carrying_code_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pt"
    torch.save({"format": "selfplay-checkpoint", "payload": _Evil()}, evil)
    with pytest.raises(CheckpointError, match="refused"):
        load_agent(evil)
    assert not (tmp_path / "PWNED_BY_CHECKPOINT").exists()
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(CheckpointError):
        load_agent(plain)
    assert not (tmp_path / "PWNED_BY_CHECKPOINT").exists()


def test_atomic_save_leaves_the_old_file_when_a_write_fails(tmp_path):
    target = tmp_path / "latest.pt"
    checkpoint.atomic_save({"format": "x", "v": 1}, target)

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        checkpoint.atomic_save({"v": Unsaveable()}, target)
    assert torch.load(target, weights_only=True)["v"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]


def _full_checkpoint_dict():
    cfg = _cfg(steps=64, learning_starts=16)
    learner = dqn.Learner(cfg)
    for _ in range(8):
        learner.train_step()
    return checkpoint.learner_to_dict(learner)


_JUNK = [
    None,
    7,
    -1,
    3.5,
    float("nan"),
    "text",
    "{not json",
    "[]",
    b"bytes",
    [1, 2],
    {"a": 1},
    {},
    torch.zeros(3),
    torch.zeros(2, 2, dtype=torch.int8),
    True,
]


def test_every_field_replaced_by_junk_or_removed_is_refused_with_one_line_naming_the_file(tmp_path):
    """Each top-level field, and each field of the counters, RNG and selfplay records, is in
    turn removed or replaced by values of every other type: load (and, for a full training
    checkpoint, resume) either works or refuses with one line naming the file."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    base = _full_checkpoint_dict()
    paths = [(k,) for k in base] + [("counters", k) for k in base["counters"]] + [("rng", k) for k in base["rng"]]
    path = tmp_path / "mutant.pt"

    @settings(max_examples=250, deadline=None)
    @given(st.sampled_from(paths), st.sampled_from(range(len(_JUNK) + 1)))
    def check(where, junk):
        d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        holder = d if len(where) == 1 else d[where[0]]
        if junk == len(_JUNK):
            holder.pop(where[-1], None)
        else:
            holder[where[-1]] = _JUNK[junk]
        torch.save(d, path)
        try:
            loaded = checkpoint.load(path)
            dqn.restore_learner(loaded, path)
        except CheckpointError as e:
            assert "\n" not in str(e) and str(path) in str(e)

    check()


def test_a_checkpoint_with_derived_planes_plays_as_saved_and_one_from_before_them_still_loads(tmp_path):
    """``derived`` (a level) is saved and rebuilds the same observation; files written
    before levels (``derived`` true) load at level 1, and files written before the field
    existed (no key) as plain-plane agents."""
    learner = dqn.Learner(_cfg("hex_5x5", derived=2, steps=400))
    _run(learner, 200)
    checkpoint.save_learner(learner, tmp_path / "d.pt")
    agent = load_agent(tmp_path / "d.pt", symmetric=False)
    assert agent.game.derived == 2 and agent.game.obs_shape == learner.game.obs_shape

    level1 = dqn.Learner(_cfg("hex_5x5", derived=1, steps=400))
    d = checkpoint.learner_to_dict(level1)
    d["derived"] = True
    d["train_config"] = d["train_config"].replace('"derived": 1', '"derived": true')
    assert '"derived": true' in d["train_config"]
    torch.save(d, tmp_path / "bool.pt")
    checkpoint.check_resumable(checkpoint.load(tmp_path / "bool.pt"), tmp_path / "bool.pt")
    old = load_agent(tmp_path / "bool.pt")
    assert old.game.derived == 1 and old.game.obs_shape == level1.game.obs_shape
    s = agent.game.init(8)
    for _ in range(5):
        s = agent.game.step(s, games.random_actions(s, np.random.default_rng(1)))
    np.testing.assert_array_equal(agent.q_values(s), QAgent(learner.game, learner.online).q_values(s))

    plain = dqn.Learner(_cfg())
    d = checkpoint.learner_to_dict(plain)
    del d["derived"]
    torch.save(d, tmp_path / "old.pt")
    assert not load_agent(tmp_path / "old.pt").game.derived


def test_average_is_the_mean_of_the_weights_and_refuses_networks_that_differ(tmp_path):
    """checkpoint.average: the element-wise mean of the files' online weights (so a file
    averaged with itself is unchanged, and two files give the midpoint), the newest file's
    counters, the files named in ``averaged``; a file of another network, another game or
    none at all is refused in one line naming it."""
    learner = dqn.Learner(_cfg())
    _run(learner, 200)
    checkpoint.save_learner(learner, tmp_path / "a.pt")
    _run(learner, 400)
    checkpoint.save_learner(learner, tmp_path / "b.pt")
    a, b = (checkpoint.load(tmp_path / f) for f in ("a.pt", "b.pt"))

    same = checkpoint.average([tmp_path / "a.pt", tmp_path / "a.pt"])
    for k, w in a["weights"].items():
        torch.testing.assert_close(same["weights"][k], w, rtol=0, atol=1e-7)

    mid = checkpoint.average([tmp_path / "b.pt", tmp_path / "a.pt"])
    assert any(not torch.equal(a["weights"][k], b["weights"][k]) for k in a["weights"])
    for k in a["weights"]:
        torch.testing.assert_close(mid["weights"][k], (a["weights"][k] + b["weights"][k]) / 2)
    assert mid["counters"] == b["counters"] and "optimizer" not in mid
    assert [f["file"] for f in json.loads(mid["averaged"])["files"]] == ["b.pt", "a.pt"]
    checkpoint.atomic_save(mid, tmp_path / "mid.pt")
    agent = load_agent(tmp_path / "mid.pt", symmetric=False)  # it loads and plays as the mean network
    _, net = checkpoint.build_net(mid)
    s = agent.game.init(4)
    np.testing.assert_array_equal(agent.q_values(s), QAgent(agent.game, net).q_values(s))

    other_net = dqn.Learner(_cfg(net=NetConfig(kind="mlp", hidden=16, layers=1)))
    checkpoint.save_learner(other_net, tmp_path / "wide.pt")
    checkpoint.save_learner(dqn.Learner(_cfg("connect_four")), tmp_path / "c4.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    for bad, field in (("wide.pt", "net_config"), ("c4.pt", "game"), ("junk.pt", "not a readable checkpoint")):
        with pytest.raises(CheckpointError) as e:
            checkpoint.average([tmp_path / "a.pt", tmp_path / bad])
        assert "\n" not in str(e.value) and bad in str(e.value) and field in str(e.value)
    with pytest.raises(CheckpointError, match="nothing to average"):
        checkpoint.average([])


def test_ship_script_averages_the_newest_step_files_by_moves(tmp_path):
    """``scripts/ship_checkpoint.py RUN DST --average N`` takes the N step files with the
    most moves (step_1000 is newer than step_900), and refuses, with one line and no file
    written, a run with fewer step files."""
    import subprocess
    import sys
    from pathlib import Path

    learner = dqn.Learner(_cfg())
    for moves in (200, 900, 1000):
        _run(learner, moves)
        checkpoint.save_learner(learner, tmp_path / f"step_{learner.moves}.pt")
    names = sorted(p.name for p in tmp_path.glob("step_*.pt"))
    script = Path(__file__).parent.parent / "scripts" / "ship_checkpoint.py"
    r = subprocess.run([sys.executable, script, tmp_path, tmp_path / "out.pt", "--average", "2"], capture_output=True)
    assert r.returncode == 0, r.stderr
    files = [f["file"] for f in json.loads(checkpoint.load(tmp_path / "out.pt")["averaged"])["files"]]
    newest = sorted(names, key=lambda n: int(n[5:-3]))[-2:]
    assert files == newest and "step_2" not in "".join(files)
    r = subprocess.run(
        [sys.executable, script, tmp_path, tmp_path / "none.pt", "--average", "4"], capture_output=True, text=True
    )
    assert r.returncode != 0 and r.stderr.strip().count("\n") == 0 and "holds 3 step files" in r.stderr
    assert not (tmp_path / "none.pt").exists()
