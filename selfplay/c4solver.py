"""Exact connect four: win/draw/loss by alpha-beta search on bitboards, compiled by numba.

Bitboards use the engine's layout (bit ``7 * col + row``, row 0 at the bottom).
``current`` holds the stones of the player to move, ``mask`` all stones. Values are from
the mover's point of view: +1 win, 0 draw, -1 loss (with perfect play, undiscounted).

The search is negamax with alpha-beta over the three values, a transposition table of
bounds, pruning to the moves that do not lose at once (a forced block is the only move;
never play under the opponent's winning cell), a draw when two or fewer moves remain,
and moves ordered by how many winning cells they create, centre first on ties. A node
budget bounds the work per position: a search that runs out reports ``UNKNOWN``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

H, W = 6, 7
H1 = H + 1
UNKNOWN = 9
ILLEGAL = -9

_BOTTOM = np.uint64(sum(1 << (H1 * c) for c in range(W)))
_BOARD = np.uint64(sum(((1 << H) - 1) << (H1 * c) for c in range(W)))
_ORDER = np.array([3, 2, 4, 1, 5, 0, 6], np.int64)


@njit(cache=True, inline="always")
def _column_mask(col):
    return np.uint64((1 << H) - 1) << np.uint64(H1 * col)


@njit(cache=True, inline="always")
def _popcount(x):
    n = 0
    while x:
        x &= x - np.uint64(1)
        n += 1
    return n


@njit(cache=True)
def _winning_cells(pos, mask, board):
    """Empty cells that would complete four for the stones ``pos``."""
    u1, u2, u3 = np.uint64(1), np.uint64(2), np.uint64(3)
    r = (pos << u1) & (pos << u2) & (pos << u3)
    for s in (np.uint64(H1), np.uint64(H), np.uint64(H + 2)):
        p = (pos << s) & (pos << (u2 * s))
        r |= p & (pos << (u3 * s))
        r |= p & (pos >> s)
        p = (pos >> s) & (pos >> (u2 * s))
        r |= p & (pos << s)
        r |= p & (pos >> (u3 * s))
    return r & (board ^ mask)


@njit(cache=True)
def _non_losing_moves(current, mask, bottom, board):
    possible = (mask + bottom) & board
    opp_win = _winning_cells(current ^ mask, mask, board)
    forced = possible & opp_win
    if forced:
        if forced & (forced - np.uint64(1)):
            return np.uint64(0)  # two threats: lost
        possible = forced
    return possible & ~(opp_win >> np.uint64(1))


@njit(cache=True)
def _negamax(current, mask, moves, alpha, beta, keys, lower, upper, budget, bottom, board, order):
    budget[0] -= 1
    if budget[0] < 0:
        return 0  # out of budget: the caller discards the result
    possible = (mask + bottom) & board
    if _winning_cells(current, mask, board) & possible:
        return 1
    nxt = _non_losing_moves(current, mask, bottom, board)
    if nxt == 0:
        return -1
    if moves >= W * H - 2:
        return 0
    key = current + mask
    slot = key % np.uint64(len(keys))
    lo, hi = -1, 1
    if keys[slot] == key:
        lo, hi = lower[slot], upper[slot]
        if lo >= beta:
            return lo
        if hi <= alpha:
            return hi
        if lo == hi:
            return lo
        alpha = max(alpha, lo)
        beta = min(beta, hi)
    a0 = alpha
    # order: most winning cells created first, centre first on ties
    cols = np.empty(W, np.int64)
    scores = np.empty(W, np.int64)
    n = 0
    for i in range(W):
        c = order[i]
        move = nxt & _column_mask(c)
        if move:
            sc = _popcount(_winning_cells(current | move, mask, board))
            j = n
            while j > 0 and scores[j - 1] < sc:
                cols[j] = cols[j - 1]
                scores[j] = scores[j - 1]
                j -= 1
            cols[j] = c
            scores[j] = sc
            n += 1
    best = -1
    for k in range(n):
        move = nxt & _column_mask(cols[k])
        v = -_negamax(
            current ^ mask, mask | move, moves + 1, -beta, -alpha, keys, lower, upper, budget, bottom, board, order
        )
        if v > best:
            best = v
        if v > alpha:
            alpha = v
        if alpha >= beta:
            break
    if budget[0] >= 0:
        keys[slot] = key
        lower[slot] = best if best > a0 else -1
        upper[slot] = best if best < beta else 1
        if best > a0 and best < beta:
            lower[slot] = best
            upper[slot] = best
    return best


class Solver:
    """Win/draw/loss of connect four positions, with a transposition table kept between calls."""

    def __init__(self, table_bits: int = 24):
        self.keys = np.zeros(1 << table_bits, np.uint64)
        self.lower = np.zeros(1 << table_bits, np.int8)
        self.upper = np.zeros(1 << table_bits, np.int8)

    def value(self, current: int, mask: int, moves: int, budget: int = 10**7) -> int:
        """Value for the player to move, or UNKNOWN when the node budget runs out."""
        b = np.array([budget], np.int64)
        args = (self.keys, self.lower, self.upper, b, _BOTTOM, _BOARD, _ORDER)
        cur, msk = np.uint64(current), np.uint64(mask)
        # two null-window probes prune far more than one search over [-1, 1]
        if _negamax(cur, msk, moves, 0, 1, *args) >= 1:
            v = 1
        elif _negamax(cur, msk, moves, -1, 0, *args) <= -1:
            v = -1
        else:
            v = 0
        return UNKNOWN if b[0] < 0 else v

    def move_values(self, current: int, mask: int, moves: int, budget: int = 10**7) -> np.ndarray:
        """int8[7]: each column's value for the mover (ILLEGAL for full columns)."""
        out = np.full(W, ILLEGAL, np.int8)
        cur, msk = np.uint64(current), np.uint64(mask)
        for c in range(W):
            if msk & (np.uint64(1) << np.uint64(H1 * c + H - 1)):
                continue
            move = (msk + (np.uint64(1) << np.uint64(H1 * c))) & _column_mask(c)
            if _winning_cells(cur, msk, _BOARD) & move:
                out[c] = 1
            elif moves + 1 == W * H:
                out[c] = 0
            else:
                v = self.value(int(cur ^ msk), int(msk | move), moves + 1, budget)
                out[c] = UNKNOWN if v == UNKNOWN else -v
        return out


