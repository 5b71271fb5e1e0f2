"""Batched MCTS by known answers."""

import dataclasses

import numpy as np
import pytest
import torch

import games
from selfplay import mcts, targets
from selfplay.config import NetConfig
from selfplay.minimax import solve
from selfplay.network import build


def _c4(moves):
    g = games.make("connect_four")
    s = g.init(1)
    for m in moves:
        s = g.step(s, np.array([m]))
    return g, s


def _ttt(x_cells, o_cells):
    g = games.make("tic_tac_toe")
    stones = np.array([[sum(1 << c for c in x_cells), sum(1 << c for c in o_cells)]])
    return g, g.from_stones(stones)


CASES = {
    # tic-tac-toe: X (a1, b1) vs O (a2, b2), X to move wins at c1 = cell 2
    "ttt win in one": (lambda: _ttt([0, 1], [3, 4]), 2),
    # X a1 b1, O b2: O to move must block at c1
    "ttt must block": (lambda: _ttt([0, 1], [4]), 2),
    # connect four: X has 0,1,2 on the bottom row, O stacked on 0 and 1... X to move wins at column 3
    "c4 win in one": (lambda: _c4([0, 0, 1, 1, 2, 5]), 3),
    # O to move must block column 3 (X threatens the bottom row 0-1-2-3)
    "c4 must block": (lambda: _c4([0, 0, 1, 1, 2]), 3),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("evaluator", ["rollout", "uniform"])
@pytest.mark.parametrize("lanes", [1, 8])
def test_finds_win_in_one_and_forced_block(case, evaluator, lanes):
    make, expected = CASES[case]
    g, s = make()
    ev = (
        mcts.RolloutEvaluator(g, rollouts=2, rng=np.random.default_rng(0))
        if evaluator == "rollout"
        else mcts.UniformEvaluator()
    )
    r = mcts.search(g, s, ev, mcts.SearchConfig(simulations=400, lanes=lanes), np.random.default_rng(0))
    assert r.simulations == 400 and r.visits[0].sum() == 400
    assert r.action[0] == expected
    if "win" in case:
        # the winning move's empirical Q is an exact, mover's-view +1
        assert r.q[0, expected] == pytest.approx(1.0)


@pytest.mark.parametrize("lanes", [1, 16])
def test_root_values_match_minimax_on_tic_tac_toe(lanes):
    # 3,000 simulations also make each tree grow past its first 1,024 node slots
    stones, values = solve()
    count = np.array([bin(int(x | o)).count("1") for x, o in stones])
    sel = np.flatnonzero(count >= 4)[::7]
    g = games.make("tic_tac_toe")
    r = mcts.search(
        g,
        g.from_stones(stones[sel]),
        mcts.UniformEvaluator(),
        mcts.SearchConfig(simulations=3000, lanes=lanes),
        np.random.default_rng(0),
    )
    v = values[sel]
    best = v.max(axis=1)
    rows = np.arange(len(sel))
    assert (v[rows, r.action] == best).all(), "the chosen move keeps the best outcome"
    np.testing.assert_allclose(r.q[rows, r.action], best, atol=0.1)
    np.testing.assert_allclose(r.value, best, atol=0.15)


@pytest.mark.parametrize("lanes", [1, 4])
def test_batch_of_b_equals_b_single_searches(lanes):
    g = games.make("connect_four")
    torch.manual_seed(0)
    net = build(NetConfig(kind="mlp", hidden=32, layers=1), g.obs_shape, g.num_actions)
    ev = mcts.NetworkEvaluator(g, net)
    rng = np.random.default_rng(1)
    s = g.init(6)
    for _ in range(5):
        s = g.step(s, games.random_actions(s, rng))
    cfg = mcts.SearchConfig(simulations=64, lanes=lanes)
    batch = mcts.search(g, s, ev, cfg, np.random.default_rng(0))
    for i in range(6):
        one = mcts.search(g, games.take(s, i), ev, cfg, np.random.default_rng(0))
        np.testing.assert_array_equal(one.visits[0], batch.visits[i])
        np.testing.assert_allclose(one.q[0], batch.q[i], rtol=1e-5, equal_nan=True)
        assert one.action[0] == batch.action[i]
        assert one.visits[0].sum() == 64


def test_virtual_losses_are_all_taken_back():
    # with many lanes, collisions happen; afterwards every root edge's N counts real
    # simulations only, and Q stays inside [-1, 1]
    g = games.make("connect_four")
    s = g.step(g.init(3), np.array([3, 3, 0]))
    r = mcts.search(
        g, s, mcts.UniformEvaluator(), mcts.SearchConfig(simulations=100, lanes=16), np.random.default_rng(0)
    )
    np.testing.assert_array_equal(r.visits.sum(axis=1), [100, 100, 100])
    q = r.q[np.isfinite(r.q)]
    assert (np.abs(q) <= 1.0 + 1e-6).all()
    # uniform evaluator: a value of 0 everywhere but at terminals; no win is in reach
    # within a few plies of these positions, so a leftover virtual loss would show as Q < 0
    assert np.abs(q).max() < 0.05


def test_targets_have_the_movers_sign():
    # O to move (player 1) in a position where X threatens a win O cannot stop: two threats
    g, s = _ttt([0, 4], [1])  # X a1 b2, O b1: O to move; X wins by force
    assert s.current_player[0] == 1
    r = mcts.search(g, s, mcts.UniformEvaluator(), mcts.SearchConfig(simulations=2000), np.random.default_rng(0))
    # every visited action of O's loses: its Q (O's view) is negative
    visited = r.visits[0] > 50
    assert (r.q[0][visited] < 0).all()
    # and X's win in one position gives X a positive Q
    g, s = _ttt([0, 1], [3, 4])
    r = mcts.search(g, s, mcts.UniformEvaluator(), mcts.SearchConfig(simulations=50), np.random.default_rng(0))
    assert r.q[0, 2] == 1.0


def test_search_works_on_an_openspiel_adapter_game():
    g = games.make("openspiel:tic_tac_toe")
    import pyspiel

    ps = pyspiel.load_game("tic_tac_toe").new_initial_state()
    for a in (0, 3, 1, 4):
        ps.apply_action(a)
    s = g.from_pyspiel([ps])
    r = mcts.search(g, s, mcts.UniformEvaluator(), mcts.SearchConfig(simulations=200), np.random.default_rng(0))
    assert r.action[0] == 2


def test_time_limit_stops_early():
    g = games.make("connect_four")
    r = mcts.search(
        g,
        g.init(1),
        mcts.RolloutEvaluator(g),
        mcts.SearchConfig(simulations=10**6, time_limit=0.05),
        np.random.default_rng(0),
    )
    assert 1 <= r.simulations < 10**6


def test_a_move_time_agent_searches_each_live_game_on_its_own_budget():
    # a batch of three connect four positions: a win in one, a forced block, and a finished
    # game; each live game gets its own search, and the finished one is left alone
    from selfplay.agents import QAgent

    g = games.make("connect_four")
    torch.manual_seed(0)
    net = build(NetConfig(kind="mlp", hidden=32, layers=1), g.obs_shape, g.num_actions)
    s = games.concat([_c4([0, 0, 1, 1, 2, 5])[1], _c4([0, 0, 1, 1, 2])[1], _c4([0, 1, 0, 1, 0, 1, 0])[1]])
    assert s.terminated.tolist() == [False, False, True]
    calls = []
    real = mcts.search

    def spy(game, roots, evaluator, cfg, rng):
        calls.append((roots.batch_size, cfg.time_limit, cfg.lanes))
        return real(game, roots, evaluator, dataclasses.replace(cfg, time_limit=None, simulations=300), rng)

    agent = QAgent(g, net, move_time=0.05)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mcts, "search", spy)
        actions = agent.act(s, np.random.default_rng(0))
    assert calls == [(1, 0.05, mcts.auto_lanes(1)), (1, 0.05, mcts.auto_lanes(1))]
    assert actions[:2].tolist() == [3, 3]


