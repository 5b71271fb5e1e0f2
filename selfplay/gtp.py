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
are refused (``? illegal move``), except where the side to move has no move but to pass
(Othello): a controller that never sends passes (GRhino, Quarry) is taken to have passed.

Beyond GTP 2's required commands: ``list_games``/``set_game`` (Quarry's, so it knows the
game), ``final_score`` (``B+N``/``W+N``/``0`` once the game is over: Othello's disc margin,
Go's score, Hex's winner as Benzene writes it), ``komi`` (any value is taken; Go is then
played under it, and standard error says the agent was trained with another), and
``time_settings``/``time_left``: a searching agent's time a move is held within them.
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
    "final_score",
    "list_games",
    "set_game",
    "time_settings",
    "time_left",
    "quit",
)
#: the moves a searching agent spreads its main time over (it then asks again: time_left)
MOVES_AHEAD = 20
#: the names ``list_games`` gives each kind of game (Quarry's spelling)
GAME_NAMES = {"othello": "Othello", "hex": "Hex", "go": "Go"}
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


def area_score(black: np.ndarray, white: np.ndarray) -> float:
    """Black's area minus White's (Tromp-Taylor, before komi): stones, and each empty
    region that reaches stones of one colour only."""
    h, w = black.shape
    score = float(black.sum()) - float(white.sum())
    seen = black | white
    for r0 in range(h):
        for c0 in range(w):
            if seen[r0, c0]:
                continue
            region, borders, todo = 0, set(), [(r0, c0)]
            seen[r0, c0] = True
            while todo:
                r, c = todo.pop()
                region += 1
                for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                    if 0 <= rr < h and 0 <= cc < w:
                        if black[rr, cc]:
                            borders.add("b")
                        elif white[rr, cc]:
                            borders.add("w")
                        elif not seen[rr, cc]:
                            seen[rr, cc] = True
                            todo.append((rr, cc))
            if borders == {"b"}:
                score += region
            elif borders == {"w"}:
                score -= region
    return score


def margin_of(game, state, komi: float | None = None) -> float:
    """The winner's margin in a finished game where the game counts one: Othello's discs,
    Go's area score less ``komi``; 0 elsewhere."""
    if hasattr(state, "stones") and game_kind(game) == "othello":
        from games.othello import _popcount

        black, white = (int(x) for x in _popcount(state.stones[0]))
        return float(abs(black - white))
    handles = getattr(state, "handles", None)
    if game_kind(game) == "go" and handles is not None:
        shape = game.pyspiel_game.observation_tensor_shape()
        planes = np.array(handles[0].observation_tensor(0)).reshape(shape)
        return abs(area_score(planes[0] > 0, planes[1] > 0) - (komi or 0.0))
    return 0.0


def game_kind(game) -> str:
    """``othello``, ``hex`` or ``go`` (the key of :data:`GAME_NAMES`); ``""`` for another game."""
    name = game.name.lower()
    return next((k for k in GAME_NAMES if name.startswith(k) or f":{k}" in name), "")


def _with_komi(game, value: float):
    """Go made anew under komi ``value`` (the OpenSpiel adapter's parameters)."""
    import games

    params = {**game.pyspiel_game.get_parameters(), "komi": float(value)}
    inner = ",".join(f"{k}={v}" for k, v in sorted(params.items()))
    return games.make(f"openspiel:{game.pyspiel_game.get_type().short_name}({inner})")


