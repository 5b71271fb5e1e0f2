"""What selfplay knows about particular games, one small record per game.

A :class:`GameProfile` holds everything beyond the rules that the rest of the package
needs: how many random opening plies a fair match starts with, which openings count as
balanced, the exact evaluation of an agent, the exact move values behind ``hint``, the
player kind that plays the game perfectly, and the file-name slug. Every module looks the
profile up with :func:`profile`; none branches on a game's name. Adding a game with
exact knowledge is one new entry in :data:`PROFILES` (plus its tests); any other game gets
:data:`DEFAULT`.

Optional game features are declared on the game object (``symmetries``, ``from_stones``,
``pyspiel_game``/``pyspiel_name``, ``pettingzoo_name``, ``from_cells``,
``legal_moves_text``) and read through :func:`feature`.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

import games


@dataclasses.dataclass(frozen=True)
class GameProfile:
    #: random plies that open each match, eval and tournament game (each opening is
    #: played twice, seats swapped)
    opening_plies: int = 2
    #: ``state -> bool[B]``: which openings are fair (perfect play draws); None = all
    balanced: Callable | None = None
    #: ``(agent, rng, games_per_seat) -> dict``: exact-play report of an agent; None = none
    exact_eval: Callable | None = None
    #: ``() -> (state -> int[A])``: exact move values (+1/0/-1, other = unknown) for hints
    hints: Callable | None = None
    #: name of the player kind (in :mod:`selfplay.players`) that plays perfectly, or None
    perfect_player: str | None = None
    #: exact_eval is cheap enough to run at every evaluation during training
    exact_in_training: bool = False


def _ttt_balanced(state) -> np.ndarray:
    from selfplay.minimax import position_values

    return position_values(state) == 0


def _ttt_exact(agent, rng, games_per_seat):
    from selfplay.evaluate import exact_tic_tac_toe

    return exact_tic_tac_toe(agent, rng, num_games=games_per_seat)


def _ttt_hints():
    from selfplay.minimax import move_values

    return lambda state: move_values(state)[0]


def _c4_exact(agent, rng, games_per_seat):
    from selfplay.evaluate import exact_connect_four

    return exact_connect_four(agent, rng)


def _c4_hints():
    from selfplay.c4solver import Solver, from_state

    solver = Solver(table_bits=22)
    # a bounded budget: at most ~250k nodes a move (well under a second for all seven);
    # early positions stay unsettled and the hint says so once
    return lambda state: solver.move_values(*from_state(state), budget=250_000)


#: the profiles of games with exact knowledge; every other game uses DEFAULT
PROFILES: dict[str, GameProfile] = {
    "tic_tac_toe": GameProfile(opening_plies=1, balanced=_ttt_balanced, exact_eval=_ttt_exact, hints=_ttt_hints,
                               perfect_player="minimax", exact_in_training=True),
    "connect_four": GameProfile(opening_plies=2, exact_eval=_c4_exact, hints=_c4_hints, perfect_player="perfect"),
}
DEFAULT = GameProfile()


def profile(game_name: str) -> GameProfile:
    return PROFILES.get(games.canonical_name(game_name), DEFAULT)


def feature(game, name: str):
    """An optional feature a game declares (``symmetries``, ``from_stones``,
    ``pyspiel_game``, ``legal_moves_text``), or None."""
    return getattr(game, name, None)


def openings(game_name: str, count: int, seed: int, plies: int | None = None) -> list[list[int]]:
    """Up to ``count`` distinct seeded random openings of the profile's plies (or
    ``plies``) that do not end the game and that the profile counts as balanced;
    ValueError when there is none."""
    game = games.make(game_name)
    prof = profile(game_name)
    plies = prof.opening_plies if plies is None else plies
    rng = np.random.default_rng(seed)
    found: list[list[int]] = []
    seen: set[tuple] = set()
    for _ in range(200 * count):
        if len(found) == count:
            break
        s, moves = game.init(1), []
        for _ in range(plies):
            a = int(games.random_actions(s, rng)[0])
            s = game.step(s, np.array([a]))
            moves.append(a)
        if s.terminated[0] or tuple(moves) in seen:
            continue
        if prof.balanced is not None and plies and not prof.balanced(s)[0]:
            continue
        seen.add(tuple(moves))
        found.append(moves)
    if plies and not found:
        raise ValueError(f"no opening of {plies} random plies leaves a {game_name} game in play and balanced: "
                         f"use fewer opening plies (the game's own: {prof.opening_plies})")
    return found or [[]]
