"""Adapter: PettingZoo classic AEC environments as a batched :class:`games.core.Game`.

Names: ``pettingzoo:<env>`` or ``pettingzoo:<env>(key=value, ...)``, e.g.
``pettingzoo:tictactoe_v3``, ``pettingzoo:connect_four_v3``, ``pettingzoo:go_v5(board_size=5)``.
Where the game also exists in OpenSpiel, actions are translated to OpenSpiel's numbering
(PettingZoo numbers tic-tac-toe cells column-major; OpenSpiel row-major) and the
observation is laid out row-major, so the adapter is interchangeable with the native
engine. Other environments keep PettingZoo's action ids. The observation is PettingZoo's
own (already from the mover's point of view), moved to ``[C, H, W]``.
"""

from __future__ import annotations

import copy
import importlib

import numpy as np

from games import text
from games.adapters import AdapterState, parse_call, push_past, stack_history
from games.core import (
    IllegalActionError,
    UnknownGameError,
    check_actions,
    check_batch_size,
    register_prefix,
    step_fields,
)

# env name -> (our action -> env action permutation or None, swap obs H/W, native twin)
_KNOWN = {
    "tictactoe_v3": (np.array([(a % 3) * 3 + a // 3 for a in range(9)]), True, "tic_tac_toe"),
    "connect_four_v3": (None, False, "connect_four"),
}


def clone_env(env):
    """An independent copy of an AEC env and its wrappers, with the game state.

    ``copy.deepcopy`` is not enough: PettingZoo envs are ``EzPickle``, whose pickling
    rebuilds a *fresh* env from the constructor arguments and drops the position.
    """
    new = object.__new__(type(env))
    new.__dict__.update({k: clone_env(v) if k == "env" else copy.deepcopy(v) for k, v in env.__dict__.items()})
    return new


#: PettingZoo classic environments that fit: two players, deterministic, sequential,
#: perfect information (base names, without the _vN version)
FIT = frozenset({"tictactoe", "connect_four", "go", "chess"})
#: why the other classic environments do not fit
UNFIT = {
    "texas_holdem": "has chance (card deals) and hidden information",
    "texas_holdem_no_limit": "has chance (card deals) and hidden information",
    "leduc_holdem": "has chance (card deals) and hidden information",
    "gin_rummy": "has chance (card deals) and hidden information",
    "hanabi": "has chance and hidden information",
    "rps": "has simultaneous moves",
}


class PettingZooGame:
    binary_obs = False

    def __init__(self, spec: str, history: int = 0):
        try:
            env_name, kwargs = parse_call(spec)
        except ValueError as e:
            raise UnknownGameError(str(e)) from None
        try:
            module = importlib.import_module(f"pettingzoo.classic.{env_name}")
        except ImportError:
            raise UnknownGameError(f"pettingzoo has no classic environment {env_name!r}") from None
        base = env_name.rsplit("_v", 1)[0]
        if base not in FIT:
            why = UNFIT.get(base, "is not known to be a deterministic, sequential, perfect-information game")
            raise UnknownGameError(
                f"pettingzoo:{env_name} {why}; these fit: " + ", ".join(f"{b}_vN" for b in sorted(FIT))
            )
        try:
            env = module.env(**kwargs)
            env.reset(seed=0)
        except Exception as e:  # environments raise assorted errors for bad options
            raise UnknownGameError(f"pettingzoo:{env_name} cannot be made with {kwargs}: {e}") from None
        if len(env.possible_agents) != 2:
            raise UnknownGameError(
                f"pettingzoo:{env_name} has {len(env.possible_agents)} players; only 2-player games fit"
            )
        obs = env.observe(env.agent_selection)
        if not isinstance(obs, dict) or "action_mask" not in obs:
            raise UnknownGameError(f"pettingzoo:{env_name} gives no action mask")
        self.env_name = env_name
        self._env0 = env
        self.name = f"pettingzoo:{spec.strip()}"
        self.history = int(history)
        self.num_actions = int(env.action_space(env.agent_selection).n)
        perm, self._swap, twin = _KNOWN.get(env_name, (None, False, None))
        self.to_env = perm if perm is not None else np.arange(self.num_actions)
        self._twin = None
        if twin is not None:
            from games.core import make

            self._twin = make(twin)
        o = self.frame_of(obs["observation"])
        self._frame = o.shape
        self.board_shape = (o.shape[1], o.shape[2])

    def __repr__(self) -> str:
        return f"PettingZooGame({self.env_name!r}, history={self.history})"

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        c, h, w = self._frame
        return (c * (self.history + 1), h, w)

    def frame_of(self, observation: np.ndarray) -> np.ndarray:
        o = np.asarray(observation, np.float32)
        if o.ndim == 1:
            o = o[None, None, :]
        else:
            o = np.moveaxis(o, -1, 0)  # [H, W, C] -> [C, H, W]
        if self._swap:
            o = o.swapaxes(1, 2)
        return o

    # -- batch bookkeeping
    def _fields(self, handles: np.ndarray):
        b = len(handles)
        player = np.zeros(b, np.int8)
        mask = np.zeros((b, self.num_actions), bool)
        term = np.zeros(b, bool)
        frames = np.zeros((b, *self._frame), np.float32)
        for i, env in enumerate(handles):
            agent = env.agent_selection
            if any(env.terminations.values()) or any(env.truncations.values()):
                term[i] = True
                continue
            player[i] = env.possible_agents.index(agent)
            obs = env.observe(agent)
            mask[i] = np.asarray(obs["action_mask"], bool)[self.to_env]
            frames[i] = self.frame_of(obs["observation"])
        return player, mask, term, frames

    def init(self, batch_size: int) -> AdapterState:
        b = check_batch_size(batch_size)
        handles = np.empty(b, object)
        for i in range(b):
            handles[i] = clone_env(self._env0)
        player, mask, term, _ = self._fields(handles)
        return AdapterState(
            current_player=player,
            legal_action_mask=mask,
            rewards=np.zeros((b, 2), np.float32),
            terminated=term,
            last_action=np.full(b, -1, np.int32),
            num_moves=np.zeros(b, np.int32),
            handles=handles,
            past=np.zeros((b, self.history, *self._frame), np.float32),
        )

    def step(self, state: AdapterState, actions: np.ndarray) -> AdapterState:
        actions = check_actions(state, actions)
        live = ~state.terminated
        handles = state.handles.copy()
        rewards = np.zeros((state.batch_size, 2), np.float32)
        for i in np.flatnonzero(live):
            env = clone_env(handles[i])
            env.step(int(self.to_env[actions[i]]))
            handles[i] = env
            rewards[i] = [env.rewards[a] for a in env.possible_agents]
        player, mask, term, _ = self._fields(handles)
        past = state.past
        if self.history:
            past = push_past(past, self._fields(state.handles)[3], live)
        return AdapterState(
            **step_fields(state, actions, live, term, rewards, mask, next_player=player, handles=handles, past=past)
        )

    def observe(self, state: AdapterState) -> np.ndarray:
        frames = np.zeros((state.batch_size, *self._frame), np.float32)
        for i, env in enumerate(state.handles):
            frames[i] = self.frame_of(env.observe(env.possible_agents[int(state.current_player[i])])["observation"])
        return stack_history(frames, state.past)

    # -- humans
    def cells(self, state: AdapterState, index: int = 0) -> np.ndarray:
        """int8[H, W] of 0/1/2 from the first two observation planes (own, opponent)."""
        env = state.handles[index]
        mover = int(state.current_player[index])
        frame = self.frame_of(env.observe(env.possible_agents[mover])["observation"])
        own, opp = frame[0] > 0, frame[1] > 0
        cells = np.zeros(self.board_shape, np.int8)
        cells[own] = 1 + mover
        cells[opp] = 2 - mover
        return cells

    def render(self, state: AdapterState, index: int = 0, color: bool = False) -> str:
        cells = self.cells(state, index)
        if self._twin is not None:
            return text.render_grid(cells, self._twin.column_labels(), self._twin.row_labels(), color=color)
        cols = [str(c) for c in range(cells.shape[1])]
        rows = [str(r) for r in range(cells.shape[0])]
        return text.render_grid(cells, cols, rows, color=color)

    def move_notation(self) -> str:
        if self._twin is not None:
            return self._twin.move_notation()
        return f"an action id 0-{self.num_actions - 1} (`moves` lists the legal ones)"

    def parse_action(self, state: AdapterState, text_in: str, index: int = 0) -> int:
        if self._twin is not None:
            return self._twin.parse_action(state, text_in, index)
        t = text.clean(text_in)
        if not t.isdigit() or len(t) > 6:
            raise ValueError(f"{text_in.strip()[:20]!r} is not a move: type {self.move_notation()}")
        a = int(t)
        if a >= self.num_actions or not state.legal_action_mask[index, a]:
            raise IllegalActionError(f"action {a} is not legal here")
        return a

    def action_to_string(self, state: AdapterState, action: int, index: int = 0) -> str:
        if self._twin is not None:
            return self._twin.action_to_string(state, action, index)
        return str(int(action))

    def legal_moves_text(self, state: AdapterState, index: int = 0) -> list[str]:
        return [self.action_to_string(state, a, index) for a in np.flatnonzero(state.legal_action_mask[index])]


register_prefix("pettingzoo", lambda rest, history=0: PettingZooGame(rest, history=history))
