"""Connect four (6 rows x 7 columns), vectorised over a batch with 64-bit bitboards.

Actions are columns 0..6 left to right, as in OpenSpiel. Player 0 is X and moves first.
Bitboard layout: bit ``7 * col + row`` (row 0 at the bottom; the 7th bit of each column
is a sentinel that stays empty), one uint64 per player. A line of four is found with
four shift-and-mask tests, one per direction, on the whole batch at once.
Human notation: a column number 1-7.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from games import text
from games.core import (
    IllegalActionError,
    check_actions,
    check_batch_size,
    initial_fields,
    position_fields,
    register,
    step_fields,
    winner_rewards,
)
from games.native import NativeGame, NativeState

ROWS, COLS = 6, 7
_U = np.uint64
_SHIFTS = tuple(_U(s) for s in (1, 7, 6, 8))  # vertical, horizontal, two diagonals
# bit index of each drawn cell, drawn row 0 at the top: [ROWS * COLS]
_CELL_BITS = np.array([7 * c + (ROWS - 1 - r) for r in range(ROWS) for c in range(COLS)], np.uint64)


@dataclasses.dataclass(frozen=True)
class ConnectFourState(NativeState):
    #: uint64[B, 2]: each player's stones as a bitboard.
    stones: np.ndarray
    #: int8[B, 7]: stones in each column.
    heights: np.ndarray


_BOARD = np.bitwise_or.reduce(_U(1) << _CELL_BITS)  # the 42 cells, no sentinels
_BOTTOM = np.bitwise_or.reduce(_U(1) << (_U(7) * np.arange(COLS, dtype=np.uint64)))  # row 0 of each column


def playable_cells(occupied: np.ndarray) -> np.ndarray:
    """uint64[...]: the cell where a stone dropped in each column would land (none in a full
    column), from the bitboard of every stone: each column's stones sit on its bottom, so
    adding its bottom bit carries into the first empty cell (Pons' solver's trick)."""
    return (occupied + _BOTTOM) & _BOARD


# per direction, the lines of four cells on the board, each named by its lowest bit x
# (cells x, x + s, x + 2s, x + 3s)
_LINES = tuple(_BOARD & (_BOARD >> s) & (_BOARD >> (s + s)) & (_BOARD >> (s + s + s)) for s in _SHIFTS)


def making_three_cells(player: np.ndarray, opponent: np.ndarray) -> np.ndarray:
    """uint64[...]: the empty cells where ``player``'s stone would make three in a line of
    four cells that holds none of the opponent's stones (so its last cell is empty: a new
    threat, or the second half of a double one), from the two players' bitboards."""
    found = player & _U(0)
    for s, lines_on_board in zip(_SHIFTS, _LINES):
        s2, s3 = s + s, s + s + s
        free = lines_on_board & ~(opponent | (opponent >> s) | (opponent >> s2) | (opponent >> s3))
        a, b, c, d = player, player >> s, player >> s2, player >> s3
        two = (a & b) | (a & c) | (a & d) | (b & c) | (b & d) | (c & d)
        three = (a & b & (c | d)) | (c & d & (a | b))
        lines = free & two & ~three  # exactly two of the player's stones, two empty cells
        found |= lines | (lines << s) | (lines << s2) | (lines << s3)
    return found & _BOARD & ~(player | opponent)


def completing_cells(player: np.ndarray, occupied: np.ndarray) -> np.ndarray:
    """uint64[...]: the empty cells where ``player``'s stone would complete a line of four
    (playable now or not: the odd and even threats of connect four strategy), from the
    bitboards of that player's stones and of every stone."""
    p = player
    found = (p << _U(1)) & (p << _U(2)) & (p << _U(3))  # on top of three in a column
    for s in _SHIFTS[1:]:  # across and the two diagonals: the gap at either end or inside
        s2, s3 = s + s, s + s + s
        two = (p << s) & (p << s2)  # two in a row on one side of the cell
        found |= two & ((p << s3) | (p >> s))
        two = (p >> s) & (p >> s2)  # two on the other side
        found |= two & ((p << s) | (p >> s3))
    return found & _BOARD & ~occupied


def has_four(board: np.ndarray) -> np.ndarray:
    """bool[...]: True where a bitboard holds four in a line."""
    found = np.zeros(board.shape, bool)
    for s in _SHIFTS:
        m = board & (board >> s)
        found |= (m & (m >> (s + s))) != 0
    return found


_completing, _playable, _making_three = (
    njit(cache=True)(f) for f in (completing_cells, playable_cells, making_three_cells)
)


@njit(cache=True)
def _put(out, i, k, board):
    for j in range(ROWS * COLS):
        out[i, k, j] = (board >> _CELL_BITS[j]) & _U(1)


@njit(cache=True)
def _derived_boards(own, opp, planes):
    """int8[B, planes, 42]: the derived planes (the functions above, compiled for one
    position at a time: a position's planes cost a few dozen bit operations, and the
    search asks for them at every simulation); level 2's only where asked for."""
    out = np.zeros((len(own), planes, ROWS * COLS), np.int8)
    for i in range(len(own)):
        o, p = own[i], opp[i]
        occupied = o | p
        _put(out, i, 0, _completing(o, occupied))
        _put(out, i, 1, _completing(p, occupied))
        if planes > 2:
            _put(out, i, 2, _playable(occupied))
            _put(out, i, 3, _making_three(o, p))
            _put(out, i, 4, _making_three(p, o))
    return out


