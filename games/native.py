"""Shared machinery for the native engines: history stacking, observation, rendering.

A native engine keeps, per game, the stones of each player as absolute planes
``int8[B, 2, H, W]`` (plane p = player p's stones) computed from its own compact
board, and a history ``past: int8[B, K, 2, H, W]`` of the K positions before the current
one (zeros before the game began). ``observe`` turns these into float32 planes from the
mover's point of view: ``[own, opponent]`` for the current position, then the same pair
for each earlier position, most recent first; shape ``[B, 2 * (K + 1), H, W]``. An
engine whose players have different goals (Hex: X joins top and bottom, O left and right)
sets ``mover_plane`` and gets one more plane, last: ones where player 0 is to move, so the
network knows which goal the mover's stones serve.

An engine may also offer *derived planes* (``derived_planes`` names them): facts about the
current position that its own bookkeeping knows and a network would need many layers to
work out, such as which stones a Hex group joins to an edge (OpenSpiel's Hex observation
carries the same) or where a connect four line would be completed. They are on when the
game is made with ``derived=1`` (or ``True``) and sit between the stone planes and the mover
plane, mover's first. An engine may offer them in levels (``derived_levels``): level 2 adds
more planes after level 1's (Hex: the cells on each player's shortest connection).
``symmetry_channels`` says how a board symmetry permutes them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from games import text
from games.core import State


@dataclasses.dataclass(frozen=True)
class NativeState(State):
    #: int8[B, K, 2, H, W]: absolute stone planes of the K previous positions.
    past: np.ndarray


def check_derived(name: str, derived, levels: int) -> int:
    """``derived`` as a level from 0 to ``levels`` (a bool counts as 0 or 1); ValueError
    in one line naming the game otherwise."""
    level = int(derived) if isinstance(derived, (bool, int, np.integer)) else -1
    if 0 <= level <= levels:
        return level
    if not levels:
        raise ValueError(f"{name} has no derived planes")
    offered = "1" if levels == 1 else f"1 to {levels}"
    raise ValueError(f"{name} has derived planes at level {offered} (0 for none), not {derived!r}")


class NativeGame:
    """Base for the vectorised engines; subclasses define the rules."""

    name: str
    num_actions: int
    board_shape: tuple[int, int]
    binary_obs = True
    #: append a plane of ones where player 0 moves (the players' goals differ)
    mover_plane = False
    #: names of the derived planes this engine can add, in order
    derived_planes: tuple[str, ...] = ()
    #: how many of them each level of ``derived`` adds: level k adds the first
    #: ``derived_levels[k - 1]``. Unset, an engine has one level, all of them
    derived_levels: tuple[int, ...] = ()

    def __init__(self, history: int = 0, derived: int = 0):
        self.history = int(history)
        #: the level of derived planes on (0 none; True, from configs before levels, is 1)
        self.derived = check_derived(self.name, derived, len(self.levels()))

    @classmethod
    def levels(cls) -> tuple[int, ...]:
        """The number of derived planes at each level, 1 up (empty: none offered)."""
        return cls.derived_levels or ((len(cls.derived_planes),) if cls.derived_planes else ())

    @property
    def num_derived(self) -> int:
        return self.levels()[self.derived - 1] if self.derived else 0

    @property
    def derived_start(self) -> int:
        """Index of the first derived plane: right after the stone planes of every position."""
        return 2 * (self.history + 1)

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        return (self.derived_start + self.num_derived + int(self.mover_plane), *self.board_shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(history={self.history}, derived={self.derived})"

    def symmetries(self) -> tuple[np.ndarray, np.ndarray]:
        """The board's symmetries as permutations: ``cells int64[S, H*W]`` and
        ``actions int64[S, A]``, where symmetry k moves cell i to ``cells[k, i]`` and
        action a to ``actions[k, a]``. Row 0 is the identity."""
        h, w = self.board_shape
        grid = np.arange(h * w).reshape(h, w)
        images = [grid, grid[:, ::-1]]
        if h == w:
            images = []
            for k in range(4):
                r = np.rot90(grid, k)
                images += [r, r[:, ::-1]]
        cells = []
        for img in images:
            perm = np.empty(h * w, np.int64)
            perm[img.ravel()] = np.arange(h * w)  # old cell img[j] lands on position j
            cells.append(perm)
        cells = np.array(cells)
        return cells, self._action_perms(cells)

    def _action_perms(self, cells: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def symmetry_channels(self) -> np.ndarray:
        """``int64[S, C]``: symmetry k's observation plane j is plane ``[k, j]`` of the
        original (with its cells moved as ``symmetries`` says). The identity, unless a
        symmetry swaps what derived planes mean (Hex's half turn swaps an edge for the
        opposite one)."""
        s = len(self.symmetries()[0])
        return np.tile(np.arange(self.obs_shape[0], dtype=np.int64), (s, 1))

    def canonical_frame(self) -> tuple[np.ndarray, np.ndarray] | None:
        """For an engine with a mover plane, a board symmetry that swaps the players' goals,
        as ``(cells int64[H*W], actions int64[A])`` (moving cell i to ``cells[i]`` and action
        a to ``actions[a]``, as ``symmetries`` does); None where there is none. Under it a
        position with player 1 to move reads as one with player 0 to move: every plane but
        the mover plane keeps its meaning. A network built with ``canonical`` plays every
        position in player 0's frame through it (``selfplay.network.Canonical``)."""
        return None

    def derived_obs(self, state: State, mover: np.ndarray) -> np.ndarray:
        """``[B, D, H, W]`` (0/1): the derived planes, mover's first (see the module)."""
        raise NotImplementedError

    # -- to be provided by subclasses
    def planes(self, state: State) -> np.ndarray:
        """int8[B, 2, H, W]: absolute stone planes, row 0 at the top as drawn."""
        raise NotImplementedError

    def _empty_past(self, batch_size: int) -> np.ndarray:
        return np.zeros((batch_size, self.history, 2, *self.board_shape), np.int8)

    def _next_past(self, state: NativeState, live: np.ndarray) -> np.ndarray:
        if self.history == 0:
            return state.past
        shifted = np.concatenate([self.planes(state)[:, None], state.past[:, :-1]], axis=1)
        return np.where(live[:, None, None, None, None], shifted, state.past)

    def observe(self, state: NativeState) -> np.ndarray:
        planes = self.planes(state)
        if self.history:
            planes = np.concatenate([planes[:, None], state.past], axis=1)  # [B,K+1,2,H,W]
        else:
            planes = planes[:, None]
        batch, mover = np.arange(state.batch_size), state.current_player.astype(np.intp)
        own, opp = planes[batch, :, mover], planes[batch, :, 1 - mover]  # [B, K+1, H, W] each
        obs = np.empty((state.batch_size, *self.obs_shape), np.float32)  # one copy, written in place
        first = self.derived_start
        stones = obs[:, :first].reshape(state.batch_size, -1, 2, *self.board_shape)
        stones[:, :, 0], stones[:, :, 1] = own, opp
        if self.derived:
            obs[:, first : first + self.num_derived] = self.derived_obs(state, mover)
        if self.mover_plane:
            obs[:, -1] = (mover == 0)[:, None, None]
        return obs

    def cells(self, state: State, index: int = 0) -> np.ndarray:
        """int8[H, W]: 0 empty, 1 player 0's stone, 2 player 1's stone."""
        p = self.planes(state)[index]
        return (p[0] + 2 * p[1]).astype(np.int8)

    def last_move_cell(self, state: State, index: int = 0) -> tuple[int, int] | None:
        raise NotImplementedError

    #: action_to_string gives OpenSpiel's own strings (the lockstep suite checks them);
    #: engines with a human notation of their own (connect four's column digits) say False
    pyspiel_strings: bool = False
    #: stones in a row that win (set by each engine)
    in_a_row: int = 0
    #: how the players' stones are drawn and named
    player_names: tuple[str, str] = text.PLAYER_NAMES

    def render(self, state: State, index: int = 0, color: bool = False) -> str:
        cells = self.cells(state, index)
        won = state.terminated[index] and state.rewards[index].any()
        return text.render_grid(
            cells,
            self.column_labels(),
            self.row_labels(),
            last=self.last_move_cell(state, index),
            color=color,
            highlight=text.winning_cells(cells, self.in_a_row) if won and self.in_a_row else None,
        )

    def column_labels(self) -> list[str]:
        raise NotImplementedError

    def row_labels(self) -> list[str] | None:
        raise NotImplementedError

    def legal_moves_text(self, state: State, index: int = 0) -> list[str]:
        return [self.action_to_string(state, a, index) for a in np.flatnonzero(state.legal_action_mask[index])]
