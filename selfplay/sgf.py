"""Stored games in forms other programs open: SGF for Go, Othello and Hex, move lists for the rest.

- Go (``GM[1]``): moves as SGF points (column, then row, ``a`` at the top left), a pass
  as ``[]``; ``SZ`` and ``KM``; the result as ``B+R``/``W+12.5``-style text from the score.
- Othello (``GM[2]``): the same points on the 8x8 board (``a`` the top row, as the game
  draws it), a pass as ``[]``.
- Hex (``GM[11]``): moves as HexGui writes them, cell names such as ``[e5]``.
- Connect four, tic-tac-toe and any other game: one line a game, the moves in the game's
  own notation.

Each game carries the players' labels, its result (``RE``; ``R`` when a player resigned,
``F`` for a forfeit) and, where a player ended it besides the rules, how (``C``).
"""

from __future__ import annotations

import json

import numpy as np

import games
from selfplay import gtp

#: SGF's game numbers
GM = {"go": 1, "othello": 2, "hex": 11}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("]", "\\]")


def _point(kind: str, game, state, action: int) -> str:
    """The SGF value of ``action`` in ``state``."""
    v = gtp.vertex(game, state, action)
    if v == "pass":
        return ""
    if kind == "hex":
        return v
    h = game.board_shape[0]
    col, row = ord(v[0]) - ord("a"), int(v[1:])
    if kind == "go":
        col -= col > 8  # GTP skips the letter i; SGF does not
        return chr(97 + col) + chr(97 + h - row)  # GTP's row 1 is at the bottom
    return chr(97 + col) + chr(97 + row - 1)  # Othello's row 1 is the top row


def _result(score_black: float, ending: str, margin: str = "") -> str:
    if score_black == 0.5:
        return "0"
    winner = "B" if score_black == 1.0 else "W"
    if ending == "resign":
        return f"{winner}+R"
    if ending.startswith("forfeit"):
        return f"{winner}+F"
    return f"{winner}+{margin}"


def game_text(game_name: str, moves: list[int], black: str, white: str, score_black: float, ending: str = "") -> str:
    """One game as SGF (Go, Othello, Hex) or as a line of moves (any other game)."""
    game = games.make(game_name)
    kind = gtp.game_kind(game)
    s = game.init(1)
    if kind not in GM or gtp.unfit(game) is not None:
        words = []
        for a in moves:
            words.append(game.action_to_string(s, a).strip())
            s = game.step(s, np.array([a]))
        result = {1.0: "1-0", 0.0: "0-1", 0.5: "1/2-1/2"}[score_black]
        return f"{black} vs {white}: {' '.join(words)} {result}" + (f" ({ending})" if ending else "")
    props = [f"FF[4]GM[{GM[kind]}]CA[UTF-8]AP[selfplay]SZ[{game.board_shape[0]}]"]
    komi = gtp.komi(game)
    if komi is not None:
        props.append(f"KM[{komi:g}]")
    nodes = []
    for a in moves:
        color, point = "BW"[int(s.current_player[0])], _point(kind, game, s, a)
        if point or kind != "othello":  # Othello's pass is implicit, as Quarry and GRhino write it
            nodes.append(f";{color}[{point}]")
        s = game.step(s, np.array([a]))
    margin = ""
    if kind in ("go", "othello") and s.terminated[0] and not ending:
        margin = f"{gtp.margin_of(game, s, komi):g}"
    props.append(f"PB[{_escape(black)}]PW[{_escape(white)}]RE[{_result(score_black, ending, margin)}]")
    if ending:
        props.append(f"C[{_escape(ending)}]")
    return "(;" + "".join(props) + "".join(nodes) + ")"


def export(path: str, game_name: str, rows: list[tuple], labels: dict[str, str]) -> int:
    """Write the stored games ``rows`` (``(a, b, opening, a_first, moves, score_a,
    ending)``) to ``path``: an SGF collection, or lines of moves for a game SGF has no
    number for. Returns how many games were written."""
    with open(path, "w", encoding="utf-8") as f:
        for a, b, _op, a_first, mv, score_a, ending in rows:
            black, white = (a, b) if a_first else (b, a)
            score_black = score_a if a_first else 1.0 - score_a
            f.write(game_text(game_name, json.loads(mv), labels[black], labels[white], score_black, ending) + "\n")
    return len(rows)


def suffix(game_name: str) -> str:
    """The file suffix export writes for ``game_name``: ``.sgf`` or ``.txt``."""
    game = games.make(game_name)
    return ".sgf" if gtp.game_kind(game) in GM and gtp.unfit(game) is None else ".txt"