# ------------------------------------------------------------------ Gumbel root selection
def test_considered_visits_are_mctx_sequential_halving():
    # by hand from mctx's get_sequence_of_considered_visits: every considered action once,
    # then the better half (at least 2) n / (log2 m * considered) more visits each
    assert mcts.considered_visits(4, 8) == (0, 0, 0, 0, 1, 1, 2, 2)
    assert mcts.considered_visits(7, 16) == (0,) * 7 + (1, 1, 1, 2, 2, 3, 3, 4, 4)
    assert mcts.considered_visits(1, 4) == (0, 1, 2, 3)
    for m in range(1, 20):
        for n in range(1, 70):
            seq = mcts.considered_visits(m, n)
            assert len(seq) == n and seq[: min(m, n)] == (0,) * min(m, n)
            # each visit count is asked of at most m actions, and never more often than the count below it
            counts = np.bincount(seq)
            assert counts.max() <= m and (np.diff(counts) <= 0).all()


@pytest.mark.parametrize("lanes", [1, 4])
def test_gumbel_root_visits_its_considered_actions_by_halving(lanes):
    g = games.make("connect_four")
    s = g.init(32)
    cfg = mcts.SearchConfig(simulations=8, gumbel_considered=4, lanes=lanes)
    r = mcts.search(g, s, mcts.UniformEvaluator(), cfg, np.random.default_rng(0))
    # 4 of the 7 columns considered, each visited once, then the best 2 twice more
    assert (np.sort(r.visits, axis=1)[:, -4:] == [1, 1, 3, 3]).all()
    assert (r.visits[np.arange(32), r.action] == 3).all(), "the move is one of the most visited"
    # the Gumbel draws differ per root: the roots do not all consider the same columns
    assert len({tuple(np.flatnonzero(v)) for v in r.visits}) > 5


