"""Target sources (selfplay/sources.py): TD and search, each one named piece."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from selfplay import dqn
from selfplay.network import legal_q
from selfplay.sources import SOURCES, Search, TD, source_for


def _learner(**kw):
    cfg = dqn.default_config("connect_four", eval_every=0, checkpoint_every=0, learning_starts=0,
                             replay_capacity=20_000, **kw)
    return dqn.Learner(cfg)


def test_the_config_picks_the_source_and_the_learner_uses_it():
    assert source_for(dqn.default_config("tic_tac_toe")) is TD
    assert source_for(dqn.default_config("tic_tac_toe", mcts=True)) is Search
    assert set(SOURCES) == {"td", "search"}
    lr = _learner(mcts=True, num_envs=8, simulations=4)
    assert isinstance(lr.source, Search) and set(lr.buffers()) == {"replay", "search_targets"}
    mine = int((lr.state.current_player == lr.learner_seat).sum())
    lr.play()
    assert mine == 4 and lr.source.targets.size == mine and lr.replay.size == 8


def test_a_frozen_opponent_that_does_not_search_plays_its_greedy_move_and_leaves_no_target():
    lr = _learner(mcts=True, num_envs=32, simulations=4, opponent_search=False, eps_start=0.0, eps_end=0.0)
    n = lr.cfg.num_envs
    with torch.no_grad():  # the frozen copy differs from the online network
        for p in lr.frozen.parameters():
            p.add_(0.3 * torch.randn_like(p))
    for _ in range(12):
        s, obs = lr.state, lr.obs
        theirs = s.current_player != lr.learner_seat
        with torch.no_grad():
            greedy = legal_q(lr.frozen, obs, s.legal_action_mask).argmax(dim=1).numpy()
        before = lr.source.targets.size
        lr.play()
        played = lr.replay.action[(lr.replay.pos - n + np.arange(n)) % lr.replay.capacity]
        assert lr.source.targets.size - before == int((~theirs).sum())
        assert (played[theirs] == greedy[theirs]).all()


def test_search_targets_only_loss_is_the_weighted_squared_error_and_skips_the_replay():
    lr = _learner(mcts=True, num_envs=16, simulations=4, td_weight=0.0)
    for _ in range(12):
        lr.play()
    rng = copy.deepcopy(lr.rng)
    expected = _search_loss(lr, rng)
    lr.replay.clear()  # a TD term would need to sample it
    assert lr.update() == pytest.approx(expected, rel=1e-5)


def test_search_loss_adds_td_weight_times_the_td_loss_on_the_same_minibatches():
    from selfplay.sources import td_loss

    lr = _learner(mcts=True, num_envs=16, simulations=4, td_weight=0.5)
    for _ in range(12):
        lr.play()
    rng0 = copy.deepcopy(lr.rng)
    total = lr.source.loss().item()
    lr.rng = copy.deepcopy(rng0)
    td = td_loss(lr).item()  # the TD minibatch is drawn first, then the search one
    search = _search_loss(lr, lr.rng)
    assert td > 0 and search > 0
    assert total == pytest.approx(search + 0.5 * td, rel=1e-5)


def _search_loss(lr, rng) -> float:
    t = lr.source.targets.sample(lr.cfg.batch_size, rng)
    t = lr.source.targets.augment(t, *lr.symmetries, rng)
    with torch.no_grad():
        q = lr.online.train()(torch.from_numpy(t["obs"]))
        w, target = torch.from_numpy(t["weight"]), torch.from_numpy(t["q"])
        return (w * (q - target) ** 2).sum(dim=1).mean().item()


def test_a_removed_search_setting_loads_only_at_the_value_that_turned_it_off():
    """Playout-cap randomisation (``full_share``) was measured and removed: configs saved
    with it off (1.0) load as before; one that used it is refused, not silently changed."""
    d = dqn.default_config("connect_four", mcts=True).to_dict()
    d["search"]["full_share"] = 1.0
    assert dqn.TrainConfig.from_dict(d) == dqn.default_config("connect_four", mcts=True)
    d["search"]["full_share"] = 0.5
    with pytest.raises(TypeError):
        dqn.TrainConfig.from_dict(d)
