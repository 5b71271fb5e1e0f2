"""Rules only: two-player board games as batched, immutable engines.

``games.make(name)`` returns a :class:`Game`; see :mod:`games.core` for the conventions.
This package never imports ``selfplay``.
"""

# importing an engine or adapter module registers it
from games import connect_four as _c4  # noqa: F401
from games import hex as _hex  # noqa: F401
from games import openspiel as _os  # noqa: F401
from games import othello as _othello  # noqa: F401
from games import pettingzoo as _pz  # noqa: F401
from games import tictactoe as _ttt  # noqa: F401
from games.core import (
    Game,
    IllegalActionError,
    State,
    UnknownGameError,
    canonical_name,
    concat,
    explore,
    make,
    random_actions,
    registered,
    slug,
    take,
    where,
)

__all__ = [
    "Game",
    "IllegalActionError",
    "State",
    "UnknownGameError",
    "canonical_name",
    "concat",
    "explore",
    "make",
    "random_actions",
    "registered",
    "slug",
    "take",
    "where",
]
