"""The game interface every engine implements, the batched state, and the registry.

Conventions (written once, here):

* Players are 0 and 1. ``current_player`` is the player to move.
* A :class:`State` holds a batch of B independent games. Every array field has the
  batch as its leading axis; ``step`` returns a new state and never mutates its input.
* ``rewards[b, p]`` is what player p received for the transition that produced this
  state (win +1, loss -1, draw 0); the two entries sum to zero.
* Terminal states are absorbing: stepping a terminated game leaves it unchanged and
  gives zero rewards; its legal-action mask is all False and its action is ignored.
* An illegal action on a live game raises :class:`IllegalActionError`.
* Action ids follow OpenSpiel's numbering for the same game.
* ``observe(state)`` gives float32 planes ``[B, C, H, W]`` from the mover's point of
  view (own stones first), optionally with the last K positions stacked behind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np


class IllegalActionError(ValueError):
    """An action that is not legal in the position it was played in."""


class UnknownGameError(ValueError):
    """A game name that no engine or adapter understands, or a game that does not fit."""


@dataclasses.dataclass(frozen=True)
class State:
    """Fields shared by every engine's batched state; engines subclass it.

    current_player: int8[B]; legal_action_mask: bool[B, A]; rewards: float32[B, 2];
    terminated: bool[B]; last_action: int32[B] (-1 before the first move);
    num_moves: int32[B].
    """

    current_player: np.ndarray
    legal_action_mask: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    last_action: np.ndarray
    num_moves: np.ndarray

    @property
    def batch_size(self) -> int:
        return int(self.terminated.shape[0])


S = TypeVar("S", bound=State)


def take(state: S, index) -> S:
    """The sub-batch ``index`` (an int, slice, integer or boolean array) as a new state."""
    if isinstance(index, (int, np.integer)):
        index = slice(int(index), int(index) + 1)
    return dataclasses.replace(state, **{f.name: getattr(state, f.name)[index] for f in dataclasses.fields(state)})


def where(mask: np.ndarray, a: S, b: S) -> S:
    """Per game, ``a`` where ``mask[b]`` is True, else ``b`` (same type, same batch)."""
    out = {}
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        m = mask.reshape(mask.shape + (1,) * (x.ndim - 1))
        out[f.name] = np.where(m, x, y)
    return dataclasses.replace(a, **out)


def assign(buffer: S, index: np.ndarray, values: S) -> None:
    """Write ``values`` into rows ``index`` of ``buffer`` in place (for search trees that
    own their buffer; game engines never mutate states)."""
    for f in dataclasses.fields(buffer):
        getattr(buffer, f.name)[index] = getattr(values, f.name)


def concat(states: list[S]) -> S:
    """Join batches of the same game into one."""
    first = states[0]
    return dataclasses.replace(
        first,
        **{f.name: np.concatenate([getattr(s, f.name) for s in states]) for f in dataclasses.fields(first)},
    )


@runtime_checkable
class Game(Protocol):
    """A two-player, zero-sum, deterministic, perfect-information game over batches."""

    name: str
    num_actions: int
    board_shape: tuple[int, int]
    history: int

    @property
    def obs_shape(self) -> tuple[int, int, int]: ...

    #: True when observations only hold 0 and 1 (replay memory may bit-pack them).
    binary_obs: bool

    def init(self, batch_size: int) -> State: ...

    def step(self, state: State, actions: np.ndarray) -> State: ...

    def observe(self, state: State) -> np.ndarray: ...

    def render(self, state: State, index: int = 0, color: bool = False) -> str: ...

    def parse_action(self, state: State, text: str, index: int = 0) -> int: ...

    def action_to_string(self, state: State, action: int, index: int = 0) -> str: ...

    def move_notation(self) -> str: ...


def check_batch_size(batch_size) -> int:
    """A batch size as engines take it: a whole number >= 0 (TypeError, ValueError)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be a whole number, not {batch_size!r}")
    if batch_size < 0:
        raise ValueError(f"batch_size must be >= 0, not {batch_size}")
    return int(batch_size)


def check_actions(state: State, actions: np.ndarray) -> np.ndarray:
    """Validate a batch of actions against the legal mask; ignore terminated games.

    Returns the actions as int64[B] with terminated games' entries set to 0. Actions
    that are not integers (floats, strings) are a TypeError, not rounded.
    """
    if not isinstance(state, State):
        raise TypeError(f"expected a game state, not {type(state).__name__}")
    actions = np.asarray(actions)
    if actions.dtype.kind not in "iu" and not (actions.dtype.kind == "b" and actions.size == 0):
        raise TypeError(f"actions must be integers, not {actions.dtype}")
    if actions.shape != (state.batch_size,):
        raise ValueError(f"expected {state.batch_size} actions, got shape {actions.shape}")
    actions = np.where(state.terminated, 0, actions).astype(np.int64)
    num_actions = state.legal_action_mask.shape[1]
    in_range = (actions >= 0) & (actions < num_actions)
    legal = np.zeros_like(in_range)
    legal[in_range] = state.legal_action_mask[np.flatnonzero(in_range), actions[in_range]]
    bad = ~legal & ~state.terminated
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IllegalActionError(f"action {int(actions[i])} is not legal in game {i} of the batch")
    return actions


