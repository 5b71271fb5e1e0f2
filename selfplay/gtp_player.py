"""Engines no one here wrote, as players: ``gtp:COMMAND`` drives any Go Text Protocol engine.

Our game engine is the referee. It keeps the position, checks every move the engine sends
against our rules, decides the end and the score, and tells the engine the position with
``boardsize``, ``clear_board``, ``komi`` (where the game has one) and ``play``. The engine
only ever answers ``genmove``.

A player string is the engine's command line, then GTP settings sent before every game,
each after a ``;``::

    gtp:gtp-rhino -l 3
    gtp:mohex --quiet; param_mohex max_games 1000; param_mohex num_threads 1
    gtp:gnugo --mode gtp --level 1; time_settings 0 5 1

A ``time_settings`` setting is refused (before any game) by an engine that does not list the
command; the referee waits for a move up to twice its byo-yomi per stone plus 10 s, and 600 s
without one.

How a game can end besides the rules (:attr:`selfplay.arena.MatchResult.endings`):

- ``resign``: the engine answered ``genmove`` with ``resign``;
- ``proven win``: the engine refused ``genmove`` and its proof command (Benzene's
  ``dfpn-solve-state``) named the winner;
- ``forfeit: ...``: the engine failed, and the game is lost by the engine: an illegal or
  unparsable move, a refused ``play``/``boardsize``/setting, a crash, no answer within the
  time limit, or output that is not GTP. Each failure is one line on standard error, with
  the engine's log file; a dead or silent engine is stopped and a fresh one started for the
  next game.

Pass conventions: a side whose only legal move is to pass passes without asking the engine
(GRhino's ``genmove`` skips such a side by itself), and an engine that refuses ``play COLOR
pass`` (GRhino) is not told of passes again. Each engine process runs in a scratch folder of
its own (Benzene writes ``default.log`` where it runs); its standard error goes to
``stderr.log`` there, never to our terminal; the folder is removed when the engine closes,
unless the engine failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: the longest answer taken from an engine (a longer one is not GTP)
MAX_ANSWER = 1 << 20
#: how long the referee waits for a move when no time_settings are given, and for any other command
MOVE_WAIT = 600.0
COMMAND_WAIT = 60.0
#: where engines missing from PATH are also looked for (Debian puts its game engines there)
EXTRA_PATH = ("/usr/games",)
_COLOR = ("b", "w")


class EngineFailure(Exception):
    """The engine broke the protocol or died; one-line reason."""


@dataclasses.dataclass(frozen=True)
class EngineSpec:
    """An engine as the player string names it."""

    #: the command line, as typed
    command: str
    #: GTP commands sent after ``clear_board`` before every game
    settings: tuple[str, ...] = ()

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)

    @property
    def move_wait(self) -> float:
        """Seconds the referee waits for ``genmove``: from the ``time_settings`` setting."""
        for s in self.settings:
            words = s.split()
            if words[0] == "time_settings" and len(words) == 4:
                byo, stones = float(words[2]), max(1, int(words[3]))
                if byo > 0:
                    return 2 * byo / stones + 10 + float(words[1])
        return MOVE_WAIT


def parse_spec(text: str) -> EngineSpec:
    """``"COMMAND; SETTING; ..."`` (after ``gtp:``) -> :class:`EngineSpec`; ValueError
    with one line for a string that names no command, a setting that is not one GTP
    command, or a malformed ``time_settings``."""
    parts = [p.strip() for p in text.split(";")]
    command, settings = parts[0], tuple(p for p in parts[1:] if p)
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise ValueError(f"cannot split the command line ({e})") from None
    if not argv:
        raise ValueError("no command after gtp:")
    for s in settings:
        if not s.isprintable() or s.split()[0].lower() in ("quit", "genmove", "play", "boardsize", "clear_board"):
            raise ValueError(f"{s!r} is not a setting (the referee sends the position and the moves itself)")
        words = s.split()
        if words[0] == "time_settings":
            try:
                ok = len(words) == 4 and all(np.isfinite(float(w)) and float(w) >= 0 for w in words[1:3])
                ok = ok and int(words[3]) >= 0
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{s!r}: expected time_settings MAIN BYO_YOMI STONES (seconds, seconds, a count)")
    return EngineSpec(command, settings)


def find_program(name: str) -> str | None:
    """The path of program ``name``: as given when it holds a slash, else on PATH or in
    :data:`EXTRA_PATH`."""
    if "/" in name:
        return name if os.access(name, os.X_OK) and Path(name).is_file() else None
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(EXTRA_PATH))


class Process:
    """One running engine: commands in, answers out, each with a time limit."""

    def __init__(self, spec: EngineSpec):
        argv = spec.argv
        program = find_program(argv[0])
        if program is None:
            raise EngineFailure(f"no program {argv[0]!r} on PATH (nor in {', '.join(EXTRA_PATH)})")
        self.spec = spec
        self.folder = Path(tempfile.mkdtemp(prefix="selfplay-gtp-"))
        self.log_path = self.folder / "stderr.log"
        self.failed = False
        self._buf = b""
        with open(self.log_path, "wb") as log:
            try:
                self.proc = subprocess.Popen(
                    [program, *argv[1:]],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    cwd=self.folder,
                    start_new_session=True,  # a Ctrl-C at our terminal is ours to handle, not the engine's
                )
            except OSError as e:
                shutil.rmtree(self.folder, ignore_errors=True)
                raise EngineFailure(f"cannot start {argv[0]!r}: {e.strerror or e}") from None

    def send(self, command: str, wait: float = COMMAND_WAIT) -> tuple[bool, str]:
        """``(True, result)`` for ``= result``, ``(False, message)`` for ``? message``;
        EngineFailure when the engine is dead, silent for ``wait`` seconds, or not GTP."""
        try:
            self.proc.stdin.write((command + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._fail("the engine died" + self._exit_text()) from None
        text = self._read_answer(wait)
        status, _, rest = text.partition(" ") if text[:1] in "=?" else ("", "", "")
        if not status or not status[1:].isdigit() and status[1:] != "":
            raise self._fail(f"not GTP (answered {text[:40]!r} to {command.split()[0]})")
        return status[0] == "=", rest.strip()

    def _read_answer(self, wait: float) -> str:
        deadline = time.monotonic() + wait
        fd = self.proc.stdout.fileno()
        while True:
            self._buf = self._buf.replace(b"\r", b"")
            stripped = self._buf.lstrip(b"\n")
            end = stripped.find(b"\n\n")
            if end >= 0:
                self._buf = stripped[end + 2 :]
                try:
                    return stripped[:end].decode()
                except UnicodeDecodeError:
                    raise self._fail("not GTP (binary output)") from None
            if len(self._buf) > MAX_ANSWER:
                raise self._fail(f"not GTP (an answer of over {MAX_ANSWER:,} bytes)")
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail(f"no answer within {wait:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise self._fail("the engine closed its output" + self._exit_text())
                self._buf += chunk

    def _exit_text(self) -> str:
        try:
            code = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return ""
        return f" (exit code {code})" if code >= 0 else f" (killed by signal {-code})"

    def _fail(self, reason: str) -> EngineFailure:
        self.failed = True
        self.close()
        return EngineFailure(f"{reason}; its log: {self.log_path}")

    def close(self) -> None:
        """Stop the engine (``quit``, then a kill) and remove its folder unless it failed."""
        if self.proc.poll() is None:
            try:
                if not self.failed:
                    self.proc.stdin.write(b"quit\n")
                    self.proc.stdin.flush()
                    self.proc.wait(timeout=2)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                with contextlib.suppress(OSError, ValueError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError, ValueError):
                f.close()
        if not self.failed:
            shutil.rmtree(self.folder, ignore_errors=True)


def identify(spec: EngineSpec, *, board_size: int | None = None) -> tuple[str, str]:
    """``(label, ident)`` of the engine: its ``name`` and ``version`` answers with the
    command's arguments and the settings; the identity hashes the command, the settings
    and those answers, so a changed engine is a new player. EngineFailure (one line) when
    the engine cannot be started, does not speak GTP, refuses ``boardsize`` or does not
    know a ``time_settings`` it is given."""
    p = Process(spec)
    try:
        ok_n, name = p.send("name")
        ok_v, version = p.send("version")
        name = name if ok_n and name else Path(spec.argv[0]).name
        version = version if ok_v else ""
        if board_size is not None:
            ok, msg = p.send(f"boardsize {board_size}")
            if not ok:
                raise EngineFailure(f"refuses boardsize {board_size} ({msg})")
        if any(s.split()[0] == "time_settings" for s in spec.settings):
            ok, known = p.send("known_command time_settings")
            if not ok or known != "true":
                raise EngineFailure("does not know time_settings, so it cannot take a time limit")
    finally:
        p.close()
    extra = " ".join(spec.argv[1:] + [f"; {s}" for s in spec.settings]).replace(" ;", ";")
    label = f"{name} {version}".strip() + (f" {extra}" if extra else "")
    ident = "gtp:" + hashlib.sha256(repr((spec.command, spec.settings, name, version)).encode()).hexdigest()[:16]
    return label, ident


@dataclasses.dataclass
class _Session:
    """One engine process and the moves it has been told (a prefix of some game's)."""

    proc: Process
    moves: list[int]
    state: object
    takes_pass: bool = True
    used: float = 0.0


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class GtpAgent:
    """An engine as an agent of :mod:`selfplay.arena`: it ends a game itself where the
    engine resigns, proves a result or fails (``act_or_end``).

    ``pool``: the most engine processes kept at once. Games played in lockstep share them:
    an engine told another game's moves is cleared and told this game's (cheap next to a
    move; MoHex holds over 1 GB, so the pool is small). ``move_wait``: seconds to wait for a
    move (default: the spec's). ``warn``: where the one line about each failure goes."""

    uses_history = True
    ends_games = True

    def __init__(
        self, spec: EngineSpec, game, *, label: str = "", pool: int = 4, move_wait: float | None = None, warn=_warn
    ):
        from selfplay import gtp

        self.spec, self.game, self.label = spec, game, label or spec.command
        self.pool, self.warn = pool, warn
        self.move_wait = spec.move_wait if move_wait is None else move_wait
        self.board_size = gtp.board_size(game)
        self.komi = gtp.komi(game)
        self.sessions: list[_Session] = []
        self._clock = 0.0

    # ------------------------------------------------------------------ the agent
    def act(self, state, rng, histories=None) -> np.ndarray:
        actions, _ = self.act_or_end(state, rng, histories=histories)
        return actions

    def act_or_end(self, state, rng, histories=None) -> tuple[np.ndarray, dict[int, tuple[float, str]]]:
        """The engine's move in each game of ``state`` (move lists in ``histories``), and
        the games it ended instead: index -> (the engine's score 1/0, how it ended)."""
        n = state.batch_size
        actions = np.zeros(n, np.int64)
        ends: dict[int, tuple[float, str]] = {}
        for i in range(n):
            legal = np.flatnonzero(state.legal_action_mask[i])
            if len(legal) == 1:  # a forced move (Othello's pass) is not the engine's choice
                actions[i] = legal[0]
                continue
            try:
                result = self._genmove(list(histories[i]), int(state.current_player[i]))
            except EngineFailure as e:
                self.warn(f"{self.label}: forfeits the game: {e}")
                ends[i] = (0.0, f"forfeit: {str(e).split('; its log')[0]}")
                continue
            if isinstance(result, tuple):
                ends[i] = result
            else:
                actions[i] = result
        return actions, ends

    def _genmove(self, history: list[int], player: int):
        from selfplay import gtp

        sess = self._session(history)
        ok, answer = sess.proc.send(f"genmove {_COLOR[player]}", wait=self.move_wait)
        if not ok:
            proven = self._proof(sess, player, answer)
            if proven is not None:
                return proven
            raise self._failed(sess, f"refused genmove {_COLOR[player]} ({answer})")
        move = answer.lower()
        if move == "resign":
            return (0.0, "resign")
        s = sess.state
        legal = {gtp.vertex(self.game, s, a): int(a) for a in np.flatnonzero(s.legal_action_mask[0])}
        if move not in legal:
            raise self._failed(sess, f"illegal or unparsable move {answer[:40]!r}")
        action = legal[move]
        sess.state = self.game.step(s, np.array([action]))
        sess.moves.append(action)
        return action

    def _proof(self, sess: _Session, player: int, message: str):
        """Benzene refuses genmove once fill-in decides a game: its solver names the winner."""
        try:
            ok, known = sess.proc.send("known_command dfpn-solve-state")
            if not (ok and known == "true"):
                return None
            ok, winner = sess.proc.send(f"dfpn-solve-state {('black', 'white')[player]}", wait=self.move_wait)
        except EngineFailure:
            return None
        if not ok or winner.lower() not in ("black", "white", "b", "w"):
            return None
        won = winner.lower()[0] == _COLOR[player]
        return (1.0 if won else 0.0, f"proven win for {'black' if winner.lower()[0] == 'b' else 'white'}")

    # ------------------------------------------------------------------ sessions
    def _session(self, history: list[int]) -> _Session:
        """An engine told exactly ``history``: the one told the longest prefix of it, else
        a new one (while the pool has room) or the least recently used one, cleared."""
        self._clock += 1
        best = None
        for sess in self.sessions:
            if len(sess.moves) <= len(history) and history[: len(sess.moves)] == sess.moves:
                if best is None or len(sess.moves) > len(best.moves):
                    best = sess
        if best is None:
            if len(self.sessions) < self.pool:
                best = _Session(Process(self.spec), [], None)
                self.sessions.append(best)
            else:
                best = min(self.sessions, key=lambda s: s.used)
            try:
                self._new_game(best)
            except EngineFailure:
                self._drop(best)
                raise
        best.used = self._clock
        try:
            self._tell(best, history[len(best.moves) :])
        except EngineFailure:
            self._drop(best)
            raise
        return best

    def _new_game(self, sess: _Session) -> None:
        p = sess.proc
        commands = ([f"boardsize {self.board_size}"] if self.board_size else []) + ["clear_board"]
        commands += [f"komi {self.komi:g}"] if self.komi is not None else []
        for c in [*commands, *self.spec.settings]:
            ok, msg = p.send(c)
            if not ok:
                raise self._failed(sess, f"refused {c!r} ({msg})")
        sess.moves, sess.state = [], self.game.init(1)

    def _tell(self, sess: _Session, moves: list[int]) -> None:
        from selfplay import gtp

        for a in moves:
            s = sess.state
            v = gtp.vertex(self.game, s, a)
            c = _COLOR[int(s.current_player[0])]
            if v != "pass" or sess.takes_pass:
                ok, msg = sess.proc.send(f"play {c} {v}")
                if not ok and v == "pass":
                    sess.takes_pass = False  # GRhino: a side with no move is skipped by itself
                elif not ok:
                    raise self._failed(sess, f"refused play {c} {v} ({msg})")
            sess.state = self.game.step(s, np.array([a]))
            sess.moves.append(int(a))

    def _drop(self, sess: _Session) -> None:
        """Forget a session: its engine is stopped (a fresh one is started when needed)."""
        if sess in self.sessions:
            self.sessions.remove(sess)
        sess.proc.close()

    def _failed(self, sess: _Session, reason: str) -> EngineFailure:
        """The engine broke the rules or the protocol: stopped, its log kept and named."""
        sess.proc.failed = True
        self._drop(sess)
        return EngineFailure(f"{reason}; its log: {sess.proc.log_path}")

    def close(self) -> None:
        for sess in list(self.sessions):
            self._drop(sess)

    def __del__(self):
        with contextlib.suppress(OSError, ValueError):
            self.close()
