"""The exact connect four solver against brute force on late positions, and known answers."""

import numpy as np

import games
from selfplay.c4solver import ILLEGAL, PerfectAgent, Solver, from_state

G = games.make("connect_four")


def _brute(state) -> int:
    """Plain negamax through our engine (no pruning): value for the player to move."""
    best = -2
    for a in np.flatnonzero(state.legal_action_mask[0]):
        nxt = G.step(state, np.array([a]))
        if nxt.terminated[0]:
            v = int(nxt.rewards[0, state.current_player[0]])
        else:
            v = -_brute(nxt)
        best = max(best, v)
        if best == 1:
            break
    return best


def _random_position(rng, plies):
    while True:
        s = G.init(1)
        for _ in range(plies):
            s = G.step(s, games.random_actions(s, rng))
            if s.terminated[0]:
                break
        if not s.terminated[0]:
            return s


def test_matches_brute_force_on_late_positions():
    rng = np.random.default_rng(0)
    solver = Solver(table_bits=16)
    outcomes = set()
    for _ in range(60):
        s = _random_position(rng, int(rng.integers(34, 39)))
        vals = solver.move_values(*from_state(s))
        for a in range(7):
            if not s.legal_action_mask[0, a]:
                assert vals[a] == ILLEGAL
                continue
            nxt = G.step(s, np.array([a]))
            expected = int(nxt.rewards[0, s.current_player[0]]) if nxt.terminated[0] else -_brute(nxt)
            assert vals[a] == expected
            outcomes.add(expected)
    assert outcomes == {-1, 0, 1}, "the sample covers wins, draws and losses"


def test_known_answers_win_and_block():
    solver = Solver(table_bits=18)
    s = G.init(1)
    for m in (0, 0, 1, 1, 2, 5):  # X to move wins at column 3 (index 3)
        s = G.step(s, np.array([m]))
    assert solver.move_values(*from_state(s), budget=10**5)[3] == 1
    s = G.init(1)
    for m in (0, 0, 1, 1, 2):  # O must block column 3: every other move loses
        s = G.step(s, np.array([m]))
    v = solver.move_values(*from_state(s), budget=10**5)
    assert all(v[c] == -1 for c in range(7) if c != 3) and v[3] != -1


def test_perfect_player_picks_a_best_move():
    rng = np.random.default_rng(5)
    agent = PerfectAgent()
    solver = Solver(table_bits=16)
    checked = 0
    while checked < 15:
        s = _random_position(rng, 30)
        v = solver.move_values(*from_state(s)).astype(int)
        v[v == ILLEGAL] = -9
        if len(set(v[v > -9])) < 2:
            continue
        assert v[agent.act(s, rng)[0]] == v.max()
        checked += 1
