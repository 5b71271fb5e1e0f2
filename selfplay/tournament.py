"""Round-robin tournaments between checkpoints and reference bots, stored in SQLite.

Players are named as :mod:`selfplay.players` parses them (checkpoints, folders,
``PATH@search=N``, ``PATH@sym=0``, ``random``, ``mcts:N``, ``minimax``, ``perfect``).

Every pair plays ``games_per_pair`` games from :func:`selfplay.profiles.schedule`: each
opening of a seeded set twice, seats swapped; openings one ply deeper once the game's own
run out, and round again only where a fixed ``--opening-plies`` has fewer than asked for.
A game is identified by (game, player A, player B, opening moves, who moved first, round),
with players identified by checkpoint content hash and each pair ordered by identity, so
the pair (A, B) is the pair (B, A). A rerun plays only the games that are missing and never
counts one twice; each finished chunk of games is committed at once, so a killed
tournament loses only the games in flight.

The store refuses, with one line and before writing anything, a file that is not a
SQLite database, fails SQLite's integrity check (corrupt, truncated), or holds tables of
another schema. A full disk stops the run with one line; the games already stored stay.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import time
from pathlib import Path

from selfplay import arena, profiles, ratings
from selfplay.players import Player, PlayerError, play_chunk

FORMAT = "selfplay-tournament"
SCHEMA_VERSION = 3
_SCHEMA = """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE IF NOT EXISTS players (ident TEXT PRIMARY KEY, label TEXT, spec TEXT);
    CREATE TABLE IF NOT EXISTS games (
        game TEXT, a TEXT, b TEXT, opening TEXT, a_first INTEGER, round INTEGER,
        moves TEXT, score_a REAL, created REAL, ending TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (game, a, b, opening, a_first, round));
