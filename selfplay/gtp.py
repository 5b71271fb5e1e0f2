"""The agent as a Go Text Protocol (version 2) engine: ``selfplay gtp --checkpoint PATH``.

GUIs (HexGui, Sabaki, GoGui) and other programs (OpenSpiel's ``GTPBot``) drive the agent
through standard input and output, one command a line, for every game whose moves have a
GTP vertex: Hex and Othello (``a1``..), Go (``a1``.., ``pass``), native or through the
OpenSpiel adapter.

Protocol, as the GTP 2 specification has it: a command is ``[id] name [args]``; the answer
is ``=[id] result`` or ``?[id] error``, then an empty line. Comments (``#``...) and
control characters other than tab and newline are dropped; empty lines are ignored.
Nothing but responses goes to standard output (logs go to standard error). Bad input of
any kind gets an error response, never a traceback or an exit; ``quit`` or the end of
the input ends the engine with status 0.

Colours: ``b``/``black`` (also ``x``) is the first player, ``w``/``white`` (also ``o``)
the second. The games alternate, so ``play`` and ``genmove`` for the side not to move
are refused (``? illegal move``).
"""

from __future__ import annotations

import re
import sys

import numpy as np

#: GTP's answer to the engine-name command
NAME = "selfplay"
COMMANDS = (
    "protocol_version",
    "name",
    "version",
    "known_command",
    "list_commands",
    "boardsize",
    "clear_board",
    "komi",
    "play",
    "genmove",
    "undo",
    "showboard",
    "quit",
)
_COLORS = {"b": 0, "black": 0, "x": 0, "w": 1, "white": 1, "o": 1}
_VERTEX = re.compile(r"^([a-z]{1,2}\d{1,2}|pass)$")


class GTPError(Exception):
    """A command that gets ``? message``."""


def vertex(game, state, action: int) -> str:
    """The GTP vertex of ``action`` in ``state``: the game's own move string, lower case,
    without the colour OpenSpiel's Go puts in front (``B d4`` -> ``d4``)."""
    text = game.action_to_string(state, int(action)).strip().lower()
    return text.split()[-1] if text[:2] in ("b ", "w ") else text


def unfit(game) -> str | None:
    """Why ``game`` cannot be played over GTP (its moves have no vertex), or None."""
    s = game.init(1)
    moves = [vertex(game, s, a) for a in np.flatnonzero(s.legal_action_mask[0])]
    if not moves or not all(_VERTEX.match(m) for m in moves):
        return f"{game.name}'s moves ({', '.join(moves[:3])}, ...) are not GTP vertices"
    return None


def board_size(game) -> int | None:
    h, w = game.board_shape
    return h if h == w else None


def komi(game) -> float | None:
    """The komi the game was made with (Go), or None where komi does not apply."""
    ps = getattr(game, "pyspiel_game", None)
    if ps is None:
        return None
    value = ps.get_parameters().get("komi")
    return None if value is None else float(value)


