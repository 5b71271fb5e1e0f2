"""Adapter: any two-player, zero-sum, deterministic, sequential, perfect-information
pyspiel game as a batched :class:`games.core.Game`.

Names: ``openspiel:<short_name>`` or ``openspiel:<short_name>(key=value, ...)``, e.g.
``openspiel:hex(board_size=5)``. Actions are pyspiel's own ids. The observation is the
game's ``observation_tensor`` for the player to move, reshaped to ``[C, H, W]``, plus one
constant plane holding the mover's id (1.0 for player 1), so the network always knows
whose point of view it sees even where the game encodes colours absolutely.
"""

from __future__ import annotations

import numpy as np

from games.adapters import AdapterState, parse_listed, push_past, stack_history
from games.core import (
    IllegalActionError,
    UnknownGameError,
    check_actions,
    check_batch_size,
    register_prefix,
    step_fields,
)


def _pyspiel():
    import pyspiel

    return pyspiel


#: the largest games the adapter takes (a board of 100,000 x 100,000 would exhaust memory)
MAX_ACTIONS = 100_000
MAX_CELLS = 1_000_000


def check_fits(game) -> None:
    """Raise UnknownGameError with a one-line reason if the pyspiel game does not fit."""
    ps = _pyspiel()
    t = game.get_type()
    name = t.short_name
    if game.num_players() != 2:
        raise UnknownGameError(f"openspiel:{name} has {game.num_players()} players; only 2-player games fit")
    if t.dynamics != ps.GameType.Dynamics.SEQUENTIAL:
        raise UnknownGameError(f"openspiel:{name} has simultaneous moves; only sequential games fit")
    if t.chance_mode != ps.GameType.ChanceMode.DETERMINISTIC:
        raise UnknownGameError(f"openspiel:{name} has chance nodes; only deterministic games fit")
    if t.information != ps.GameType.Information.PERFECT_INFORMATION:
        raise UnknownGameError(f"openspiel:{name} has hidden information; only perfect-information games fit")
    if t.utility != ps.GameType.Utility.ZERO_SUM:
        raise UnknownGameError(f"openspiel:{name} is not zero-sum")
    if not t.provides_observation_tensor:
        raise UnknownGameError(f"openspiel:{name} provides no observation tensor")