"""
#: the columns of each table, as this version writes them (and versions 1's and 2's games)
_TABLES = {
    "meta": ["key", "value"],
    "players": ["ident", "label", "spec"],
    "games": ["game", "a", "b", "opening", "a_first", "round", "moves", "score_a", "created", "ending"],
}
_V1_GAMES = ["game", "a", "b", "opening", "a_first", "moves", "score_a", "created"]
_V2_GAMES = _TABLES["games"][:-1]


class StoreError(PlayerError):
    """A results file that cannot be used or written; one-line message."""


@dataclasses.dataclass(frozen=True)
class Pairing:
    """One planned game: players a and b (indices, ordered by identity) and the game."""

    a: int
    b: int
    planned: arena.Planned


def plan(players: list[Player], planned: list[arena.Planned]) -> list[Pairing]:
    """Every pair plays every planned game; within a pair, a is the smaller identity."""
    out = []
    for i in range(len(players)):
        for j in range(i + 1, len(players)):
            a, b = (i, j) if players[i].ident < players[j].ident else (j, i)
            out.extend(Pairing(a, b, p) for p in planned)
    return out


def _tables(db) -> dict[str, list[str]]:
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {n: [r[1] for r in db.execute(f"PRAGMA table_info('{n}')")] for n in names}


class Store:
    """The SQLite file: one row per finished game."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        p = Path(self.path)
        if p.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a results file")
        if p.exists() and not p.is_file():  # a pipe or device: SQLite could wait on it forever
            raise StoreError(f"{self.path}: not a regular file (a pipe, socket or device), not a results file")
        fresh = not p.exists() or p.stat().st_size == 0
        if not fresh:
            self._check_existing()
        created = not p.exists()
        try:
            self.db = sqlite3.connect(self.path, timeout=30)
            with self.db:
                if not fresh and "meta" not in _tables(self.db):
                    self._migrate_v1()
                if _tables(self.db).get("games") == _V2_GAMES:  # version 2: every game ended by the rules
                    self.db.execute("ALTER TABLE games ADD COLUMN ending TEXT NOT NULL DEFAULT ''")
                self.db.executescript(_SCHEMA)
                self.db.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)", [("format", FORMAT), ("version", str(SCHEMA_VERSION))]
                )
        except sqlite3.Error as e:
            if created and p.exists():  # leave nothing behind (a full disk at the start)
                p.unlink()
            raise StoreError(f"{self.path}: cannot write the results file ({e})") from None

    def _check_existing(self) -> None:
        """Read-only checks of a file that exists: SQLite, intact, and ours."""
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                check = db.execute("PRAGMA quick_check").fetchall()
                tables = _tables(db)
                meta = dict(db.execute("SELECT key, value FROM meta")) if "meta" in tables else {}
            finally:
                db.close()
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: not a readable SQLite file ({e}); nothing was written") from None
        if check != [("ok",)]:
            raise StoreError(
                f"{self.path}: fails SQLite's integrity check (corrupt or truncated: "
                f"{str(check[0][0])[:80]}); nothing was written"
            )
        v1 = tables == {"players": _TABLES["players"], "games": _V1_GAMES}
        ours = set(tables) <= set(_TABLES) and all(
            tables[t] == _TABLES[t] or (t == "games" and tables[t] == _V2_GAMES) for t in tables
        )
        if not (v1 or (ours and meta.get("format") == FORMAT)):
            raise StoreError(
                f"{self.path}: holds tables of another kind ({', '.join(sorted(tables)) or 'none'}): "
                "not a selfplay tournament file; nothing was written"
            )
        if meta and int(meta.get("version", 0)) > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: written by a newer selfplay (schema {meta['version']})")

    def _migrate_v1(self) -> None:
        """A version-1 file (no round column): its games become round 0."""
        self.db.execute("ALTER TABLE games RENAME TO games_v1")
        self.db.executescript(_SCHEMA)
        self.db.execute(
            "INSERT OR IGNORE INTO games SELECT game, a, b, opening, a_first, 0, moves, score_a, created, '' "
            "FROM games_v1"
        )
        self.db.execute("DROP TABLE games_v1")

    def add_players(self, players: list[Player]) -> None:
        with self._writing():
            self.db.executemany(
                "INSERT OR REPLACE INTO players VALUES (?, ?, ?)",
                [(p.ident, p.label, json.dumps(dataclasses.asdict(p))) for p in players],
            )

    def done_keys(self, game_name: str) -> set[tuple]:
        rows = self.db.execute("SELECT a, b, opening, a_first, round FROM games WHERE game = ?", (game_name,))
        return {(a, b, op, bool(f), int(r)) for a, b, op, f, r in rows}

    def add_games(self, game_name: str, rows: list[tuple]) -> None:
        """rows: (ident_a, ident_b, opening json, a_first, round, moves json, score_a, ending)
        (ending: "" by the rules, else how a player ended the game)."""
        with self._writing():
            self.db.executemany(
                "INSERT OR IGNORE INTO games VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(game_name, a, b, op, int(f), r, mv, sc, time.time(), e) for a, b, op, f, r, mv, sc, e in rows],
            )

    def stored(self, game_name: str, idents: list[str]) -> list[tuple]:
        """Every stored game between ``idents``, as played: ``(a, b, opening, a_first,
        moves, score_a, ending)``, oldest first."""
        marks = ",".join("?" * len(idents))
        q = (
            f"SELECT a, b, opening, a_first, moves, score_a, ending FROM games WHERE game = ? AND a IN ({marks}) "
            f"AND b IN ({marks}) ORDER BY created, a, b, opening, a_first, round"
        )
        return list(self.db.execute(q, (game_name, *idents, *idents)))

    def stored_rounds(self, game_name: str, a: str, b: str) -> list[tuple]:
        """The pair's stored games (``a`` the smaller identity): ``(opening, a_first, round,
        moves, score_a, ending)``."""
        q = (
            "SELECT opening, a_first, round, moves, score_a, ending FROM games WHERE game = ? AND a = ? AND b = ? "
            "ORDER BY opening, a_first DESC, round"
        )
        return list(self.db.execute(q, (game_name, a, b)))

    def endings(self, game_name: str) -> list[tuple]:
        """``(ident_a, ident_b, ending, score_a)`` of the games a player ended besides the rules."""
        q = "SELECT a, b, ending, score_a FROM games WHERE game = ? AND ending != '' ORDER BY created"
        return list(self.db.execute(q, (game_name,)))

    @contextlib.contextmanager
    def _writing(self):
        """One transaction; a failed write (a full disk) is one line, earlier games stay."""
        try:
            with self.db:
                yield
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot store results ({e}); the games stored before stay") from None

    def results(self, game_name: str, idents: list[str]) -> list[tuple]:
        marks = ",".join("?" * len(idents))
        q = (
            f"SELECT a, b, opening, a_first, moves, score_a FROM games WHERE game = ? AND a IN ({marks}) "
            f"AND b IN ({marks})"
        )
        return list(self.db.execute(q, (game_name, *idents, *idents)))


