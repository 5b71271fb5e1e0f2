"""Othello (8x8), vectorised over a batch with 64-bit bitboards, as OpenSpiel's ``othello``.

Cells are numbered as in OpenSpiel: action ``8 * row + col`` places a disc (row 0 at the
top, drawn as rank 1; column 0 is file a), and action 64 is the pass. Player 0 is Black
(``X``) and moves first. A player with no disc-flipping move has the pass as the only
legal action; the game ends when neither player can move, and the player with more discs
wins (equal counts draw).

Bitboard: bit ``8 * row + col`` (the action's own number), one uint64 per player. Moves
and flips are found by shifting along the eight directions (a fill of at most six
steps), the masks keeping discs from wrapping from one edge of the board to the other;
one numba-compiled loop over the batch plays the moves and finds the next legal ones
(1.5x faster at batch 1,024 than the same shifts as numpy array operations).
Human notation: a file a-h and a rank 1-8 (``d3``), or ``pass``.
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
)
from games.native import NativeGame, NativeState

SIZE = 8
CELLS = SIZE * SIZE
PASS = CELLS
_U = np.uint64
_BITS = _U(1) << np.arange(CELLS, dtype=np.uint64)
_NOT_A = _U(sum(1 << (8 * r) for r in range(8)) ^ 0xFFFFFFFFFFFFFFFF)  # every file but a
_NOT_H = _U(sum(1 << (8 * r + 7) for r in range(8)) ^ 0xFFFFFFFFFFFFFFFF)  # every file but h
# (shift, left?, mask applied after the shift): east, west, south, north, and the diagonals
_DIRECTIONS = (
    (_U(1), True, _NOT_A),
    (_U(1), False, _NOT_H),
    (_U(8), True, None),
    (_U(8), False, None),
    (_U(9), True, _NOT_A),
    (_U(7), True, _NOT_H),
    (_U(7), False, _NOT_A),
    (_U(9), False, _NOT_H),
)
FILES = "abcdefgh"


_SHIFT = np.array([1, 1, 8, 8, 9, 7, 7, 9], np.uint64)
_LEFT = np.array([True, False, True, False, True, True, False, False])
_KEEP = np.array([_NOT_A, _NOT_H, ~_U(0), ~_U(0), _NOT_A, _NOT_H, _NOT_A, _NOT_H], np.uint64)


@njit(cache=True, inline="always")
def _shift(x, d):
    return ((x << _SHIFT[d]) if _LEFT[d] else (x >> _SHIFT[d])) & _KEEP[d]


@njit(cache=True)
def _moves(own, opp):
    """The cells where ``own`` may place a disc (one that flips some of ``opp``), a bitboard."""
    empty = ~(own | opp)
    moves = np.uint64(0)
    for d in range(8):
        x = _shift(own, d) & opp
        for _ in range(5):
            x |= _shift(x, d) & opp
        moves |= _shift(x, d) & empty
    return moves


@njit(cache=True)
def _flips(own, opp, move):
    """The discs of ``opp`` that a disc of ``own`` on the single bit ``move`` turns."""
    out = np.uint64(0)
    for d in range(8):
        x = _shift(move, d) & opp
        for _ in range(5):
            x |= _shift(x, d) & opp
        if _shift(x, d) & own:
            out |= x
    return out


@njit(cache=True)
def _step(stones, actions, player, live):
    """Play ``actions`` (64 = pass) for ``player`` in the live games, in place on
    ``stones``; return, for the next player: the legal moves bitboard, whether only the
    pass is legal, and whether the game is over."""
    b = len(actions)
    moves = np.zeros(b, np.uint64)
    stuck = np.zeros(b, np.bool_)
    over = np.zeros(b, np.bool_)
    for i in range(b):
        p = player[i]
        if live[i] and actions[i] != PASS:
            own, opp = stones[i, p], stones[i, 1 - p]
            move = np.uint64(1) << np.uint64(actions[i])
            turned = _flips(own, opp, move)
            stones[i, p] = own | move | turned
            stones[i, 1 - p] = opp & ~turned
        q = 1 - p if live[i] else p
        moves[i] = _moves(stones[i, q], stones[i, 1 - q])
        if moves[i] == 0:
            stuck[i] = True
            over[i] = _moves(stones[i, 1 - q], stones[i, q]) == 0
    return moves, stuck, over


@njit(cache=True)
def _mobility(stones, mover):
    """uint64[B, 2]: the mover's legal cells, then the opponent's (were it to move)."""
    out = np.zeros((len(mover), 2), np.uint64)
    for i in range(len(mover)):
        own, opp = stones[i, mover[i]], stones[i, 1 - mover[i]]
        out[i, 0] = _moves(own, opp)
        out[i, 1] = _moves(opp, own)
    return out


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x).astype(np.int32)


def _bits(boards: np.ndarray) -> np.ndarray:
    """uint8[..., 64]: bit i of each bitboard as entry i (0 or 1)."""
    flat = np.ascontiguousarray(boards, dtype="<u8")
    return np.unpackbits(flat.view(np.uint8).reshape(*flat.shape, 8), axis=-1, bitorder="little")


def _mask(moves: np.ndarray) -> np.ndarray:
    """bool[B, 64] of a bitboard per game."""
    return _bits(moves).view(bool)


@dataclasses.dataclass(frozen=True)
class OthelloState(NativeState):
    #: uint64[B, 2]: each player's discs (player 0 Black).
    stones: np.ndarray


_START = (
    _U((1 << (8 * 3 + 4)) | (1 << (8 * 4 + 3))),  # Black: e4, d5
    _U((1 << (8 * 3 + 3)) | (1 << (8 * 4 + 4))),  # White: d4, e5
)


_START_MOVES = _moves(*_START)


class Othello(NativeGame):
    name = "othello"
    #: the same game in OpenSpiel (same action numbering), for reference bots
    pyspiel_name = "othello"
    num_actions = CELLS + 1
    board_shape = (SIZE, SIZE)
    player_names = ("X", "O")
    pyspiel_strings = True
    #: mobility, the first thing an Othello player counts
    derived_planes = ("the mover's legal moves", "the opponent's legal moves, were it to move")

    def init(self, batch_size: int) -> OthelloState:
        b = check_batch_size(batch_size)
        stones = np.empty((b, 2), np.uint64)
        stones[:, 0], stones[:, 1] = _START
        legal = np.zeros((b, CELLS + 1), bool)
        legal[:, :CELLS] = _mask(np.full(b, _START_MOVES, np.uint64))
        return OthelloState(**initial_fields(legal, past=self._empty_past(b), stones=stones))

    def _after(self, stones, player, actions, live, terminated_before):
        """Play ``actions`` for ``player`` where ``live`` (on a copy of ``stones``); return
        the stones, the next player's legal mask (not yet emptied where the game ended),
        the terminal flags and the rewards."""
        b = len(stones)
        stones = stones.copy()
        moves, stuck, over = _step(stones, actions, player.astype(np.int64), live)
        terminated = terminated_before | over
        legal = np.zeros((b, CELLS + 1), bool)
        legal[:, :CELLS] = _mask(moves)
        legal[:, PASS] = stuck  # the pass, where the other player can still move
        ended = over & ~terminated_before
        diff = np.sign(_popcount(stones[:, 0]) - _popcount(stones[:, 1])).astype(np.float32)
        rewards = np.zeros((b, 2), np.float32)
        rewards[:, 0] = np.where(ended, diff, 0.0)
        rewards[:, 1] = -rewards[:, 0]
        return stones, legal, terminated, rewards

    def step(self, state: OthelloState, actions: np.ndarray) -> OthelloState:
        actions = check_actions(state, actions)
        live = ~state.terminated
        stones, legal, terminated, rewards = self._after(
            state.stones, state.current_player, actions, live, state.terminated
        )
        return OthelloState(
            **step_fields(
                state, actions, live, terminated, rewards, legal, past=self._next_past(state, live), stones=stones
            )
        )

    def from_cells(self, cells: np.ndarray, current_player: np.ndarray | None = None) -> OthelloState:
        """Positions (no history) from grids ``int8[B, 8, 8]`` as drawn (0 empty, 1 Black,
        2 White), with Black to move unless ``current_player`` says otherwise."""
        cells = np.asarray(cells)
        b = len(cells)
        flat = cells.reshape(b, CELLS)
        stones = np.stack(
            [np.bitwise_or.reduce(np.where(flat == p + 1, _BITS, _U(0)), axis=1) for p in (0, 1)], axis=1
        ).astype(np.uint64)
        current = np.zeros(b, np.int8) if current_player is None else np.asarray(current_player, np.int8)
        nothing = np.zeros(b, bool)
        _, legal, terminated, _ = self._after(stones, current, np.zeros(b, np.int64), nothing, nothing)
        played = _popcount(stones[:, 0] | stones[:, 1]) - 4
        return OthelloState(
            **position_fields(current, legal, terminated, played, past=self._empty_past(b), stones=stones)
        )

    def _action_perms(self, cells):
        # a symmetry moves the cells and leaves the pass where it is
        return np.concatenate([cells, np.full((len(cells), 1), PASS)], axis=1)

    def planes(self, state: OthelloState) -> np.ndarray:
        return _bits(state.stones).view(np.int8).reshape(state.batch_size, 2, SIZE, SIZE)

    def derived_obs(self, state: OthelloState, mover: np.ndarray) -> np.ndarray:
        moves = _mobility(state.stones, mover.astype(np.int64))
        return _bits(moves).view(np.int8).reshape(state.batch_size, 2, SIZE, SIZE)

    def last_move_cell(self, state, index=0):
        a = int(state.last_action[index])
        return None if a < 0 or a == PASS else divmod(a, SIZE)

    def column_labels(self):
        return list(FILES)

    def row_labels(self):
        return [str(r + 1) for r in range(SIZE)]

    def render(self, state, index: int = 0, color: bool = False) -> str:
        board = super().render(state, index, color)
        black, white = (int(x) for x in _popcount(state.stones[index]))
        score = f"discs: X {black}  O {white}"
        if not state.terminated[index] and state.legal_action_mask[index, PASS]:
            score += f"  ({self.player_names[int(state.current_player[index])]} has no move and must pass)"
        elif state.last_action[index] == PASS:
            score += f"  ({self.player_names[1 - int(state.current_player[index])]} passed)"
        if not state.terminated[index]:
            mover = self.player_names[int(state.current_player[index])]
            score += f"\n{mover}'s moves: " + " ".join(self.legal_moves_text(state, index))
        return board + "\n" + score

    def move_notation(self) -> str:
        return "a file a-h and a rank 1-8 (d3), or pass when you have no move"

    def parse_action(self, state, text_in: str, index: int = 0) -> int:
        t = text.clean(text_in)
        if not t:
            raise ValueError("empty move: type " + self.move_notation())
        if t == "pass":
            if not state.legal_action_mask[index, PASS]:
                raise IllegalActionError("you may pass only when you have no move: type 'moves' to see them")
            return PASS
        if len(t) != 2 or t[0] not in FILES or t[1] not in "12345678":
            raise ValueError(f"{text_in.strip()[:20]!r} is not a move: type {self.move_notation()}")
        action = (int(t[1]) - 1) * SIZE + FILES.index(t[0])
        if not state.legal_action_mask[index, action]:
            if state.legal_action_mask[index, PASS]:
                raise IllegalActionError(f"{t} is not a move: you have none and must pass (type pass)")
            taken = (int(state.stones[index, 0] | state.stones[index, 1]) >> action) & 1
            why = "is taken" if taken else "turns no disc"
            raise IllegalActionError(f"{t} {why}: type 'moves' to see the legal ones")
        return action

    def action_to_string(self, state, action: int, index: int = 0) -> str:
        a = int(action)
        if a == PASS:
            return "pass"
        r, c = divmod(a, SIZE)
        return f"{FILES[c]}{r + 1}"


register("othello", Othello)