class Engine:
    """GTP state: the agent, the game and the moves played (for ``undo``)."""

    def __init__(self, agent, seed: int = 0, log=None):
        self.agent, self.game = agent, agent.game
        self.rng = np.random.default_rng(seed)
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.komi = komi(self.game)
        self.trained_komi = self.komi
        self.commands = COMMANDS
        #: time_settings (main, byo-yomi, stones) and the latest time_left per colour
        self.time_settings: tuple[float, float, int] | None = None
        self.time_left: dict[int, tuple[float, int]] = {}
        self.base_move_time = getattr(agent, "move_time", None)
        self.clear()

    def clear(self) -> None:
        self.states = [self.game.init(1)]
        self.moves: list[int] = []  # the actions that led from states[0] to each later state

    def _push(self, action: int) -> None:
        self.states.append(self.game.step(self.state, np.array([action])))
        self.moves.append(int(action))

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
        if value is None or not np.isfinite(value) or abs(value) > 1000:
            raise GTPError("syntax error")
        if self.trained_komi is None:
            self.log(f"selfplay gtp: komi {value:g} does not apply to {self.game.name}; taken and ignored")
            return ""
        if value != self.komi:
            if value != self.trained_komi:
                trained = self.trained_komi
                self.log(f"selfplay gtp: playing under komi {value:g}; the agent was trained with {trained:g}")
            moves = self.moves
            self.game, self.komi = _with_komi(self.game, value), value
            self.clear()
            for a in moves:  # the game so far, under the new komi
                self._push(a)
        return ""

    def _color(self, word: str) -> int:
        player = _COLORS.get(word.lower())
        if player is None:
            raise GTPError("syntax error")
        return player

    def _implicit_pass(self, player: int) -> None:
        """A controller that never sends passes (GRhino, Quarry) moves ``player`` while the
        other side has no move but to pass: that pass is played first."""
        s = self.state
        if s.terminated[0] or int(s.current_player[0]) == player:
            return
        legal = np.flatnonzero(s.legal_action_mask[0])
        if len(legal) == 1 and vertex(self.game, s, legal[0]) == "pass":
            self._push(int(legal[0]))

    def _play(self, args):
        if len(args) != 2:
            raise GTPError("syntax error")
        player, move = self._color(args[0]), args[1].lower()
        if not _VERTEX.match(move):
            raise GTPError("syntax error")
        self._implicit_pass(player)
        s = self.state
        if s.terminated[0] or int(s.current_player[0]) != player:
            raise GTPError("illegal move")
        legal = {vertex(self.game, s, a): int(a) for a in np.flatnonzero(s.legal_action_mask[0])}
        if move not in legal:
            raise GTPError("illegal move")
        self._push(legal[move])
        return ""

    def _genmove(self, args):
        if len(args) != 1:
            raise GTPError("syntax error")
        player = self._color(args[0])
        self._implicit_pass(player)
        s = self.state
        if s.terminated[0]:
            raise GTPError("the game is over")
        if int(s.current_player[0]) != player:
            raise GTPError("illegal move")
        self._budget(player)
        action = int(self.agent.act(s, self.rng)[0])
        move = vertex(self.game, s, action)
        self._push(action)
        self.log(f"selfplay gtp: {args[0]} {move}")
        return move

    def _undo(self, args):
        self._none(args)
        if len(self.states) < 2:
            raise GTPError("cannot undo")
        self.states.pop()
        self.moves.pop()
        return ""

    def _showboard(self, args):
        self._none(args)
        s = self.state
        board = self.game.render(s, 0, color=False).rstrip("\n")
        if s.terminated[0]:  # no side is to move once the game is over
            board = re.sub(r",? ?to_play=\w+", "", board) + f"\ngame over: {self._result_text()}"
        # a blank line would end the response early
        return "\n" + "\n".join(line if line.strip() else "." for line in board.splitlines())

    def _result_text(self) -> str:
        r = self.state.rewards[0]
        return "draw" if r[0] == r[1] else f"{('black', 'white')[int(np.argmax(r))]} wins"

    def _final_score(self, args):
        self._none(args)
        s = self.state
        if not s.terminated[0]:
            raise GTPError("the game is not over")
        r = s.rewards[0]
        if r[0] == r[1]:
            return "0"
        winner = "BW"[int(np.argmax(r))]
        margin = margin_of(self.game, self.state, self.komi)
        return f"{winner}+{margin:g}" if margin else f"{winner}+"

    def _list_games(self, args):
        self._none(args)
        return GAME_NAMES.get(game_kind(self.game), "")

    def _set_game(self, args):
        if not args:
            raise GTPError("syntax error")
        wanted = " ".join(args).lower()
        if wanted != game_kind(self.game) and wanted != self._list_games([]).lower():
            raise GTPError(f"unsupported game: this engine plays {self._list_games([]) or self.game.name}")
        return ""

    # ------------------------------------------------------------------ time
    def _time_settings(self, args):
        try:
            main, byo, stones = float(args[0]), float(args[1]), int(args[2])
        except (ValueError, IndexError):
            raise GTPError("syntax error") from None
        if len(args) != 3 or not (np.isfinite(main) and np.isfinite(byo)) or min(main, byo, stones) < 0:
            raise GTPError("syntax error")
        self.time_settings = (main, byo, stones)
        self.time_left = {}
        return ""

    def _time_left(self, args):
        try:
            player, left, stones = self._color(args[0]), float(args[1]), int(args[2])
        except (ValueError, IndexError):
            raise GTPError("syntax error") from None
        if len(args) != 3 or not np.isfinite(left) or stones < 0:
            raise GTPError("syntax error")
        self.time_left[player] = (max(0.0, left), stones)
        return ""

    def _budget(self, player: int) -> None:
        """A searching agent's time for this move, within the clock GTP gave (none given:
        its own budget). Main time is spread over :data:`MOVES_AHEAD` moves, plus a
        byo-yomi period's share; in byo-yomi, the period over its stones; a tenth is kept
        for the pipes."""
        if not hasattr(self.agent, "move_time") or self.time_settings is None:
            return
        if not (getattr(self.agent, "search", None) or self.base_move_time):
            return  # a greedy agent answers at once
        main, byo, stones = self.time_settings
        left, left_stones = self.time_left.get(player, (main, 0))
        if left_stones > 0:
            allowed = left / left_stones
        elif left > 0:
            allowed = left / MOVES_AHEAD + (byo / max(1, stones) if byo else 0)
        else:
            allowed = byo / max(1, stones) if byo else 0.0
        if allowed <= 0:
            return  # no time limits (GTP: byo-yomi 0 with stones 0), or none left: as configured
        allowed = max(0.001, 0.9 * allowed)
        self.agent.move_time = min(self.base_move_time or allowed, allowed)