class Results:
    """A results file opened to read only (``selfplay serve``): checked as :class:`Store`
    checks it, never written, version 1 and 2 files read as they are."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        p = Path(self.path)
        if not p.is_file() or p.stat().st_size == 0:
            raise StoreError(f"{self.path}: no results file there")
        Store._check_existing(self)
        try:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            self.columns = _tables(self.db).get("games", [])
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: not a readable SQLite file ({e})") from None

    def _query(self, q: str, args=()) -> list[tuple]:
        try:
            return list(self.db.execute(q, args))
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot read the results file ({e})") from None

    def game_names(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT game FROM games ORDER BY game")]

    def players(self, game_name: str) -> list[Player]:
        """The players with games of ``game_name``, as they were stored."""
        idents = {
            r[0]
            for r in self._query(
                "SELECT a FROM games WHERE game = ? UNION SELECT b FROM games WHERE game = ?", (game_name, game_name)
            )
        }
        out = []
        for ident, label, spec in self._query("SELECT ident, label, spec FROM players ORDER BY label"):
            if ident not in idents:
                continue
            try:
                fields = json.loads(spec)
                fields["settings"] = tuple(fields.get("settings") or ())
                out.append(Player(**fields))
            except (TypeError, ValueError):
                out.append(Player(label=label, ident=ident, kind="unknown"))
        return out

    def results(self, game_name: str, idents: list[str]) -> list[tuple]:
        return Store.results(self, game_name, idents)

    def stored(self, game_name: str, idents: list[str]) -> list[tuple]:
        ending = "ending" if "ending" in self.columns else "''"
        marks = ",".join("?" * len(idents))
        q = (
            f"SELECT a, b, opening, a_first, moves, score_a, {ending} FROM games WHERE game = ? AND a IN ({marks}) "
            f"AND b IN ({marks}) ORDER BY created, a, b, opening, a_first"
        )
        return self._query(q, (game_name, *idents, *idents))


def _key(players, p: Pairing) -> tuple:
    return (
        players[p.a].ident,
        players[p.b].ident,
        json.dumps(list(p.planned.opening)),
        p.planned.a_first,
        p.planned.round,
    )


def _rows(pa: Player, pb: Player, chunk: list[Pairing], result: arena.MatchResult) -> list[tuple]:
    """The rows the store keeps for a chunk of one pair's games."""
    return [
        (
            pa.ident,
            pb.ident,
            json.dumps(list(p.planned.opening)),
            p.planned.a_first,
            p.planned.round,
            json.dumps(m),
            float(s),
            how,
        )
        for p, m, s, how in zip(chunk, result.moves, result.scores, result.endings)
    ]


def pending(
    game_name: str,
    players: list[Player],
    games_per_pair: int,
    store: Store,
    seed: int = 0,
    opening_plies: int | None = None,
) -> tuple[list[Pairing], int]:
    """The planned games not yet in the store, and how many are planned in all."""
    planned, done = _planned_and_done(game_name, players, games_per_pair, store, seed, opening_plies)
    return [p for p in planned if _key(players, p) not in done], len(planned)


def _planned_and_done(game_name, players, games_per_pair, store, seed, opening_plies):
    """Every planned game, and the keys of those already stored."""
    return plan(players, profiles.schedule(game_name, games_per_pair, seed, opening_plies)), store.done_keys(game_name)


