"""Othello's and Hex's rules and terminal text beyond the shared suites: passes, the board
as the players see it, the notation."""

import numpy as np
import pytest

import games
from games import IllegalActionError
from games.othello import PASS


def _othello_pass_position():
    # Black (to move) has a disc on b1 and White one on the corner a1: no line through a
    # corner can be flanked, so Black has no move, and White (c1 flanks b1) has one
    g = games.make("othello")
    cells = np.zeros((1, 8, 8), np.int8)
    cells[0, 0, 0], cells[0, 0, 1] = 2, 1
    return g, g.from_cells(cells)


def test_othello_a_player_without_a_move_passes_and_the_game_goes_on():
    g, s = _othello_pass_position()
    assert not s.terminated[0] and np.flatnonzero(s.legal_action_mask[0]).tolist() == [PASS]
    board = g.render(s)
    assert "X has no move and must pass" in board and "X's moves: pass" in board
    with pytest.raises(IllegalActionError, match="must pass"):
        g.parse_action(s, "c1")
    assert g.parse_action(s, "PASS ") == PASS
    s = g.step(s, np.array([PASS]))
    assert s.current_player[0] == 1 and np.flatnonzero(s.legal_action_mask[0]).tolist() == [2]  # c1
    assert "X passed" in g.render(s)
    s = g.step(s, np.array([2]))  # White takes b1: Black has no disc left, neither can move
    assert s.terminated[0] and s.rewards[0].tolist() == [-1.0, 1.0]


def test_othello_refuses_a_pass_while_a_move_exists_and_says_why_a_move_is_wrong():
    g = games.make("othello")
    s = g.init(1)
    with pytest.raises(IllegalActionError, match="only when you have no move"):
        g.parse_action(s, "pass")
    with pytest.raises(IllegalActionError, match="is taken"):
        g.parse_action(s, "d4")
    with pytest.raises(IllegalActionError, match="turns no disc"):
        g.parse_action(s, "a1")
    for bad in ("i1", "a9", "d", "d33", "3d"):
        with pytest.raises(ValueError, match="is not a move"):
            g.parse_action(s, bad)
    assert g.parse_action(s, "D3") == 19 and g.action_to_string(s, 19) == "d3"
    board = g.render(s)
    assert board.splitlines()[0].split() == list("abcdefgh")
    assert [line.split()[0] for line in board.splitlines()[1:9]] == [str(r) for r in range(1, 9)]
    assert "discs: X 2  O 2" in board and "X's moves: d3 c4 f5 e6" in board


@pytest.mark.parametrize("size", [5, 9, 11])
def test_hex_is_drawn_as_a_rhombus_with_each_sides_edges(size):
    g = games.make(f"hex_{size}x{size}")
    s = g.step(g.init(1), np.array([size + 2]))  # c2
    lines = g.render(s).splitlines()
    assert "X: top to bottom" in lines[0] and "O: left to right" in lines[1]
    rows = lines[1 : size + 1]
    # each row starts two columns further right than the one above: half a cell
    starts = [len(r) - len(r.lstrip()) + len(r.lstrip().split()[0]) for r in rows]
    assert all(b - a == 2 for a, b in zip(starts, starts[1:]))
    assert [r.split()[0] for r in rows] == [str(k) for k in range(1, size + 1)]
    assert "[X]" in rows[1]
    letters = "abcdefghijk"[:size]
    assert lines[0].split()[:size] == list(letters) and lines[-1].split() == list(letters)


def test_hex_notation_and_the_first_players_edges():
    g = games.make("hex_5x5")
    s = g.init(1)
    assert g.parse_action(s, "c5") == 22 and g.action_to_string(s, 22) == "c5"
    for bad in ("f1", "a6", "a0", "c", "5c", "a10"):
        with pytest.raises(ValueError):
            g.parse_action(s, bad)
    # X down column a joins top and bottom and wins; O's row of four does not join its edges
    for x, o in zip((0, 5, 10, 15), (1, 2, 3, 4)):
        s = g.step(s, np.array([x]))
        s = g.step(s, np.array([o]))
        assert not s.terminated[0]
    with pytest.raises(IllegalActionError, match="taken"):
        g.parse_action(s, "a1")
    s = g.step(s, np.array([20]))
    assert s.terminated[0] and s.rewards[0].tolist() == [1.0, -1.0]
