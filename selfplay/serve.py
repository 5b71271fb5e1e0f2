"""``selfplay serve``: play, watch and rank in the browser.

A Starlette app, served by uvicorn on ``127.0.0.1`` unless told otherwise, with a light
front end that the package itself holds (``selfplay/web/``: one page, plain JavaScript and
SVG, no build step, nothing fetched at run time). The agents think in the server, in a
thread, so the server answers other requests meanwhile.

What the server reads is named on its command line or shipped with the package: the
checkpoints it may play (``--checkpoint``, and the shipped agents), the tournament files it
may show (``--db``), the run folders whose curves it may plot (``--run``). The page names
them by the names the server gave them, never by a path, and nothing else on the disk is
served.

The JSON API (every answer is JSON; a refusal is ``{"error": one line}`` with a 4xx status,
never a traceback):

- ``GET /api/options``: games, agents per game, tournaments, runs.
- ``POST /api/play`` ``{game, agent, search?, move_time?, human_seat}``: a new game.
- ``GET /api/play/{id}``; ``POST /api/play/{id}/move`` ``{action, version}`` (your move);
  ``POST /api/play/{id}/agent`` ``{version}`` (the agent's reply); ``/undo``, ``/new``
  ``{swap}``; ``GET /api/play/{id}/hint``. ``version`` is the number of moves the page has
  seen: a move sent from a stale page (two tabs on one game) is refused (409), and so is any
  request while the agent of that game is thinking (409).
- ``POST /api/watch`` ``{game, a, b}``: two players; ``POST /api/play/{id}/agent`` steps it.
- ``GET /api/rank/{name}``: cross table, ratings with intervals, stored games;
  ``GET /api/rank/{name}/game/{k}``: one stored game's positions, for replay.
- ``GET /api/runs/{name}``: a run's evaluations and training rows, and its settings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import math
import threading
from pathlib import Path

import numpy as np

import games
from selfplay import human

WEB = Path(__file__).resolve().parent / "web"
#: the most games kept in play at once (each holds an agent's states); the oldest go first
MAX_SESSIONS = 200


class Refused(Exception):
    """A request that gets a one-line refusal with an HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ what the server may read
@dataclasses.dataclass
class Sources:
    """The files the server was given, by the names the page uses."""

    checkpoints: dict[str, Path]
    tournaments: dict[str, Path]
    runs: dict[str, Path]
    #: other players (bots, GTP engines) by the string that names them, parsed once (an
    #: engine is started to learn its name only here, not at every request)
    players: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_paths(cls, *, checkpoints=(), dbs=(), runs=(), players=()) -> Sources:
        """Named by file stem (a number added where two share one); the shipped agents join
        the checkpoints. ValueError (one line) for a path that is not there."""

        def named(paths, what, check):
            out: dict[str, Path] = {}
            for p in map(Path, paths):
                why = check(p)
                if why:
                    raise ValueError(f"{what} {p}: {why}")
                name, k = p.stem if p.is_file() else p.name, 2
                base = name
                while name in out:
                    name, k = f"{base}-{k}", k + 1
                out[name] = p.resolve()
            return out

        ckpts = named(checkpoints, "--checkpoint", lambda p: None if p.is_file() else "no such file")
        for p in sorted(human.CHECKPOINT_DIR.glob("*.pt")):
            ckpts.setdefault(f"shipped:{p.stem}", p)
        from selfplay import players as P

        others = {}
        for spec in players:  # refused here, before the server starts, if it names no player
            try:
                found = P.parse(spec)
            except P.PlayerError as e:
                raise ValueError(f"--player {e}") from None
            if any(p.kind == "checkpoint" for p in found):
                raise ValueError(f"--player {spec}: a checkpoint goes with --checkpoint")
            others[spec] = found[0]
        return cls(
            checkpoints=ckpts,
            tournaments=named(dbs, "--db", lambda p: None if p.is_file() else "no such file"),
            runs=named(runs, "--run", lambda p: None if (p / "metrics.jsonl").is_file() else "no metrics.jsonl there"),
            players=others,
        )