@pytest.mark.parametrize("case", list(CASES))
def test_gumbel_root_finds_win_in_one_and_forced_block(case):
    # 64 copies of the position, each with its own Gumbel draws: every one finds the move
    make, expected = CASES[case]
    g, s = make()
    s = games.take(s, np.zeros(64, np.int64))
    cfg = mcts.SearchConfig(simulations=200, gumbel_considered=16)
    r = mcts.search(g, s, mcts.UniformEvaluator(), cfg, np.random.default_rng(0))
    assert (r.action == expected).all()
    assert (r.visits.sum(axis=1) == 200).all()


def test_gumbel_root_refuses_the_puct_roots_exploration():
    with pytest.raises(ValueError, match="Gumbel"):
        mcts.SearchConfig(gumbel_considered=8, root_all=True)
    with pytest.raises(ValueError, match="Gumbel"):
        mcts.SearchConfig(gumbel_considered=8, dirichlet_alpha=0.3)
    with pytest.raises(ValueError, match="Gumbel"):
        mcts.SearchConfig(gumbel_considered=8, solve=True)


# ------------------------------------------------------------------ the solver
@pytest.mark.parametrize("lanes", [1, 16])
def test_the_solver_proves_every_tic_tac_toe_position_of_three_stones_or_more(lanes):
    # every one of the 4,438 positions: the uniform evaluator knows nothing, so each proof
    # comes from terminal positions alone; every root is proven at minimax's value, every
    # proven root action's q is its minimax value, the move keeps the best outcome, and a
    # proven root stops searching (fewer simulations than the budget)
    stones, values = solve()
    count = np.array([bin(int(x | o)).count("1") for x, o in stones])
    sel = np.flatnonzero(count >= 3)
    g = games.make("tic_tac_toe")
    cfg = mcts.SearchConfig(simulations=20000, lanes=lanes, solve=True)
    r = mcts.search(g, g.from_stones(stones[sel]), mcts.UniformEvaluator(), cfg, np.random.default_rng(0))
    v = values[sel]
    best = v.max(axis=1)
    rows = np.arange(len(sel))
    assert r.proven.all()
    np.testing.assert_array_equal(r.value, best)
    assert (v[rows, r.action] == best).all()
    assert r.proven_actions.any(axis=1).all()
    np.testing.assert_array_equal(r.q[r.proven_actions], v[r.proven_actions])
    assert r.visits.sum(axis=1).max() < 20000


@pytest.mark.parametrize("lanes", [1, 8])
def test_what_the_solver_proves_in_connect_four_is_the_exact_solvers_value(lanes):
    # the labelled late positions (exact values by the connect four solver), searched with a
    # small untrained network: wherever the search claims a proof, it is the truth
    from selfplay.exact import load_c4_positions, states_from_moves

    d = load_c4_positions()
    late = np.flatnonzero(d["phase"] == "late")
    g = games.make("connect_four")
    s = states_from_moves(g, d["moves"][late].astype(np.int64))
    torch.manual_seed(0)
    net = build(NetConfig(kind="mlp", hidden=32, layers=1), g.obs_shape, g.num_actions)
    cfg = mcts.SearchConfig(simulations=400, lanes=lanes, solve=True)
    r = mcts.search(g, s, mcts.NetworkEvaluator(g, net), cfg, np.random.default_rng(0))
    v = d["values"][late].astype(np.float32)
    assert r.proven_actions.sum() > 300 and r.proven.sum() > 50, "the check is not empty"
    np.testing.assert_array_equal(r.q[r.proven_actions], v[r.proven_actions])
    best = np.where(v > -9, v, -99).max(axis=1)
    np.testing.assert_array_equal(r.value[r.proven], best[r.proven])
    rows = np.flatnonzero(r.proven)
    assert (v[rows, r.action[rows]] == best[rows]).all()
    # no proven loss is played while a move not proven lost remains
    lost = r.proven_actions & (r.q == -1)
    open_move = (s.legal_action_mask & ~lost).any(axis=1)
    assert not lost[np.arange(len(late)), r.action][open_move].any()


