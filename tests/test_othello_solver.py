"""The exact Othello endgame solver: known answers from plain minimax over the engine's own
rules, and an agent that keeps the best outcome in the last empties."""

from __future__ import annotations

import numpy as np
import pytest

import games
from selfplay import players
from selfplay.agents import RandomAgent
from selfplay.othello_solver import ILLEGAL, UNKNOWN, EndgameAgent, empties, move_values

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
G = games.make("othello")


def _position(rng, left: int):
    """A random game's position with ``left`` empties, in play."""
    while True:
        s = G.init(1)
        while empties(s) > left and not s.terminated[0]:
            s = G.step(s, RandomAgent().act(s, rng))
        if not s.terminated[0]:
            return s


def _minimax(s, p: int) -> int:
    """Final disc difference for player ``p`` with perfect play, by the engine's rules alone."""
    if s.terminated[0]:
        black, white = (bin(int(x)).count("1") for x in s.stones[0])
        return black - white if p == 0 else white - black
    q = int(s.current_player[0])
    best = max(_minimax(G.step(s, np.array([a])), q) for a in np.flatnonzero(s.legal_action_mask[0]))
    return best if q == p else -best


def test_every_move_value_is_plain_minimaxs_over_the_engines_rules():
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(25):
        s = _position(rng, 6)
        exact, wld = move_values(s, exact=True), move_values(s)
        p = int(s.current_player[0])
        legal = np.flatnonzero(s.legal_action_mask[0])
        assert set(np.flatnonzero(exact != ILLEGAL)) == set(legal)
        for a in legal:
            ref = _minimax(G.step(s, np.array([a])), p)
            assert exact[a] == ref and wld[a] == np.sign(ref), (a, ref, exact[a], wld[a])
            checked += 1
    assert checked > 60


def test_a_position_where_the_mover_must_pass_is_valued_through_the_pass():
    rng = np.random.default_rng(11)
    for _ in range(2000):
        s = _position(rng, 8)
        if s.legal_action_mask[0, 64]:
            vals = move_values(s, exact=True)
            assert np.flatnonzero(vals != ILLEGAL).tolist() == [64]
            assert vals[64] == _minimax(G.step(s, np.array([64])), int(s.current_player[0]))
            return
    pytest.fail("no position with a forced pass")


def test_a_budget_too_small_says_unknown_instead_of_a_value():
    s = _position(np.random.default_rng(2), 16)
    vals = move_values(s, budget=10)
    assert (vals[vals != ILLEGAL] == UNKNOWN).any()


def test_the_endgame_agent_keeps_the_best_outcome_and_the_inner_agents_move_where_it_can():
    rng = np.random.default_rng(3)

    class First:  # always the lowest legal action: a weak agent to correct
        game = G

        def act(self, state, rng):
            return state.legal_action_mask.argmax(axis=1)

        def q_values(self, state):
            return np.where(state.legal_action_mask, -np.arange(65, dtype=np.float32), -np.inf)

    agent = EndgameAgent(First(), empties=8)
    corrected = kept = 0
    for _ in range(30):
        s = _position(rng, 8)
        a = int(agent.act(s, rng)[0])
        vals = move_values(s)
        best = vals[vals != ILLEGAL].max()
        assert vals[a] == best
        first = int(s.legal_action_mask[0].argmax())
        if vals[first] == best:
            assert a == first
            kept += 1
        else:
            corrected += 1
    assert corrected > 0 and kept > 0
    early = _position(rng, 20)  # outside its empties: the inner agent's move
    assert agent.act(early, rng)[0] == early.legal_action_mask[0].argmax()


def test_endgame_is_a_player_option_for_othello_only():
    p = players.parse(f"{ROOT}/checkpoints/othello.pt@endgame=14")[0]
    assert p.endgame == 14 and p.label.endswith("@endgame=14")
    agent = players.make_agent(p, "othello")
    assert isinstance(agent, EndgameAgent) and agent.empties == 14
    with pytest.raises(players.PlayerError, match="endgame=N plays othello only"):
        players.parse(f"{ROOT}/checkpoints/hex_9x9.pt@endgame=14")
    with pytest.raises(players.PlayerError, match="endgame=N, N empties up to 30"):
        players.parse(f"{ROOT}/checkpoints/othello.pt@endgame=99")


def test_endgame_targets_put_each_legal_moves_exact_outcome_in_place_of_the_searchs():
    from selfplay import dqn, profiles

    cfg = profiles.default_config("othello", mcts=True, endgame_targets=8, num_envs=4, simulations=2)
    source = dqn.Learner(cfg).source
    rng = np.random.default_rng(7)
    batch = games.concat([_position(rng, 8), _position(rng, 8), _position(rng, 30)])
    q = np.full((3, 65), 0.25, np.float32)
    weight = np.full((3, 65), 1 / 65, np.float32)
    q2, w2 = source._exact_endgame(batch, q, weight)
    for i in (0, 1):
        s = games.take(batch, np.array([i]))
        legal = s.legal_action_mask[0]
        assert np.array_equal(q2[i, legal], move_values(s)[legal].astype(np.float32))
        assert np.allclose(w2[i, legal], 1 / legal.sum()) and (w2[i, ~legal] == 0).all()
    assert (q2[2] == 0.25).all() and (w2[2] == weight[2]).all()  # 30 empties: the search's targets stay
    assert (q == 0.25).all()  # the search's arrays are not written over


@pytest.mark.parametrize(
    "kw, says",
    [
        (dict(game="connect_four", mcts=True), "--endgame-targets must name a game with an exact endgame solver"),
        (dict(game="othello"), "--endgame-targets must go with --mcts"),
    ],
)
def test_endgame_targets_are_refused_where_they_cannot_work(kw, says):
    from click.testing import CliRunner

    from selfplay.cli import cli

    args = ["train", "--game", kw["game"], "--endgame-targets", "10", "--steps", "10"] + (
        ["--mcts"] if kw.get("mcts") else []
    )
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and says in r.output, r.output
