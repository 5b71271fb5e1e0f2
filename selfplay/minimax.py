"""Exact tic-tac-toe: every reachable position solved by negamax.

Values are game outcomes from the point of view of the player to move: +1 win, 0 draw,
-1 loss, undiscounted. ``action_values[i, a]`` is the outcome of playing ``a`` in
position i then both sides playing perfectly (-inf for illegal actions).
"""

from __future__ import annotations

import functools

import numpy as np

from games.tictactoe import BITS, LINES


def _won(bits: int) -> bool:
    return any((bits & int(line)) == int(line) for line in LINES)


@functools.cache
def _value(mine: int, theirs: int) -> int:
    """Outcome for the player to move, who owns ``mine``."""
    best = -2
    for a in range(9):
        bit = int(BITS[a])
        if (mine | theirs) & bit:
            continue
        best = max(best, _action_value(mine, theirs, a))
    return best if best > -2 else 0


def _action_value(mine: int, theirs: int, a: int) -> int:
    m = mine | int(BITS[a])
    if _won(m):
        return 1
    if (m | theirs) == 0x1FF:
        return 0
    return -_value(theirs, m)


@functools.lru_cache(maxsize=1)
def solve() -> tuple[np.ndarray, np.ndarray]:
    """All 4,520 reachable non-terminal positions, as ``stones int32[N, 2]`` (X, O
    bitboards), and their ``action_values float32[N, 9]``."""
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    positions = []
    while stack:
        x, o = stack.pop()
        if (x, o) in seen:
            continue
        seen.add((x, o))
        if _won(x) or _won(o) or (x | o) == 0x1FF:
            continue
        positions.append((x, o))
        x_to_move = bin(x).count("1") == bin(o).count("1")
        for a in range(9):
            bit = int(BITS[a])
            if not (x | o) & bit:
                stack.append((x | bit, o) if x_to_move else (x, o | bit))
    positions.sort()
    stones = np.array(positions, np.int32)
    values = np.full((len(positions), 9), -np.inf, np.float32)
    for i, (x, o) in enumerate(positions):
        mine, theirs = (x, o) if bin(x).count("1") == bin(o).count("1") else (o, x)
        for a in range(9):
            if not (x | o) & int(BITS[a]):
                values[i, a] = _action_value(mine, theirs, a)
    return stones, values


def best_actions_mask(action_values: np.ndarray) -> np.ndarray:
    """bool[N, 9]: actions that keep the best outcome."""
    return action_values == action_values.max(axis=1, keepdims=True)


def minimax_actions(stones: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """A perfect move for each position ``stones int32[B, 2]`` (random among the best)."""
    out = np.zeros(len(stones), np.int64)
    for i, (x, o) in enumerate(np.asarray(stones)):
        x, o = int(x), int(o)
        mine, theirs = (x, o) if bin(x).count("1") == bin(o).count("1") else (o, x)
        vals = np.array([_action_value(mine, theirs, a) if not (x | o) & int(BITS[a]) else -9 for a in range(9)])
        best = np.flatnonzero(vals == vals.max())
        out[i] = best[rng.integers(len(best))] if rng is not None else best[0]
    return out


def _mine_theirs(x: int, o: int) -> tuple[int, int]:
    return (x, o) if bin(x).count("1") == bin(o).count("1") else (o, x)


def position_values(state) -> np.ndarray:
    """int[B]: the outcome with perfect play for the player to move, for each game of a
    native tic-tac-toe state (terminated games: 0)."""
    out = np.zeros(state.batch_size, np.int64)
    for i in np.flatnonzero(~state.terminated):
        out[i] = _value(*_mine_theirs(int(state.stones[i, 0]), int(state.stones[i, 1])))
    return out


def move_values(state) -> np.ndarray:
    """int[B, 9]: the outcome of each move with perfect play after it, for the player to
    move (9 where the move is illegal)."""
    out = np.full((state.batch_size, 9), 9, np.int64)
    for i in np.flatnonzero(~state.terminated):
        mine, theirs = _mine_theirs(int(state.stones[i, 0]), int(state.stones[i, 1]))
        for a in np.flatnonzero(state.legal_action_mask[i]):
            out[i, a] = _action_value(mine, theirs, int(a))
    return out
