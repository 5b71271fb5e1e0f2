"""Tic-tac-toe, vectorised over a batch of games with 9-bit bitboards.

Cells are numbered as in OpenSpiel: 0..8 row-major from the top left; bit i of a
player's board is cell i. Player 0 is X and moves first. Human notation: a digit 1-9
laid out like a phone keypad (1 top left, 9 bottom right) or a column letter a-c and a
row number 1-3 counted from the top (``b2`` is the centre).
"""

from __future__ import annotations

import dataclasses

import numpy as np

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

LINES = np.array(
    [
        sum(1 << c for c in line)
        for line in (
            (0, 1, 2),
            (3, 4, 5),
            (6, 7, 8),
            (0, 3, 6),
            (1, 4, 7),
            (2, 5, 8),
            (0, 4, 8),
            (2, 4, 6),
        )
    ],
    dtype=np.int32,
)
BITS = (1 << np.arange(9)).astype(np.int32)


@dataclasses.dataclass(frozen=True)
class TicTacToeState(NativeState):
    #: int32[B, 2]: bit i set when player p has a stone on cell i.
    stones: np.ndarray


class TicTacToe(NativeGame):
    name = "tic_tac_toe"
    #: the same game in PettingZoo's classic envs (the adapter translates its numbering)
    pettingzoo_name = "tictactoe_v3"
    #: the same game in OpenSpiel (same action numbering), for reference bots
    pyspiel_name = "tic_tac_toe"
    in_a_row = 3
    num_actions = 9
    board_shape = (3, 3)

    def init(self, batch_size: int) -> TicTacToeState:
        b = check_batch_size(batch_size)
        return TicTacToeState(
            **initial_fields(np.ones((b, 9), bool), past=self._empty_past(b), stones=np.zeros((b, 2), np.int32))
        )

    def from_stones(self, stones: np.ndarray) -> TicTacToeState:
        """A batch of positions from bitboards ``int32[B, 2]`` (no history; X moves first)."""
        stones = np.asarray(stones, np.int32)
        b = len(stones)
        count = np.array([bin(int(x)).count("1") for x in (stones[:, 0] | stones[:, 1])], np.int32)
        won = ((stones[:, :, None] & LINES) == LINES).any(axis=2).any(axis=1)
        occupied = stones[:, 0] | stones[:, 1]
        terminated = won | (occupied == 0x1FF)
        legal = (occupied[:, None] & BITS) == 0
        return TicTacToeState(
            **position_fields(count % 2, legal, terminated, count, past=self._empty_past(b), stones=stones.copy())
        )

    def from_cells(self, cells: np.ndarray) -> TicTacToeState:
        """Positions from grids ``int8[B, 3, 3]`` as drawn (0 empty, 1 X, 2 O)."""
        flat = np.asarray(cells).reshape(len(cells), 9)
        stones = np.stack([((flat == p + 1) * BITS).sum(axis=1) for p in (0, 1)], axis=1)
        return self.from_stones(stones.astype(np.int32))

    def step(self, state: TicTacToeState, actions: np.ndarray) -> TicTacToeState:
        actions = check_actions(state, actions)
        live = ~state.terminated
        batch = np.arange(state.batch_size)
        player = state.current_player.astype(np.int64)
        stones = state.stones.copy()
        stones[batch, player] |= np.where(live, BITS[actions], 0)
        mine = stones[batch, player]
        won = live & ((mine[:, None] & LINES) == LINES).any(axis=1)
        occupied = stones[:, 0] | stones[:, 1]
        terminated = state.terminated | won | (occupied == 0x1FF)
        return TicTacToeState(
            **step_fields(
                state,
                actions,
                live,
                terminated,
                winner_rewards(player, won),
                (occupied[:, None] & BITS) == 0,
                past=self._next_past(state, live),
                stones=stones,
            )
        )

    def _action_perms(self, cells):
        return cells  # an action is a cell

    def planes(self, state: TicTacToeState) -> np.ndarray:
        bits = (state.stones[:, :, None] & BITS) != 0  # [B, 2, 9]
        return bits.astype(np.int8).reshape(state.batch_size, 2, 3, 3)

    def last_move_cell(self, state, index=0):
        a = int(state.last_action[index])
        return None if a < 0 else divmod(a, 3)

    def column_labels(self):
        return ["a", "b", "c"]

    def row_labels(self):
        return ["1", "2", "3"]

    def move_notation(self) -> str:
        return "a cell 1-9 (keypad layout: 1 top left, 9 bottom right) or a1..c3 (column, row from top)"

    def parse_action(self, state, text_in: str, index: int = 0) -> int:
        t = text.clean(text_in)
        if len(t) == 1 and t in "123456789":
            action = int(t) - 1
        elif len(t) == 2 and t[0] in "abc" and t[1] in "123":
            action = (int(t[1]) - 1) * 3 + "abc".index(t[0])
        elif not t:
            raise ValueError("empty move: " + self.move_notation())
        else:
            raise ValueError(f"{text_in.strip()[:20]!r} is not a move: type {self.move_notation()}")
        if not state.legal_action_mask[index, action]:
            raise IllegalActionError(f"cell {self.action_to_string(state, action)} is taken")
        return action

    def action_to_string(self, state, action: int, index: int = 0) -> str:
        r, c = divmod(int(action), 3)
        return f"{'abc'[c]}{r + 1}"


register("tic_tac_toe", TicTacToe)
