"""Board drawing and move parsing for humans (no game rules here).

Stones: player 0 is ``X``, player 1 is ``O``. The last move is shown in brackets
(and bold when colour is on). Colour is ANSI: red for X, yellow for O.
"""

from __future__ import annotations

import numpy as np

SYMBOLS = {0: ".", 1: "X", 2: "O"}
_COLORS = {1: "\x1b[1;31m", 2: "\x1b[1;33m"}
_RESET = "\x1b[0m"
PLAYER_NAMES = ("X", "O")

MAX_INPUT = 64  # longer typed lines are refused before parsing


def render_grid(
    cells: np.ndarray,
    column_labels: list[str],
    row_labels: list[str] | None,
    last: tuple[int, int] | None = None,
    color: bool = False,
    highlight: set[tuple[int, int]] | None = None,
) -> str:
    """Draw an ``int8[H, W]`` grid of 0/1/2 with labels; ``last`` = (row, col) marked
    in brackets, the ``highlight`` cells (a winning line) in angle brackets."""
    height, width = cells.shape
    pad = max((len(r) for r in row_labels), default=0) + 1 if row_labels else 0
    lines = [" " * pad + "".join(f" {c:^2}" for c in column_labels).rstrip()]
    for r in range(height):
        parts = []
        for c in range(width):
            v = int(cells[r, c])
            sym = symbol(v, color)
            if highlight and (r, c) in highlight:
                parts.append(f"<{sym}>")
            elif last == (r, c):
                parts.append(f"[{sym}]")
            else:
                parts.append(f" {sym} ")
        label = f"{row_labels[r]:>{pad - 1}} " if row_labels else ""
        lines.append(label + "".join(parts).rstrip())
    return "\n".join(lines)


def symbol(value: int, color: bool = False) -> str:
    """How a cell of 0 (empty), 1 (X) or 2 (O) is drawn, coloured when ``color``."""
    sym = SYMBOLS[value]
    return f"{_COLORS[value]}{sym}{_RESET}" if color and value else sym


def clean(text: str) -> str:
    """Normalise a typed move: strip, lower-case; refuse very long lines."""
    if len(text) > MAX_INPUT:
        raise ValueError(f"input too long ({len(text)} characters)")
    return text.strip().lower()


def winning_cells(cells: np.ndarray, k: int) -> set[tuple[int, int]]:
    """The cells of every line of ``k`` equal stones in a row (any direction) on an
    ``int8[H, W]`` grid of 0/1/2: the winning line of a finished game, for drawing."""
    h, w = cells.shape
    out: set[tuple[int, int]] = set()
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        for r in range(h):
            for c in range(w):
                end_r, end_c = r + (k - 1) * dr, c + (k - 1) * dc
                if not (0 <= end_r < h and 0 <= end_c < w) or cells[r, c] == 0:
                    continue
                line = [(r + i * dr, c + i * dc) for i in range(k)]
                if all(cells[p] == cells[r, c] for p in line):
                    out.update(line)
    return out
