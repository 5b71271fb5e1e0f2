"""Exact Othello endgames: alpha-beta on bitboards, compiled by numba, as engines play the
last empties (Edax, GRhino: exact from 10 to 18 empties).

Bitboards are the engine's (:mod:`games.othello`: bit ``8 * row + col``). ``own`` holds
the discs of the player to move, ``opp`` the other's. A value is the final disc
difference with perfect play from the mover's point of view (own discs minus the
opponent's, empties uncounted, as OpenSpiel scores it); its sign is win, draw or loss.

The search is negamax with fail-soft alpha-beta. Moves are tried fastest first (the
move that leaves the opponent the fewest replies) while more than :data:`SORT_FROM`
empties remain, and corners first below that. Searched in the window (-1, 1) it proves
win, draw or loss only, several times faster than the exact margin. A node budget
bounds the work: a search that runs out reports :data:`UNKNOWN`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

import games
from games.othello import _flips, _moves

UNKNOWN = 99
ILLEGAL = -99
#: below this many empties moves are not sorted by the opponent's replies (not worth it)
SORT_FROM = 7
_CORNERS = np.uint64((1 << 0) | (1 << 7) | (1 << 56) | (1 << 63))


@njit(cache=True, inline="always")
def _pop(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def _search(own, opp, alpha, beta, passed, nodes, budget):
    """Negamax value of the position (mover ``own``), fail-soft in (alpha, beta);
    ``nodes[0]`` counts the nodes, and past ``budget`` the value is meaningless (the
    caller checks the count)."""
    nodes[0] += 1
    moves = _moves(own, opp)
    if moves == 0:
        if passed != 0 or _moves(opp, own) == 0:
            return np.int64(_pop(own) - _pop(opp))
        return -_search(opp, own, -beta, -alpha, np.int64(1), nodes, budget)
    if nodes[0] > budget:
        return np.int64(0)
    empties = 64 - _pop(own | opp)
    # the moves, in the order they are tried
    cand = np.zeros(32, np.uint64)
    keys = np.zeros(32, np.int64)
    n = 0
    m = moves
    while m:
        bit = m & (np.uint64(0) - m)
        m ^= bit
        cand[n] = bit
        if empties > SORT_FROM:
            f = _flips(own, opp, bit)
            keys[n] = _pop(_moves(opp & ~f, own | bit | f)) * 2 - (1 if bit & _CORNERS else 0)
        else:
            keys[n] = 0 if bit & _CORNERS else 1
        n += 1
    for i in range(1, n):  # insertion sort: a handful of moves
        k, c = keys[i], cand[i]
        j = i - 1
        while j >= 0 and keys[j] > k:
            keys[j + 1], cand[j + 1] = keys[j], cand[j]
            j -= 1
        keys[j + 1], cand[j + 1] = k, c
    best = np.int64(-65)
    for i in range(n):
        bit = cand[i]
        f = _flips(own, opp, bit)
        v = -_search(opp & ~f, own | bit | f, -beta, -alpha, np.int64(0), nodes, budget)
        if v > best:
            best = v
            if v > alpha:
                alpha = v
                if alpha >= beta:
                    break
    return best


@njit(cache=True)
def _move_values(own, opp, exact, budget):
    """int64[65]: each legal action's value for the mover (:data:`ILLEGAL` elsewhere,
    :data:`UNKNOWN` where the budget ran out); ``exact`` False: win/draw/loss only."""
    out = np.full(65, ILLEGAL, np.int64)
    nodes = np.zeros(1, np.int64)
    moves = _moves(own, opp)
    lo, hi = (np.int64(-65), np.int64(65)) if exact else (np.int64(-1), np.int64(1))
    if moves == 0:
        if _moves(opp, own) != 0:
            v = -_search(opp, own, -hi, -lo, np.int64(1), nodes, budget)
            out[64] = v if nodes[0] <= budget else UNKNOWN
        return out
    m = moves
    while m:
        bit = m & (np.uint64(0) - m)
        m ^= bit
        f = _flips(own, opp, bit)
        v = -_search(opp & ~f, own | bit | f, -hi, -lo, np.int64(0), nodes, budget)
        a = 0
        while (np.uint64(1) << np.uint64(a)) != bit:
            a += 1
        out[a] = v if nodes[0] <= budget else UNKNOWN
    return out


def empties(state, index: int = 0) -> int:
    s = state.stones[index]
    return 64 - int(np.bitwise_count(s[0] | s[1]))


def move_values(state, index: int = 0, *, exact: bool = False, budget: int = 50_000_000) -> np.ndarray:
    """int64[65]: the value of each legal action in game ``index`` of ``state`` for the
    player to move: the final disc difference with perfect play (``exact``), or its sign
    (win 1, draw 0, loss -1, proven several times faster); :data:`ILLEGAL` for illegal
    actions, :data:`UNKNOWN` past ``budget`` nodes."""
    p = int(state.current_player[index])
    own, opp = state.stones[index, p], state.stones[index, 1 - p]
    vals = _move_values(np.uint64(own), np.uint64(opp), bool(exact), np.int64(budget))
    if not exact:
        known = (vals != ILLEGAL) & (vals != UNKNOWN)
        vals[known] = np.sign(vals[known])
    return vals


def exact_targets(state, max_empties: int, *, budget: int = 5_000_000) -> tuple[np.ndarray, np.ndarray]:
    """``(solved bool[B], values float32[B, 65])``: in the live positions with at most
    ``max_empties`` empties, each legal action's exact outcome for the mover (+1 win, 0
    draw, -1 loss; 0 elsewhere), where ``budget`` nodes settle every action."""
    b = state.batch_size
    solved = np.zeros(b, bool)
    values = np.zeros((b, 65), np.float32)
    stones = state.stones
    left = 64 - np.bitwise_count(stones[:, 0] | stones[:, 1]).astype(np.int64)
    for i in np.flatnonzero(~state.terminated & (left <= max_empties)):
        vals = move_values(state, i, budget=budget)
        legal = vals != ILLEGAL
        if legal.any() and not (vals[legal] == UNKNOWN).any():
            solved[i] = True
            values[i, legal] = vals[legal]
    return solved, values


class EndgameAgent:
    """An agent that plays the last ``empties`` empties exactly: a move that keeps the best
    outcome (win, draw, loss), the inner agent's own where it is one of those, else the one
    it values most among them. Earlier positions, and any the budget does not settle, are the
    inner agent's."""

    def __init__(self, inner, *, empties: int = 14, budget: int = 50_000_000):
        self.inner, self.game = inner, inner.game
        self.empties, self.budget = empties, budget
        self.name = getattr(inner, "name", "agent")
        self.info = getattr(inner, "info", {})

    def __getattr__(self, name):  # search, q_values, ...: the inner agent's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def act(self, state, rng) -> np.ndarray:
        actions = self.inner.act(state, rng)
        for i in np.flatnonzero(~state.terminated):
            if empties(state, i) > self.empties:
                continue
            vals = move_values(state, i, budget=self.budget)
            legal = vals != ILLEGAL
            if not legal.any() or (vals[legal] == UNKNOWN).any():
                continue
            best = legal & (vals == vals[legal].max())
            if not best[actions[i]]:
                q = self.inner.q_values(games.take(state, np.array([i])))[0]
                actions[i] = int(np.argmax(np.where(best, q, -np.inf)))
        return actions
