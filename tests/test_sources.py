"""Target sources (selfplay/sources.py): TD and search, each one named piece."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import games
from selfplay import config, dqn, profiles, targets
from selfplay.network import legal_q
from selfplay.sources import SOURCES, TD, Search, source_for


def _learner(**kw):
    cfg = profiles.default_config(
        "connect_four", eval_every=0, checkpoint_every=0, learning_starts=0, replay_capacity=20_000, **kw
    )
    return dqn.Learner(cfg)


def test_the_config_picks_the_source_and_the_learner_uses_it():
    assert source_for(profiles.default_config("tic_tac_toe")) is TD
    assert source_for(profiles.default_config("tic_tac_toe", mcts=True)) is Search
    assert set(SOURCES) == {"td", "search"}
    learner = _learner(mcts=True, num_envs=8, simulations=4, outcome_mix=0.0)  # targets stored at once
    assert isinstance(learner.source, Search) and set(learner.buffers()) == {"replay", "search_targets"}
    mine = int((learner.state.current_player == learner.learner_seat).sum())
    learner.play()
    assert mine == 4 and learner.source.targets.size == mine and learner.replay.size == 8


def test_a_frozen_opponent_that_does_not_search_plays_its_greedy_move_and_leaves_no_target():
    learner = _learner(
        mcts=True, num_envs=32, simulations=4, opponent_search=False, eps_start=0.0, eps_end=0.0, outcome_mix=0.0
    )
    n = learner.cfg.num_envs
    with torch.no_grad():  # the frozen copy differs from the online network
        for p in learner.frozen.parameters():
            p.add_(0.3 * torch.randn_like(p))
    for _ in range(12):
        s, obs = learner.state, learner.obs
        theirs = s.current_player != learner.learner_seat
        with torch.no_grad():
            greedy = legal_q(learner.frozen, obs, s.legal_action_mask).argmax(dim=1).numpy()
        before = learner.source.targets.size
        learner.play()
        played = learner.replay.action[(learner.replay.pos - n + np.arange(n)) % learner.replay.capacity]
        assert learner.source.targets.size - before == int((~theirs).sum())
        assert (played[theirs] == greedy[theirs]).all()


def test_search_targets_only_loss_is_the_weighted_squared_error_and_skips_the_replay():
    learner = _learner(mcts=True, num_envs=16, simulations=4, td_weight=0.0)
    for _ in range(12):
        learner.play()
    rng = copy.deepcopy(learner.rng)
    expected = _search_loss(learner, rng)
    learner.replay.clear()  # a TD term would need to sample it
    assert learner.update() == pytest.approx(expected, rel=1e-5)


def test_search_loss_adds_td_weight_times_the_td_loss_on_the_same_minibatches():
    from selfplay.sources import learner_td_loss

    learner = _learner(mcts=True, num_envs=16, simulations=4, td_weight=0.5)
    for _ in range(12):
        learner.play()
    rng0 = copy.deepcopy(learner.rng)
    total = learner.source.loss().item()
    learner.rng = copy.deepcopy(rng0)
    td = learner_td_loss(learner).item()  # the TD minibatch is drawn first, then the search one
    search = _search_loss(learner, learner.rng)
    assert td > 0 and search > 0
    assert total == pytest.approx(search + 0.5 * td, rel=1e-5)


def _search_loss(learner, rng) -> float:
    t = learner.source.targets.sample(learner.cfg.batch_size, rng)
    t = learner.source.targets.augment(t, *learner.symmetries, rng)
    with torch.no_grad():
        q = learner.online.train()(torch.from_numpy(t["obs"]))
        w, target = torch.from_numpy(t["weight"]), torch.from_numpy(t["q"])
        return (w * (q - target) ** 2).sum(dim=1).mean().item()


def test_a_removed_search_setting_loads_only_at_the_value_that_turned_it_off():
    """Playout-cap randomisation (``full_share``) was measured and removed: configs saved
    with it off (1.0) load as before; one that used it is refused, not silently changed."""
    d = profiles.default_config("connect_four", mcts=True).to_dict()
    d["search"]["full_share"] = 1.0
    assert config.TrainConfig.from_dict(d) == profiles.default_config("connect_four", mcts=True)
    d["search"]["full_share"] = 0.5
    with pytest.raises(TypeError):
        config.TrainConfig.from_dict(d)


def test_outcome_mix_puts_each_games_discounted_result_into_the_target_of_the_move_taken():
    # the same seed with and without outcome_mix plays the same games (no gradient steps);
    # the expected targets are rebuilt here from the plain run's rows and its replay
    mix, gamma, n = 0.5, 0.9, 8
    kw = dict(
        mcts=True,
        num_envs=n,
        simulations=4,
        opponent_search=False,
        iteration_updates=0,
        gamma=gamma,
        temperature_moves=0,
    )
    cfg = profiles.default_config(
        "tic_tac_toe", eval_every=0, checkpoint_every=0, learning_starts=0, replay_capacity=20_000, **kw
    )
    plain = dqn.Learner(cfg)
    mixed = dqn.Learner(
        config.TrainConfig.from_dict({**cfg.to_dict(), "search": {**cfg.to_dict()["search"], "outcome_mix": mix}})
    )
    assert mixed.source.pending is not None and plain.source.pending is None
    games = [[] for _ in range(n)]  # per game: (q, weight, action, mover, ply)
    plies = np.zeros(n, int)
    expected = []
    for _ in range(60):
        s = plain.state
        idx = np.flatnonzero(s.current_player == plain.learner_seat)
        movers = s.current_player.astype(int).copy()
        pos0 = plain.source.targets.pos
        plain.play()
        mixed.play()
        rows = (pos0 + np.arange(len(idx))) % plain.source.targets.capacity
        at = (plain.replay.pos - n + np.arange(n)) % plain.replay.capacity
        action, reward, done = plain.replay.action[at], plain.replay.reward[at], plain.replay.done[at]
        for j, e in enumerate(idx):
            games[e].append(
                (
                    plain.source.targets.q[rows[j]].astype(np.float64),
                    plain.source.targets.weight[rows[j]],
                    action[e],
                    movers[e],
                    plies[e],
                )
            )
        plies += 1
        for e in np.flatnonzero(done):
            for q, w, a, mover, ply in games[e]:
                z = (reward[e] if mover == movers[e] else -reward[e]) * gamma ** (plies[e] - 1 - ply)
                q = q.copy()
                q[a] = (1 - mix) * q[a] + mix * z
                expected.append((q, w))
            games[e], plies[e] = [], 0
    assert plain.episodes == mixed.episodes > 2 * n and len(expected) == mixed.source.targets.size
    got_q = mixed.source.targets.q[: len(expected)].astype(np.float64)
    np.testing.assert_allclose(got_q, np.array([q for q, _ in expected]), atol=2e-3)
    np.testing.assert_array_equal(mixed.source.targets.weight[: len(expected)], np.array([w for _, w in expected]))
    assert np.abs(got_q - plain.source.targets.q[: len(expected)]).max() > 0.1  # the outcome did change targets


def test_pending_targets_grow_past_their_length_and_come_back_game_by_game():
    from selfplay.replay import PendingTargets

    p = PendingTargets(3, (1, 1, 1), 2, length=2)
    for ply in range(5):  # game 1 plays 5 searched moves (past length 2), game 0 two, game 2 none
        envs = np.array([0, 1]) if ply < 2 else np.array([1])
        p.add(
            envs,
            np.full((len(envs), 1, 1, 1), ply),
            np.zeros((len(envs), 2)),
            np.full((len(envs), 2), 0.5),
            np.ones(len(envs), int),
            np.array([0, 1])[: len(envs)] if ply < 2 else np.array([1]),
            np.full(len(envs), ply),
        )
    saved = p.state_dict()
    obs, q, w = p.finish(np.array([1, 0]), np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([5, 2]), 0.5, 1.0)
    # game 1 first (envs order): mover 1 lost (-1) in all 5 rows, then game 0: mover 0 lost (-1)
    np.testing.assert_allclose(q[:, 1], [-(0.5**4), -(0.5**3), -(0.5**2), -0.5, -1.0, -0.5, -1.0])
    assert obs[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4, 0, 1] and (q[:, 0] == 0).all() and (w == 0.5).all()
    assert p.count.tolist() == [0, 0, 0]
    p2 = PendingTargets(3, (1, 1, 1), 2)
    p2.load_state_dict(saved)
    again = p2.finish(np.array([1, 0]), np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([5, 2]), 0.5, 1.0)
    for a, b in zip(again, (obs, q, w)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="another number of games"):
        PendingTargets(4, (1, 1, 1), 2).load_state_dict(saved)


def test_with_gumbel_roots_the_learner_plays_its_searchs_gumbel_choice_from_the_first_move():
    # temperature_moves does not apply: the Gumbel noise is the exploration, at every ply
    from selfplay import mcts
    from selfplay.sources import epsilon_at

    learner = _learner(
        mcts=True, num_envs=32, simulations=8, root_selection="gumbel", considered_actions=4, outcome_mix=0.0
    )
    assert learner.cfg.search.temperature_moves > 0 and learner.cfg.search.dirichlet_alpha > 0
    n = learner.cfg.num_envs
    for _ in range(6):
        twin = copy.deepcopy(learner)
        mine = np.flatnonzero(twin.state.current_player == twin.learner_seat)
        theirs = np.flatnonzero(twin.state.current_player != twin.learner_seat)
        if len(theirs):  # the other seat's epsilon-greedy move draws from the same generator first
            other = games.take(twin.state, theirs)
            greedy = twin.greedy(twin.frozen, twin.obs[theirs], other.legal_action_mask)
            games.explore(other, greedy, epsilon_at(twin.cfg, twin.moves), twin.rng)
        cfg = mcts.SearchConfig(simulations=8, gumbel_considered=4)
        sub = games.take(twin.state, mine)
        res = mcts.search(twin.game, sub, mcts.NetworkEvaluator(twin.game, twin.online), cfg, twin.rng)
        # the search visited 4 actions per root, 1, 1, 3 and 3 times: Gumbel's halving
        assert (np.sort(res.visits, axis=1)[:, -4:] == [1, 1, 3, 3]).all()
        learner.play()
        played = learner.replay.action[(learner.replay.pos - n + np.arange(n)) % learner.replay.capacity]
        assert (played[mine] == res.action).all()


@pytest.mark.parametrize("symmetric", [False, True])
def test_symmetric_search_stores_the_targets_of_a_search_on_the_networks_symmetry_mean(symmetric):
    """``--symmetric-search``: the learner's searches evaluate leaves by the mean over the
    board's symmetries (``network.SymmetryMean``), so the targets it stores are those of
    a search with that evaluator, and not those of the network alone (and the other way
    round without it)."""
    from selfplay import mcts
    from selfplay.network import symmetry_mean

    learner = _learner(
        mcts=True, num_envs=16, simulations=8, outcome_mix=0.0, dirichlet_alpha=0.0, symmetric_search=symmetric
    )
    for _ in range(6):  # positions that are not their own mirror image
        learner.play()
    st, g = learner.cfg.search, learner.game
    s = learner.state
    sub = games.take(s, np.flatnonzero(s.current_player == learner.learner_seat))

    def targets_of(net):
        res = mcts.search(
            g,
            sub,
            mcts.NetworkEvaluator(g, net, st.prior_temperature),
            mcts.SearchConfig(simulations=st.simulations, root_all=st.root_all),
            np.random.default_rng(0),
        )
        return targets.SEARCH_TARGETS[st.search_target](res, sub.legal_action_mask)[0]

    with torch.no_grad():
        averaged, alone = targets_of(symmetry_mean(learner.online, g)), targets_of(learner.online)
    before = learner.source.targets.pos
    learner.play()
    stored = learner.source.targets.q[before : before + sub.batch_size].astype(np.float32)
    want, other = (averaged, alone) if symmetric else (alone, averaged)
    np.testing.assert_allclose(stored, np.nan_to_num(want).astype(np.float16), atol=1e-3)
    assert not np.allclose(stored, np.nan_to_num(other).astype(np.float16), atol=1e-3)


def test_the_td_loss_is_a_function_of_what_it_is_given_terminal_moves_regress_to_their_reward():
    """Known answer without a learner: a memory of finished games only (done), so every
    target is the move's reward, whatever the frozen network says; with a network that
    outputs Q = 0 the squared loss is the mean squared reward."""
    from selfplay.replay import Replay
    from selfplay.sources import td_loss

    class Zero(torch.nn.Module):
        def forward(self, obs):
            return torch.zeros(len(obs), 9) + 0.0 * obs.sum()

    class Wild(torch.nn.Module):  # a frozen copy whose values must not matter at a terminal
        def forward(self, obs):
            return torch.full((len(obs), 9), 0.9)

    replay = Replay(64, (2, 3, 3), 9, binary=True)
    rng = np.random.default_rng(0)
    n = 64
    rewards = rng.choice([-1.0, 0.0, 1.0], n)
    obs = rng.integers(0, 2, (n, 2, 3, 3)).astype(np.float32)
    replay.add(obs, rng.integers(0, 9, n), rewards, obs, np.ones(n, bool), np.ones((n, 9), bool))
    cfg = profiles.default_config("tic_tac_toe", batch_size=64, loss="mse", n_step=1)
    loss = td_loss(cfg=cfg, replay=replay, online=Zero(), frozen=Wild(), rng=np.random.default_rng(1))
    sampled = replay.sample(64, np.random.default_rng(1))["reward"].astype(np.float64)
    assert loss.item() == pytest.approx(float(np.mean(sampled**2)), rel=1e-6) and loss.item() > 0