def _native_games() -> list[str]:
    import re

    def natural(name: str) -> list:
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]

    return sorted((n for n in games.registered() if ":" not in n), key=natural)


# ------------------------------------------------------------------ a board the page can draw
def board(game, state) -> dict:
    """The position as the page draws it: cells (0 empty, 1 X, 2 O), the legal moves with
    the cell each one fills (None for a pass), whose turn, the last move, the end."""
    cells = game.cells(state, 0)
    legal = np.flatnonzero(state.legal_action_mask[0])
    moves = []
    if len(legal) and not state.terminated[0]:
        after = game.step(games.take(state, np.zeros(len(legal), np.int64)), legal)
        for k, a in enumerate(legal):
            filled = np.argwhere((cells == 0) & (game.cells(after, k) != 0))
            cell = [int(filled[0][0]), int(filled[0][1])] if len(filled) else None
            moves.append({"action": int(a), "label": game.action_to_string(state, int(a)), "cell": cell})
    last = game.last_move_cell(state, 0)
    out = {
        "kind": "hex" if game.name.startswith("hex_") else "grid",
        "rows": int(cells.shape[0]),
        "cols": int(cells.shape[1]),
        "cells": cells.tolist(),
        "column_labels": game.column_labels(),
        "row_labels": game.row_labels(),
        "moves": moves,
        "to_move": None if state.terminated[0] else int(state.current_player[0]),
        "last": list(last) if last else None,
        "over": bool(state.terminated[0]),
        "winner": None,
        "highlight": [],
    }
    if state.terminated[0]:
        r = state.rewards[0]
        out["winner"] = None if r[0] == r[1] else int(np.argmax(r))
        if out["winner"] is not None:
            from games import text

            chain = getattr(game, "winning_chain", None)  # Hex's; a line of k in a row elsewhere
            k = getattr(game, "in_a_row", None)
            won = chain(cells) if chain is not None else text.winning_cells(cells, k) if k else set()
            out["highlight"] = sorted([int(r_), int(c)] for r_, c in won)
    return out


# ------------------------------------------------------------------ games in play
class Session:
    """One game on the page: its positions, who plays which seat, and a lock held while
    an agent thinks (a second request meanwhile is refused, not queued)."""

    def __init__(self, game_name: str, seats: list, labels: list[str]):
        self.game_name = game_name
        self.game = games.make(game_name)
        self.seats = seats  # per seat: an agent, or None for the person at the page
        self.labels = labels
        self.states = [self.game.init(1)]
        self.moves: list[int] = []
        self.lock = threading.Lock()
        self.rng = np.random.default_rng(0)
        #: a game a player ended besides the rules: (the winner's seat, how)
        self.ended: tuple[int, str] | None = None

    @property
    def state(self):
        return self.states[-1]

    def view(self, sid: str) -> dict:
        s = self.state
        to_move = None if s.terminated[0] or self.ended else int(s.current_player[0])
        b = board(self.game, s)
        if self.ended:
            b.update(over=True, moves=[], to_move=None, winner=self.ended[0], ending=self.ended[1])
        return {
            "id": sid,
            "game": self.game_name,
            "version": len(self.moves) + (self.ended is not None),
            "board": b,
            "players": self.labels,
            "agent_to_move": to_move is not None and self.seats[to_move] is not None,
            "history": [self.game.action_to_string(st, a) for st, a in zip(self.states, self.moves)],
        }

    def check_version(self, version) -> None:
        if not isinstance(version, int) or isinstance(version, bool):
            raise Refused(400, "version must be the number of moves the page has seen")
        if version != len(self.moves) + (self.ended is not None):
            raise Refused(409, "the game has moved on since this page was drawn (another tab?): reload it")

    def push(self, action: int) -> None:
        self.states.append(self.game.step(self.state, np.array([action])))
        self.moves.append(int(action))