class ConnectFour(NativeGame):
    name = "connect_four"
    #: the same game in PettingZoo's classic envs (the adapter translates its numbering)
    pettingzoo_name = "connect_four_v3"
    #: the same game in OpenSpiel (same action numbering), for reference bots
    pyspiel_name = "connect_four"
    in_a_row = 4
    num_actions = COLS
    board_shape = (ROWS, COLS)
    derived_planes = (
        "empty cells where the mover's stone would complete four",
        "empty cells where the opponent's stone would complete four",
        "the cells where a stone can be dropped now",
        "empty cells where the mover's stone would make three in a line of four free of the opponent's",
        "empty cells where the opponent's stone would make three in a line of four free of the mover's",
    )
    #: level 1: the cells that complete four; level 2 adds the playable cells and the cells
    #: that make three in an open line
    derived_levels = (2, 5)

    def init(self, batch_size: int) -> ConnectFourState:
        b = check_batch_size(batch_size)
        return ConnectFourState(
            **initial_fields(
                np.ones((b, COLS), bool),
                past=self._empty_past(b),
                stones=np.zeros((b, 2), np.uint64),
                heights=np.zeros((b, COLS), np.int8),
            )
        )

    def step(self, state: ConnectFourState, actions: np.ndarray) -> ConnectFourState:
        actions = check_actions(state, actions)
        live = ~state.terminated
        batch = np.arange(state.batch_size)
        player = state.current_player.astype(np.int64)
        row = state.heights[batch, actions].astype(np.uint64)
        move = np.where(live, _U(1) << (actions.astype(np.uint64) * _U(7) + row), _U(0))
        stones = state.stones.copy()
        stones[batch, player] |= move
        heights = state.heights.copy()
        heights[batch, actions] += live
        won = live & has_four(stones[batch, player])
        terminated = state.terminated | won | (state.num_moves + live == ROWS * COLS)
        return ConnectFourState(
            **step_fields(
                state,
                actions,
                live,
                terminated,
                winner_rewards(player, won),
                heights < ROWS,
                past=self._next_past(state, live),
                stones=stones,
                heights=heights,
            )
        )

    def from_cells(self, cells: np.ndarray) -> ConnectFourState:
        """A batch of positions (no history) from grids ``int8[B, 6, 7]`` as drawn (row 0
        at the top; 0 empty, 1 first player's stone, 2 second's); the mover is the player
        with fewer stones (the first player on equal counts)."""
        cells = np.asarray(cells)
        b = len(cells)
        flat = cells.reshape(b, ROWS * COLS)
        stones = np.zeros((b, 2), np.uint64)
        for p in (0, 1):
            bits = np.where(flat == p + 1, _U(1) << _CELL_BITS, _U(0))
            stones[:, p] = np.bitwise_or.reduce(bits, axis=1)
        heights = (cells != 0).sum(axis=1).astype(np.int8)
        num_moves = heights.sum(axis=1).astype(np.int32)
        terminated = has_four(stones).any(axis=1) | (num_moves == ROWS * COLS)
        return ConnectFourState(
            **position_fields(
                num_moves % 2,
                heights < ROWS,
                terminated,
                num_moves,
                past=self._empty_past(b),
                stones=stones,
                heights=heights,
            )
        )

    def _action_perms(self, cells):
        # a symmetry of connect four maps whole columns: read it off the top row
        return np.array([[perm[c] % COLS for c in range(COLS)] for perm in cells])

    def planes(self, state: ConnectFourState) -> np.ndarray:
        bits = (state.stones[:, :, None] >> _CELL_BITS) & _U(1)  # [B, 2, 42]
        return bits.astype(np.int8).reshape(state.batch_size, 2, ROWS, COLS)

    def derived_obs(self, state: ConnectFourState, mover: np.ndarray) -> np.ndarray:
        batch = np.arange(state.batch_size)
        own, opp = state.stones[batch, mover], state.stones[batch, 1 - mover]
        return _derived_boards(own, opp, self.num_derived).reshape(len(own), self.num_derived, ROWS, COLS)

    def last_move_cell(self, state, index=0):
        a = int(state.last_action[index])
        if a < 0:
            return None
        return ROWS - int(state.heights[index, a]), a

    def column_labels(self):
        return [str(c + 1) for c in range(COLS)]

    def row_labels(self):
        return None

    def move_notation(self) -> str:
        return "a column 1-7"

    def parse_action(self, state, text_in: str, index: int = 0) -> int:
        t = text.clean(text_in)
        if not t:
            raise ValueError("empty move: type " + self.move_notation())
        if not t.isdigit():
            raise ValueError(f"{text_in.strip()[:20]!r} is not a move: type {self.move_notation()}")
        col = int(t) - 1 if len(t) < 4 else -1
        if not 0 <= col < COLS:
            raise ValueError(f"column {t[:8]} is out of range: type {self.move_notation()}")
        if not state.legal_action_mask[index, col]:
            raise IllegalActionError(f"column {col + 1} is full")
        return col

    def action_to_string(self, state, action: int, index: int = 0) -> str:
        return str(int(action) + 1)


register("connect_four", ConnectFour)