def chunks(players: list[Player], planned: list[Pairing], chunk_size: int, seed: int) -> list[tuple]:
    """The tasks of a tournament: each pair's planned games cut into chunks of
    ``chunk_size`` in plan order, each chunk seeded by its pair and its place
    (:func:`selfplay.arena.chunk_seed`). A chunk's games are stored in one transaction, so
    a resumed tournament meets whole chunks and plays the rest exactly as an uninterrupted
    run would."""
    by_pair: dict = {}
    for p in planned:
        by_pair.setdefault((p.a, p.b), []).append(p)
    tasks = []
    for (a, b), items in by_pair.items():
        key = f"{players[a].ident}|{players[b].ident}"
        for k in range(0, len(items), chunk_size):
            tasks.append(
                (players[a], players[b], items[k : k + chunk_size], arena.chunk_seed(seed, k // chunk_size, key))
            )
    return tasks


def run(
    game_name: str,
    players: list[Player],
    games_per_pair: int,
    store: Store,
    workers: int = 0,
    seed: int = 0,
    opening_plies: int | None = None,
    chunk_size: int = 8,
    on_progress=None,
    ray_address: str | None = None,
) -> int:
    """Play every planned game not yet in the store; returns how many were played.

    ``workers > 0``: chunks of games are Ray tasks (local Ray, or the cluster at
    ``ray_address``); this process stays the store's single writer, adding each chunk's
    games as it comes back, so a kill loses at most the chunks in flight."""
    planned, done = _planned_and_done(game_name, players, games_per_pair, store, seed, opening_plies)
    missing = [p for p in planned if _key(players, p) not in done]
    total = len(planned)
    if not missing:
        return 0
    store.add_players(players)
    if on_progress:
        on_progress(total - len(missing), total)
    tasks, todos = [], []
    for pa, pb, items, chunk_seed in chunks(players, planned, chunk_size, seed):
        todo = [p for p in items if _key(players, p) not in done]
        if todo:  # a chunk cut short only by an older version or another --games: its missing games
            tasks.append((len(tasks), game_name, pa, pb, [p.planned for p in todo], chunk_seed))
            todos.append((pa, pb, todo))
    finished = total - len(missing)
    if workers > 0:
        from selfplay.raytasks import imap_unordered

        results = imap_unordered(play_chunk, tasks, workers, ray_address)
    else:
        results = map(play_chunk, tasks)
    for k, result in results:
        rows = _rows(*todos[k], result)
        store.add_games(game_name, rows)
        finished += len(rows)
        if on_progress:
            on_progress(finished, total)
    return len(missing)


@dataclasses.dataclass
class Standings:
    players: list[Player]
    ratings: list[ratings.Rating]
    #: cross[i][j] = (points of i against j, games)
    cross: list[list[tuple[float, int]]]
    #: seat[i] = ((points as first, games), (points as second, games))
    seat: list[tuple[tuple[float, int], tuple[float, int]]]
    rows: list[tuple]


def standings(
    game_name: str, players: list[Player], store: Store, anchor: str = "random", anchor_elo: float = 0.0
) -> Standings:
    idx = {p.ident: k for k, p in enumerate(players)}
    rows = store.results(game_name, list(idx))
    n = len(players)
    cross = [[(0.0, 0) for _ in range(n)] for _ in range(n)]
    seat = [[[0.0, 0], [0.0, 0]] for _ in range(n)]
    results = []
    for a, b, _op, a_first, _mv, s in rows:
        i, j = idx[a], idx[b]
        results.append((i, j, s))
        pi, gi = cross[i][j]
        cross[i][j] = (pi + s, gi + 1)
        pj, gj = cross[j][i]
        cross[j][i] = (pj + 1 - s, gj + 1)
        seat[i][0 if a_first else 1][0] += s
        seat[i][0 if a_first else 1][1] += 1
        seat[j][1 if a_first else 0][0] += 1 - s
        seat[j][1 if a_first else 0][1] += 1
    anchor_idx = next((k for k, p in enumerate(players) if anchor in (p.label, p.ident, p.path)), None)
    if anchor_idx is None:
        if anchor != "random":
            raise PlayerError(f"anchor {anchor!r} is not one of the players")
        anchor_idx = 0
    rt = ratings.fit([p.label for p in players], results, anchor=anchor_idx, anchor_elo=anchor_elo) if results else []
    return Standings(players, rt, cross, [tuple(map(tuple, s)) for s in seat], rows)
