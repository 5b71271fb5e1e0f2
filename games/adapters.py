"""Shared pieces of the adapter games (OpenSpiel, PettingZoo): per-game objects in a batch.

An adapter state keeps one reference-engine object per game in an object array and
copies it before every move, so ``step`` never mutates its input. It is correct, not
fast: the native engines are the fast path.
"""

from __future__ import annotations

import ast
import dataclasses
import re

import numpy as np

from games.core import State

_CALL_RE = re.compile(r"^(?P<name>[A-Za-z_][\w]*)(?:\((?P<args>.*)\))?$")


def parse_call(spec: str) -> tuple[str, dict]:
    """``'go_v5(board_size=5)'`` -> ``('go_v5', {'board_size': 5})``; one-line ValueError."""
    m = _CALL_RE.match(spec.strip())
    if not m:
        raise ValueError(f"cannot read game spec {spec!r}: expected name or name(key=value, ...)")
    kwargs: dict = {}
    if m.group("args"):
        for part in m.group("args").split(","):
            key, eq, value = part.partition("=")
            if not eq or not key.strip().isidentifier():
                raise ValueError(f"cannot read parameter {part.strip()!r} in {spec!r}")
            try:
                kwargs[key.strip()] = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                kwargs[key.strip()] = value.strip()
    return m.group("name"), kwargs


@dataclasses.dataclass(frozen=True)
class AdapterState(State):
    #: object[B]: the reference engine's state (or environment) for each game.
    handles: np.ndarray
    #: float32[B, K, C, H, W]: the mover's observation planes of the K previous positions.
    past: np.ndarray


def push_past(past: np.ndarray, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Shift ``obs`` (the position before the move) into the history of live games."""
    if past.shape[1] == 0:
        return past
    shifted = np.concatenate([obs[:, None], past[:, :-1]], axis=1)
    return np.where(live[:, None, None, None, None], shifted, past)


def stack_history(obs: np.ndarray, past: np.ndarray) -> np.ndarray:
    """[B, C, H, W] current planes + [B, K, C, H, W] history -> [B, C * (K + 1), H, W]."""
    if past.shape[1] == 0:
        return obs
    b = obs.shape[0]
    return np.concatenate([obs[:, None], past], axis=1).reshape(b, -1, *obs.shape[2:])


def parse_listed(text_in: str, legal: dict[str, int], game_name: str) -> int:
    """Match a typed move against the legal moves' own strings (case-insensitive)."""
    from games import text

    t = text.clean(text_in)
    if not t:
        raise ValueError("empty move: type one of the legal moves (`moves` lists them)")
    for s, a in legal.items():
        if s.strip().lower() == t:
            return a
    raise ValueError(f"{text_in.strip()[:20]!r} is not a legal move in {game_name} (`moves` lists them)")
