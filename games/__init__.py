"""Rules only: two-player board games as batched, immutable engines.

``games.make(name)`` returns a :class:`Game`; see :mod:`games.core` for the conventions.
This package never imports ``selfplay``.
"""
from games.core import (
    Game,
    IllegalActionError,
    State,
    UnknownGameError,
    canonical_name,
    concat,
    make,
    random_actions,
    registered,
    slug,
    take,
    where,
)
from games import connect_four as _c4, hex as _hex, othello as _othello, tictactoe as _ttt  # noqa: F401  (register natives)
from games import openspiel as _os, pettingzoo as _pz  # noqa: F401  (register adapters)

__all__ = [
    "Game", "IllegalActionError", "State", "UnknownGameError",
    "canonical_name", "concat", "make", "random_actions", "registered", "slug", "take", "where",
]