# ---------------------------------------------------------------- the step template
def position_fields(current_player, legal_action_mask, terminated, num_moves, **rest) -> dict:
    """The shared fields of B set-up positions (``from_cells``): the given mover, legal
    mask (empty where ``terminated``) and move count, no reward and no last move, with the
    engine's own ``rest``."""
    b = len(legal_action_mask)
    return dict(
        current_player=np.asarray(current_player, np.int8),
        legal_action_mask=legal_action_mask & ~np.asarray(terminated)[:, None],
        rewards=np.zeros((b, 2), np.float32),
        terminated=np.asarray(terminated, bool),
        last_action=np.full(b, -1, np.int32),
        num_moves=np.asarray(num_moves, np.int32),
        **rest,
    )


def initial_fields(legal_action_mask: np.ndarray, **rest) -> dict:
    """The shared fields of B new games (the first player to move, nothing played), with
    the engine's ``legal_action_mask bool[B, A]`` and its own ``rest``."""
    b = len(legal_action_mask)
    return position_fields(np.zeros(b, np.int8), legal_action_mask, np.zeros(b, bool), np.zeros(b, np.int32), **rest)


def step_fields(state: State, actions, live, terminated, rewards, legal_action_mask, next_player=None, **rest) -> dict:
    """The bookkeeping every engine's ``step`` shares, written once: in the ``live`` games
    the action is recorded, the move counted and the turn passes (to ``next_player[b]``
    where the engine says, else to the other player; at a game's end to the player who
    did not move last); finished games keep their mover; the legal mask is empty where
    ``terminated``. The engine gives the rules' results and its own fields (``rest``)."""
    other = 1 - state.current_player
    nxt = other if next_player is None else np.where(terminated, other, next_player)
    return dict(
        current_player=np.where(live, nxt, state.current_player).astype(np.int8),
        legal_action_mask=legal_action_mask & ~terminated[:, None],
        rewards=rewards,
        terminated=terminated,
        last_action=np.where(live, actions, state.last_action).astype(np.int32),
        num_moves=state.num_moves + live,
        **rest,
    )


def winner_rewards(player: np.ndarray, won: np.ndarray) -> np.ndarray:
    """float32[B, 2]: +1 to ``player[b]`` and -1 to the other where ``won[b]``, else 0."""
    rewards = np.zeros((len(won), 2), np.float32)
    batch = np.arange(len(won))
    rewards[batch, player] = won
    rewards[batch, 1 - player] = -1.0 * won
    return rewards


def random_actions(state: State, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random legal action per game (0 for terminated games), int64[B]."""
    mask = state.legal_action_mask
    noise = rng.random(mask.shape, dtype=np.float32)
    return np.argmax(np.where(mask, noise, -1.0), axis=1)


def explore(state: State, actions: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Epsilon-greedy, written once: each game's ``actions[b]``, or with probability
    ``epsilon`` a uniformly random legal action instead (the coin, then the random moves,
    are drawn from ``rng`` in that order)."""
    coin = rng.random(state.batch_size) < epsilon
    return np.where(coin, random_actions(state, rng), actions)


# ---------------------------------------------------------------- registry

_REGISTRY: dict[str, Callable[..., Game]] = {}
_PREFIXES: dict[str, Callable[[str], Game]] = {}


def register(name: str, factory: Callable[..., Game]) -> None:
    """Register a native game under ``name``."""
    _REGISTRY[name] = factory


def register_prefix(prefix: str, factory: Callable[[str], Game]) -> None:
    """Register an adapter for names of the form ``prefix:<rest>``."""
    _PREFIXES[prefix] = factory


def registered() -> list[str]:
    """Names of the native games, and the adapter prefixes as ``prefix:*``."""
    return sorted(_REGISTRY) + [f"{p}:*" for p in sorted(_PREFIXES)]


def canonical_name(name: str) -> str:
    """The one spelling of a game name: no whitespace anywhere (``" tic_tac_toe"`` and
    ``"openspiel:hex( board_size = 5 )"`` name the same games as without the spaces)."""
    return "".join(str(name).split())


def slug(name: str) -> str:
    """A file-name form of a game name, the one rule everywhere:
    ``openspiel:hex(board_size=5)`` -> ``openspiel_hex_board_size_5``."""
    safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in canonical_name(name))
    while "__" in safe:
        safe = safe.replace("__", "_")
    return safe.strip("_")


def make(name: str, history: int = 0, derived: int = 0) -> Game:
    """The game called ``name``: a native one, ``openspiel:<short_name>(params)``, or
    ``pettingzoo:<env>``. ``history`` stacks the last K positions into observations;
    ``derived`` adds the engine's derived planes up to that level (``games.native``; native
    engines only; ``True`` is level 1).
    Raises :class:`UnknownGameError` with a one-line reason, ValueError for an option the
    game cannot take."""
    name = canonical_name(name)
    if history < 0:
        raise ValueError("history must be >= 0")
    if name in _REGISTRY:
        return _REGISTRY[name](history=history, derived=derived)
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _PREFIXES:
        if derived:
            raise ValueError(f"{name} has no derived planes (only native engines have them)")
        return _PREFIXES[prefix](rest, history=history)
    known = ", ".join(registered())
    raise UnknownGameError(f"unknown game {name!r}; known: {known}")