class App:
    """The server's state: its sources, loaded agents and games in play."""

    def __init__(self, sources: Sources):
        self.sources = sources
        self.sessions: dict[str, Session] = {}
        self.agents: dict[tuple, object] = {}
        self.ids = itertools.count(1)
        self.guard = threading.Lock()
        self.checkpoint_games: dict[str, str] | None = None

    # ---------------------------------------------------------------- agents
    def agents_for(self, game_name: str) -> list[str]:
        """``random`` and the checkpoints of ``game_name`` (each file read once)."""
        from selfplay.checkpoint import CheckpointError, load

        with self.guard:
            if self.checkpoint_games is None:
                self.checkpoint_games = {}
                for name, path in self.sources.checkpoints.items():
                    try:
                        self.checkpoint_games[name] = load(path)["game"]
                    except CheckpointError:
                        continue  # a broken file is refused when it is asked for, with its reason
        from selfplay import players as P

        others = [n for n, player in self.sources.players.items() if not P.KINDS[player.kind].refuses(game_name)]
        return ["random"] + [n for n, g in self.checkpoint_games.items() if g == game_name] + others

    def agent(self, game_name: str, name, search, move_time):
        from selfplay.agents import RandomAgent
        from selfplay.checkpoint import CheckpointError
        from selfplay.checks import real, whole
        from selfplay.players import load_agent

        if name == "random":
            return RandomAgent(), "random"
        if isinstance(name, str) and name in self.sources.players:
            from selfplay import players as P

            player = self.sources.players[name]
            why = P.KINDS[player.kind].refuses(game_name)
            if why:
                raise Refused(422, f"{player.label} {why}")
            return P.make_agent(player, game_name), player.label
        if not isinstance(name, str) or name not in self.sources.checkpoints:
            raise Refused(404, f"no agent named {str(name)[:60]!r} here (GET /api/options lists them)")
        try:
            search = None if search in (None, 0) else whole(search, "search", 1, 100_000)
            move_time = None if move_time in (None, 0) else real(move_time, "move_time", 0.001, 60)
        except (TypeError, ValueError) as e:
            raise Refused(400, str(e)) from None
        key = (name, game_name, search, move_time)
        with self.guard:
            if key not in self.agents:
                try:
                    self.agents[key] = load_agent(
                        self.sources.checkpoints[name], search=search, move_time=move_time, game=game_name
                    )
                except CheckpointError as e:
                    raise Refused(422, str(e)) from None
        how = f"search {search}" if search else f"{move_time:g} s a move" if move_time else "greedy"
        return self.agents[key], f"{name} ({how})"

    # ---------------------------------------------------------------- sessions
    def new_session(self, game_name, seats, labels) -> str:
        with self.guard:
            sid = str(next(self.ids))
            self.sessions[sid] = Session(game_name, seats, labels)
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.pop(next(iter(self.sessions)))
        return sid

    def session(self, sid: str) -> Session:
        s = self.sessions.get(sid)
        if s is None:
            raise Refused(404, f"no game {sid[:20]!r} here (the server may have restarted): start a new one")
        return s


def _game_name(value) -> str:
    if not isinstance(value, str) or value not in _native_games():
        raise Refused(404, f"no game {str(value)[:40]!r}: one of {', '.join(_native_games())}")
    return value