def from_state(state, index: int = 0) -> tuple[int, int, int]:
    """(current, mask, moves) of game ``index`` of a native connect four state."""
    stones = state.stones[index]
    mover = int(state.current_player[index])
    return int(stones[mover]), int(stones[0] | stones[1]), int(state.num_moves[index])


class PerfectAgent:
    """Perfect connect four (random among the best moves) wherever every move is settled
    within ``budget`` nodes; a move left unsolved counts as a draw, so in the first few
    moves of a game it is strong but not proven perfect."""

    name = "perfect"

    def __init__(self, budget: int = 10**8):
        self.solver = Solver()
        self.budget = budget

    def act(self, state, rng) -> np.ndarray:
        out = np.zeros(state.batch_size, np.int64)
        for i in np.flatnonzero(~state.terminated):
            vals = self.solver.move_values(*from_state(state, i), budget=self.budget).astype(np.int64)
            unknown = vals == UNKNOWN
            vals[unknown] = 0  # unsolved within budget: as good as a draw, no better
            vals[vals == ILLEGAL] = -99
            best = np.flatnonzero(vals == vals.max())
            if unknown[best].any():
                # not settled: prefer the centre, as the solver's own move ordering does
                out[i] = min(best, key=lambda c: abs(c - 3))
            else:
                out[i] = best[rng.integers(len(best))]
        return out