def test_without_the_solver_the_search_proves_nothing_and_runs_its_budget():
    g, s = CASES["c4 win in one"][0]()
    r = mcts.search(g, s, mcts.UniformEvaluator(), mcts.SearchConfig(simulations=300), np.random.default_rng(0))
    assert not r.proven.any() and not r.proven_actions.any() and r.visits.sum() == 300
    r = mcts.search(
        g, s, mcts.UniformEvaluator(), mcts.SearchConfig(simulations=300, solve=True), np.random.default_rng(0)
    )
    assert r.proven[0] and r.value[0] == 1.0 and r.action[0] == 3 and r.visits.sum() < 300


@pytest.mark.parametrize("move_time", [None, 0.05])
def test_a_solving_agents_searches_prove_and_a_plain_agents_do_not(move_time):
    # the agent's ``solve`` reaches its every search, batched or on a clock
    from selfplay.agents import QAgent

    g, s = CASES["c4 win in one"][0]()
    torch.manual_seed(0)
    net = build(NetConfig(kind="mlp", hidden=32, layers=1), g.obs_shape, g.num_actions)
    seen = []
    real = mcts.search

    def spy(game, roots, evaluator, cfg, rng):
        r = real(game, roots, evaluator, dataclasses.replace(cfg, time_limit=None, simulations=300), rng)
        seen.append((cfg.solve, bool(r.proven[0])))
        return r

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mcts, "search", spy)
        for solve in (False, True):
            agent = QAgent(g, net, search=None if move_time else 300, move_time=move_time, solve=solve)
            assert agent.act(s, np.random.default_rng(0))[0] == 3
    assert seen == [(False, False), (True, True)]


@pytest.mark.parametrize("temperature", [0.1, 0.25, 1.0, 4.0])
def test_network_priors_are_the_softmax_of_legal_q_at_the_temperature(temperature):
    from selfplay.network import legal_q

    g, s = _c4([3, 3, 3, 3, 3, 3, 2])  # column 3 full: an illegal action
    s = games.take(s, np.zeros(3, np.int64))
    torch.manual_seed(0)
    net = build(NetConfig(kind="mlp", hidden=32, layers=1), g.obs_shape, g.num_actions)
    value, priors = mcts.NetworkEvaluator(g, net, temperature)(s)
    q = legal_q(net, g.observe(s), s.legal_action_mask).numpy().astype(np.float64)
    legal = s.legal_action_mask[0]
    e = np.exp((q[0, legal] - q[0, legal].max()) / temperature)
    np.testing.assert_allclose(priors[0, legal], e / e.sum(), rtol=1e-5)
    assert priors[0, 3] == 0 and value[0] == pytest.approx(q[0, legal].max())


def test_search_targets_by_hand():
    """One root with actions 0-1 visited (3 and 1 times), 2 legal and unvisited, 3 illegal:
    "visits" regresses the visited actions' Q by visit share; "completed" every legal
    action equally, the unvisited one toward the root's value; "mixed" completed's targets
    at the mean of the two weightings."""
    nan = np.nan
    res = mcts.SearchResult(
        visits=np.array([[3, 1, 0, 0]], np.float32),
        q=np.array([[0.5, -0.2, nan, nan]], np.float32),
        value=np.array([0.3], np.float32),
        action=np.array([0]),
        simulations=4,
    )
    legal = np.array([[True, True, True, False]])
    q, w = targets.SEARCH_TARGETS["visits"](res, legal)
    np.testing.assert_allclose(w, [[0.75, 0.25, 0, 0]])
    np.testing.assert_allclose(q[:, :2], [[0.5, -0.2]])
    q, w = targets.SEARCH_TARGETS["completed"](res, legal)
    np.testing.assert_allclose(w, [[1 / 3, 1 / 3, 1 / 3, 0]], rtol=1e-6)
    np.testing.assert_allclose(q[:, :3], [[0.5, -0.2, 0.3]])
    q, w = targets.SEARCH_TARGETS["mixed"](res, legal)
    np.testing.assert_allclose(w, [[0.375 + 1 / 6, 0.125 + 1 / 6, 1 / 6, 0]], rtol=1e-6)
    np.testing.assert_allclose(q[:, :3], [[0.5, -0.2, 0.3]])


def test_hex_takes_visit_targets_connect_four_mixed_and_tic_tac_toe_completed_q():
    """The measured choice per game (docs/experiments.md) is the profile's, in MCTS mode and
    in the strong preset."""
    from selfplay.profiles import default_config

    for name in ("hex_5x5", "hex_9x9", "hex_11x11"):
        assert default_config(name, mcts=True).search.search_target == "visits"
        assert default_config(name, preset="strong").search.search_target == "visits"
    assert default_config("connect_four", mcts=True).search.search_target == "mixed"
    assert default_config("connect_four", preset="strong").search.search_target == "mixed"
    assert default_config("tic_tac_toe", mcts=True).search.search_target == "completed"