def _int(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(400, f"{what} must be a whole number")
    return value


# ------------------------------------------------------------------ handlers (plain functions of the request body)
def options(app: App) -> dict:
    return {
        "games": {g: app.agents_for(g) for g in _native_games()},
        "tournaments": list(app.sources.tournaments),
        "runs": list(app.sources.runs),
    }


def start_play(app: App, body: dict) -> dict:
    game_name = _game_name(body.get("game"))
    agent, label = app.agent(game_name, body.get("agent", "random"), body.get("search"), body.get("move_time"))
    seat = body.get("human_seat", 0)
    if seat not in (0, 1) or isinstance(seat, bool):
        raise Refused(400, "human_seat must be 0 (you move first) or 1")
    seats = [None, agent] if seat == 0 else [agent, None]
    labels = ["you", label] if seat == 0 else [label, "you"]
    sid = app.new_session(game_name, seats, labels)
    return app.session(sid).view(sid)


def start_watch(app: App, body: dict) -> dict:
    game_name = _game_name(body.get("game"))
    a, la = app.agent(game_name, body.get("a"), body.get("a_search"), None)
    b, lb = app.agent(game_name, body.get("b"), body.get("b_search"), None)
    sid = app.new_session(game_name, [a, b], [la, lb])
    return app.session(sid).view(sid)


@contextlib.contextmanager
def _locked(sess: Session):
    """The session's lock for the block; a second request meanwhile is refused, not queued."""
    if not sess.lock.acquire(blocking=False):
        raise Refused(409, "the agent is thinking: wait for its move")
    try:
        yield
    finally:
        sess.lock.release()


def human_move(app: App, sid: str, body: dict) -> dict:
    sess = app.session(sid)
    with _locked(sess):
        sess.check_version(body.get("version"))
        action = _int(body.get("action"), "action")
        s = sess.state
        if s.terminated[0] or sess.ended:
            raise Refused(409, "the game is over: start a new one")
        if sess.seats[int(s.current_player[0])] is not None:
            raise Refused(409, "it is the agent's turn")
        if not 0 <= action < s.legal_action_mask.shape[1] or not s.legal_action_mask[0, action]:
            raise Refused(400, "not a legal move here")
        sess.push(action)
        return sess.view(sid)


def agent_move(app: App, sid: str, body: dict) -> dict:
    """The agent to move plays (blocking: the caller runs it in a thread)."""
    sess = app.session(sid)
    with _locked(sess):
        sess.check_version(body.get("version"))
        s = sess.state
        if s.terminated[0] or sess.ended:
            raise Refused(409, "the game is over")
        seat = int(s.current_player[0])
        agent = sess.seats[seat]
        if agent is None:
            raise Refused(409, "it is your turn")
        kwargs = {"histories": [list(sess.moves)]} if getattr(agent, "uses_history", False) else {}
        if getattr(agent, "ends_games", False):  # an engine over GTP may resign or forfeit
            actions, ends = agent.act_or_end(s, sess.rng, **kwargs)
            if ends:
                score, how = ends[0]
                sess.ended = (seat if score == 1.0 else 1 - seat, how)
                return sess.view(sid)
        else:
            actions = agent.act(s, sess.rng, **kwargs)
        sess.push(int(actions[0]))
        return sess.view(sid)


def undo(app: App, sid: str, body: dict) -> dict:
    """Back to the person's previous turn (their move and the agent's reply taken back)."""
    sess = app.session(sid)
    with _locked(sess):
        sess.check_version(body.get("version"))
        if None not in sess.seats:
            raise Refused(409, "nothing to undo while two agents play")
        human = sess.seats.index(None)
        sess.ended = None
        while len(sess.moves):
            sess.states.pop()
            sess.moves.pop()
            if int(sess.state.current_player[0]) == human:
                break
        return sess.view(sid)


def new_game(app: App, sid: str, body: dict) -> dict:
    sess = app.session(sid)
    with _locked(sess):
        if body.get("swap"):
            sess.seats.reverse()
            sess.labels.reverse()
        sess.states, sess.moves, sess.ended = [sess.game.init(1)], [], None
        return sess.view(sid)


def hint(app: App, sid: str) -> dict:
    """Every legal move's value for the side to move, from the agent's network, and the
    exact outcome where the game's solver settles it."""
    from selfplay.profiles import profile

    sess = app.session(sid)
    with _locked(sess):
        s = sess.state
        if s.terminated[0]:
            raise Refused(409, "the game is over")
        agent = next((a for a in sess.seats if a is not None and hasattr(a, "q_values")), None)
        legal = np.flatnonzero(s.legal_action_mask[0])
        q = agent.q_values(s)[0] if agent is not None else None
        hints = profile(sess.game_name).hints
        exact = hints()(s) if hints is not None else None
        words = {1: "win", 0: "draw", -1: "loss"}
        b = board(sess.game, s)
        cells = {m["action"]: m["cell"] for m in b["moves"]}
        return {
            "values": [
                {
                    "action": int(a),
                    "label": sess.game.action_to_string(s, int(a)),
                    "cell": cells.get(int(a)),
                    "q": None if q is None else round(float(q[a]), 3),
                    "exact": None if exact is None else words.get(int(exact[a])),
                }
                for a in legal
            ]
        }


def rank(app: App, name: str) -> dict:
    from selfplay import tournament as T

    results = _results(app, name)
    out = {"name": name, "games": []}
    for game_name in results.game_names():
        players = results.players(game_name)
        anchor = "random" if any(p.label == "random" for p in players) else players[0].label
        st = T.standings(game_name, players, results, anchor=anchor)
        rows = results.stored(game_name, [p.ident for p in players])
        labels = {p.ident: p.label for p in players}
        out["games"].append(
            {
                "game": game_name,
                "anchor": anchor,
                "players": [p.label for p in players],
                "cross": [[{"points": pts, "games": n} for pts, n in row] for row in st.cross],
                "ratings": [
                    {
                        "player": r.name,
                        "elo": _finite(r.elo),
                        "ci95": _finite(r.ci95),
                        "games": r.games,
                        "score": r.score,
                    }
                    for r in st.ratings
                ],
                "stored": [
                    {
                        "k": k,
                        "black": labels[a] if a_first else labels[b],
                        "white": labels[b] if a_first else labels[a],
                        "result": _result(score_a, bool(a_first)),
                        "ending": ending,
                        "plies": len(json.loads(mv)),
                    }
                    for k, (a, b, _op, a_first, mv, score_a, ending) in enumerate(rows)
                ],
            }
        )
    return out


def replay(app: App, name: str, game_name: str, k: int) -> dict:
    results = _results(app, name)
    if game_name not in results.game_names():
        raise Refused(404, f"{name} holds no {game_name[:40]!r} games")
    players = results.players(game_name)
    rows = results.stored(game_name, [p.ident for p in players])
    if not 0 <= k < len(rows):
        raise Refused(404, f"{name} holds {len(rows)} {game_name} games: k from 0 to {len(rows) - 1}")
    game = games.make(game_name)
    s, frames, labels = game.init(1), [], []
    try:
        moves = [int(a) for a in json.loads(rows[k][4])]
        frames.append(board(game, s))
        for a in moves:
            labels.append(game.action_to_string(s, a))
            s = game.step(s, np.array([a]))
            frames.append(board(game, s))
    except (ValueError, TypeError, games.IllegalActionError) as e:
        raise Refused(422, f"{name}: stored game {k} cannot be replayed ({str(e)[:80]})") from None
    return {"game": game_name, "k": k, "moves": labels, "frames": frames}


def run_view(app: App, name: str) -> dict:
    folder = app.sources.runs.get(name)
    if folder is None:
        raise Refused(404, f"no run named {name[:40]!r} here")
    evals, train, rows = [], [], []
    try:
        text = (folder / "metrics.jsonl").read_text()
    except OSError as e:
        raise Refused(422, f"{name}: cannot read its metrics ({e.strerror or e})") from None
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a row cut short by a kill
        if not isinstance(row, dict):
            continue
        if row.get("kind") == "eval":
            rows.append(row)
            evals.append(
                {
                    "moves": row.get("moves"),
                    "time": row.get("time"),
                    "vs_random": (row.get("vs_random") or {}).get("score"),
                    "vs_frozen": (row.get("vs_frozen") or {}).get("score"),
                }
            )
        elif row.get("kind") == "train":
            train.append({"moves": row.get("moves"), "time": row.get("time"), "loss": row.get("loss")})
    try:  # the learner's Elo against the run's evaluation ladder, fitted over every evaluation
        from selfplay.evaluate import ladder_fit

        elo = ladder_fit([r for r in rows if isinstance(r.get("ladder"), dict) and isinstance(r.get("moves"), int)])
    except (KeyError, TypeError, ValueError, ArithmeticError):
        elo = []  # ladder rows not of our making: the curve goes without them
    settings = {}
    latest = folder / "latest.pt"
    if latest.is_file():
        from selfplay.checkpoint import CheckpointError, load

        try:
            d = load(latest)
            settings = json.loads(d["train_config"]) if isinstance(d["train_config"], str) else d["train_config"]
        except (CheckpointError, ValueError, KeyError):
            settings = {"error": "latest.pt cannot be read"}
    elo_points = [{k: e[k] for k in ("moves", "time", "elo", "ci95")} for e in elo]
    anchor = elo[-1]["anchor"] if elo else None
    return {
        "name": name,
        "evals": evals,
        "train": train[-2000:],
        "settings": settings,
        "elo": elo_points,
        "anchor": anchor,
    }


def _results(app: App, name: str):
    from selfplay import tournament as T

    path = app.sources.tournaments.get(name)
    if path is None:
        raise Refused(404, f"no tournament named {str(name)[:40]!r} here")
    try:
        return T.Results(path)
    except T.StoreError as e:
        raise Refused(422, str(e)) from None


def _result(score_a: float, a_first: bool) -> str:
    black = score_a if a_first else 1.0 - score_a
    return {1.0: "1-0", 0.0: "0-1"}.get(black, "1/2-1/2")


def _finite(x: float):
    return round(x, 1) if math.isfinite(x) else None


# ------------------------------------------------------------------ the web app
def make_app(sources: Sources):
    """The Starlette application over ``sources``."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route

    state = App(sources)

    async def body_of(request: Request) -> dict:
        raw = await request.body()
        if len(raw) > 10_000:
            raise Refused(413, "request body too large")
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Refused(400, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise Refused(400, "the body must be a JSON object")
        return body

    def endpoint(fn, *, takes_body=False, threaded=False):
        async def handle(request: Request):
            try:
                args = [state, *request.path_params.values()]
                if takes_body:
                    args.append(await body_of(request))
                out = await run_in_threadpool(fn, *args) if threaded else fn(*args)
                return JSONResponse(out)
            except Refused as e:
                return JSONResponse({"error": str(e)}, status_code=e.status)

        return handle

    def page(name: str, media: str):
        async def handle(request: Request):
            return FileResponse(WEB / name, media_type=media)

        return handle

    async def replay_route(request: Request):
        try:
            k = int(request.path_params["k"])
        except ValueError:
            return JSONResponse({"error": "k must be a whole number"}, status_code=400)
        try:
            game_name = request.query_params.get("game", "")
            return JSONResponse(await run_in_threadpool(replay, state, request.path_params["name"], game_name, k))
        except Refused as e:
            return JSONResponse({"error": str(e)}, status_code=e.status)

    async def not_found(request: Request, exc):
        return JSONResponse({"error": "no such page"}, status_code=404)

    async def refused(request: Request, exc):
        return JSONResponse({"error": "method not allowed here"}, status_code=405)

    async def broken(request: Request, exc):
        return JSONResponse({"error": f"internal error ({type(exc).__name__})"}, status_code=500)

    routes = [
        Route("/", page("index.html", "text/html")),
        Route("/app.js", page("app.js", "text/javascript")),
        Route("/style.css", page("style.css", "text/css")),
        Route("/api/options", endpoint(options, threaded=True)),
        Route("/api/play", endpoint(start_play, takes_body=True, threaded=True), methods=["POST"]),
        Route("/api/watch", endpoint(start_watch, takes_body=True, threaded=True), methods=["POST"]),
        Route("/api/play/{sid}", endpoint(lambda app, sid: app.session(sid).view(sid))),
        Route("/api/play/{sid}/move", endpoint(human_move, takes_body=True), methods=["POST"]),
        Route("/api/play/{sid}/agent", endpoint(agent_move, takes_body=True, threaded=True), methods=["POST"]),
        Route("/api/play/{sid}/undo", endpoint(undo, takes_body=True), methods=["POST"]),
        Route("/api/play/{sid}/new", endpoint(new_game, takes_body=True), methods=["POST"]),
        Route("/api/play/{sid}/hint", endpoint(hint, threaded=True)),
        Route("/api/rank/{name}", endpoint(rank, threaded=True)),
        Route("/api/rank/{name}/game/{k}", replay_route),
        Route("/api/runs/{name}", endpoint(run_view, threaded=True)),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: refused, Exception: broken})
