"""Positions written as text boards, the way a person draws them (rows from the top;
``X`` the first player, ``O`` the second, ``.`` empty; spaces ignored)."""

import numpy as np

import games


def board(game_name: str, text: str):
    """A batch-of-one state of a native game from its drawing; the mover follows from
    the stone counts."""
    rows = [r.replace(" ", "") for r in text.strip().splitlines()]
    cells = np.array([[{".": 0, "X": 1, "O": 2}[c] for c in r] for r in rows], np.int8)
    return games.make(game_name).from_cells(cells[None])