class OpenSpielGame:
    binary_obs = False

    def __init__(self, spec: str, history: int = 0):
        ps = _pyspiel()
        spec = spec.strip()
        short = spec.split("(", 1)[0].strip()
        if short not in ps.registered_names():
            raise UnknownGameError(f"openspiel has no game {short!r}")
        try:
            self.pyspiel_game = ps.load_game(spec)
        except Exception as e:  # pyspiel raises a bare RuntimeError/SpielError
            raise UnknownGameError(f"openspiel cannot load {spec!r}: {str(e).splitlines()[0]}") from None
        check_fits(self.pyspiel_game)
        n_actions = self.pyspiel_game.num_distinct_actions()
        n_cells = int(np.prod(self.pyspiel_game.observation_tensor_shape()))
        if not (2 <= n_actions <= MAX_ACTIONS and 1 <= n_cells <= MAX_CELLS):
            raise UnknownGameError(
                f"openspiel:{spec} has {n_actions:,} actions and {n_cells:,} observation cells; "
                f"a game here needs 2 to {MAX_ACTIONS:,} actions and 1 to {MAX_CELLS:,} cells"
            )
        self.spec = spec
        self.name = f"openspiel:{spec}"
        self.history = int(history)
        self.num_actions = self.pyspiel_game.num_distinct_actions()
        shape = list(self.pyspiel_game.observation_tensor_shape())
        while len(shape) < 3:
            shape.insert(0, 1)
        if len(shape) > 3:
            shape = [int(np.prod(shape[:-2])), *shape[-2:]]
        self._tensor_shape = tuple(shape)
        self.board_shape = (shape[1], shape[2])
        self._frame = (shape[0] + 1, shape[1], shape[2])

    def __repr__(self) -> str:
        return f"OpenSpielGame({self.spec!r}, history={self.history})"

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        c, h, w = self._frame
        return (c * (self.history + 1), h, w)

    # -- batch bookkeeping
    def _fields(self, handles: np.ndarray):
        b = len(handles)
        player = np.zeros(b, np.int8)
        mask = np.zeros((b, self.num_actions), bool)
        term = np.zeros(b, bool)
        for i, s in enumerate(handles):
            if s.is_terminal():
                term[i] = True
            else:
                player[i] = s.current_player()
                mask[i] = np.asarray(s.legal_actions_mask(), bool)[: self.num_actions]
        return player, mask, term

    def _frames(self, handles: np.ndarray, player: np.ndarray) -> np.ndarray:
        out = np.zeros((len(handles), *self._frame), np.float32)
        for i, s in enumerate(handles):
            out[i, :-1] = np.asarray(s.observation_tensor(int(player[i])), np.float32).reshape(self._tensor_shape)
            out[i, -1] = float(player[i])
        return out

    def from_pyspiel(self, states: list) -> AdapterState:
        """A batch built from existing pyspiel states (cloned; no history)."""
        handles = np.empty(len(states), object)
        for i, s in enumerate(states):
            handles[i] = s.clone()
        player, mask, term = self._fields(handles)
        b = len(handles)
        return AdapterState(
            current_player=player,
            legal_action_mask=mask,
            rewards=np.zeros((b, 2), np.float32),
            terminated=term,
            last_action=np.full(b, -1, np.int32),
            num_moves=np.array([len(s.history()) for s in handles], np.int32),
            handles=handles,
            past=np.zeros((b, self.history, *self._frame), np.float32),
        )

    def init(self, batch_size: int) -> AdapterState:
        return self.from_pyspiel([self.pyspiel_game.new_initial_state() for _ in range(check_batch_size(batch_size))])

    def step(self, state: AdapterState, actions: np.ndarray) -> AdapterState:
        actions = check_actions(state, actions)
        live = ~state.terminated
        handles = state.handles.copy()
        rewards = np.zeros((state.batch_size, 2), np.float32)
        for i in np.flatnonzero(live):
            s = handles[i].clone()
            s.apply_action(int(actions[i]))
            handles[i] = s
            rewards[i] = s.rewards()
        player, mask, term = self._fields(handles)
        past = state.past
        if self.history:
            past = push_past(past, self._frames(state.handles, state.current_player), live)
        return AdapterState(
            **step_fields(state, actions, live, term, rewards, mask, next_player=player, handles=handles, past=past)
        )

    def observe(self, state: AdapterState) -> np.ndarray:
        return stack_history(self._frames(state.handles, state.current_player), state.past)

    def render(self, state: AdapterState, index: int = 0, color: bool = False) -> str:
        s = state.handles[index]
        board = str(s).rstrip("\n")
        history = s.history()
        if history:
            parent = self.pyspiel_game.new_initial_state()
            for a in history[:-1]:
                parent.apply_action(a)
            board += f"\n(last move: {parent.action_to_string(parent.current_player(), history[-1])})"
        return board

    def _legal_strings(self, state: AdapterState, index: int) -> dict[str, int]:
        s = state.handles[index]
        return {s.action_to_string(s.current_player(), a): a for a in s.legal_actions()}

    def legal_moves_text(self, state: AdapterState, index: int = 0) -> list[str]:
        return list(self._legal_strings(state, index))

    def parse_action(self, state: AdapterState, text_in: str, index: int = 0) -> int:
        legal = self._legal_strings(state, index)
        try:
            return parse_listed(text_in, legal, self.name)
        except ValueError:
            t = text_in.strip().lower()
            s = state.handles[index]
            for a in range(self.num_actions):
                if s.action_to_string(int(state.current_player[index]), a).strip().lower() == t:
                    raise IllegalActionError(f"{text_in.strip()} is not legal here") from None
            raise

    def action_to_string(self, state: AdapterState, action: int, index: int = 0) -> str:
        """The string of ``action`` played from this position by the player to move."""
        return state.handles[index].action_to_string(int(state.current_player[index]), int(action))

    def move_notation(self) -> str:
        return "a move in the game's own notation (`moves` lists the legal ones)"


register_prefix("openspiel", lambda rest, history=0: OpenSpielGame(rest, history=history))