class Engine:
    """GTP state: the agent, the game and the moves played (for ``undo``)."""

    def __init__(self, agent, seed: int = 0, log=None):
        self.agent, self.game = agent, agent.game
        self.rng = np.random.default_rng(seed)
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.komi = komi(self.game)
        self.commands = tuple(c for c in COMMANDS if c != "komi" or self.komi is not None)
        self.clear()

    def clear(self) -> None:
        self.states = [self.game.init(1)]

    @property
    def state(self):
        return self.states[-1]

    # ------------------------------------------------------------------ one line in, one answer out
    def handle(self, line: str) -> tuple[str | None, bool]:
        """The response to one input line (None for a line with no command) and whether
        the engine ends after it."""
        line = "".join(c for c in line if c in "\t\n" or (c.isprintable() and c != "\x7f"))
        line = line.split("#", 1)[0].replace("\t", " ").strip()
        if not line:
            return None, False
        words = line.split()
        ident = ""
        if words[0].isdigit():
            ident, words = words[0], words[1:]
            if not words:
                return f"?{ident} syntax error\n\n", False
        name, args = words[0].lower(), words[1:]
        try:
            if name not in self.commands:
                raise GTPError("unknown command")
            result = getattr(self, "_" + name)(args)
            return f"={ident} {result}".rstrip(" ") + "\n\n", name == "quit"
        except GTPError as e:
            return f"?{ident} {e}\n\n", False
        except Exception as e:  # never a traceback on the protocol's channel
            self.log(f"selfplay gtp: {type(e).__name__}: {e}")
            return f"?{ident} internal error\n\n", False

    def serve(self, stdin, stdout) -> None:
        """Answer lines from ``stdin`` until ``quit`` or the end of the input."""
        while True:
            try:
                line = stdin.readline()
            except (UnicodeDecodeError, ValueError):
                stdout.write("? syntax error\n\n")
                stdout.flush()
                continue
            if not line:
                return
            response, done = self.handle(line)
            if response is not None:
                stdout.write(response)
                stdout.flush()
            if done:
                return

    # ------------------------------------------------------------------ commands
    @staticmethod
    def _none(args):
        if args:
            raise GTPError("syntax error")

    def _protocol_version(self, args):
        return "2"

    def _name(self, args):
        return NAME

    def _version(self, args):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("selfplay")
        except PackageNotFoundError:
            return "unknown"

    def _known_command(self, args):
        if len(args) != 1:
            raise GTPError("syntax error")
        return "true" if args[0].lower() in self.commands else "false"

    def _list_commands(self, args):
        return "\n".join(self.commands)

    def _quit(self, args):
        return ""

    def _boardsize(self, args):
        if len(args) != 1 or not args[0].isdigit():
            raise GTPError("syntax error")
        if int(args[0]) != board_size(self.game):
            raise GTPError("unacceptable size")
        self.clear()
        return ""

    def _clear_board(self, args):
        self._none(args)
        self.clear()
        return ""

    def _komi(self, args):
        try:
            value = float(args[0]) if len(args) == 1 else None
        except ValueError:
            value = None
        if value is None or not np.isfinite(value):
            raise GTPError("syntax error")
        if value != self.komi:
            raise GTPError(f"komi {value:g} is not this agent's ({self.komi:g}: it was trained with it)")
        return ""

    def _color(self, word: str) -> int:
        player = _COLORS.get(word.lower())
        if player is None:
            raise GTPError("syntax error")
        return player

    def _play(self, args):
        if len(args) != 2:
            raise GTPError("syntax error")
        player, move = self._color(args[0]), args[1].lower()
        s = self.state
        if not _VERTEX.match(move):
            raise GTPError("syntax error")
        if s.terminated[0] or int(s.current_player[0]) != player:
            raise GTPError("illegal move")
        legal = {vertex(self.game, s, a): int(a) for a in np.flatnonzero(s.legal_action_mask[0])}
        if move not in legal:
            raise GTPError("illegal move")
        self.states.append(self.game.step(s, np.array([legal[move]])))
        return ""

    def _genmove(self, args):
        if len(args) != 1:
            raise GTPError("syntax error")
        player = self._color(args[0])
        s = self.state
        if s.terminated[0]:
            raise GTPError("the game is over")
        if int(s.current_player[0]) != player:
            raise GTPError("illegal move")
        action = int(self.agent.act(s, self.rng)[0])
        move = vertex(self.game, s, action)
        self.states.append(self.game.step(s, np.array([action])))
        self.log(f"selfplay gtp: {args[0]} {move}")
        return move

    def _undo(self, args):
        self._none(args)
        if len(self.states) < 2:
            raise GTPError("cannot undo")
        self.states.pop()
        return ""

    def _showboard(self, args):
        self._none(args)
        board = self.game.render(self.state, 0, color=False).rstrip("\n")
        # a blank line would end the response early
        return "\n" + "\n".join(line if line.strip() else "." for line in board.splitlines())
