"""Round-robin tournaments between checkpoints and reference bots, stored in SQLite.

Players (strings, as typed on the command line):
    PATH.pt               a checkpoint (greedy)
    PATH.pt@search=N      a checkpoint searching N simulations a move
    FOLDER/               every checkpoint in the folder (same content counted once)
    random                uniform random legal moves
    mcts:N                OpenSpiel's C++ MCTS, random rollouts, N simulations
    minimax               perfect play (tic-tac-toe only)
    perfect               exact connect four play by the solver: perfect wherever it settles
                          the position within its node budget (all but the first few moves)

Every pair plays ``games_per_pair`` games: each opening of a seeded set of short random
openings twice, seats swapped. A game is identified by (game, player A, player B,
opening moves, who moved first), with players identified by checkpoint content hash, so a
rerun plays only the games that are missing and never counts one twice; each finished
game is committed at once, so a killed tournament loses only the games in flight.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
from pathlib import Path

import numpy as np

import games
from selfplay import arena, ratings
from selfplay.checkpoint import CheckpointError, load, load_agent

BUILTINS = ("random", "minimax")


class PlayerError(ValueError):
    """A player that cannot take part; one-line message."""


@dataclasses.dataclass(frozen=True)
class Player:
    #: short name shown in tables
    label: str
    #: stable identity: checkpoint content hash (+ search), or the builtin's name
    ident: str
    #: "checkpoint", "random", "mcts" or "minimax"
    kind: str
    path: str | None = None
    search: int | None = None
    simulations: int | None = None


def _hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _checkpoint_player(path: Path, game_name: str, search: int | None, label: str | None = None) -> Player:
    try:
        d = load(path)
    except CheckpointError as e:
        raise PlayerError(str(e)) from None
    if d["game"] != game_name:
        raise PlayerError(f"{path}: is a checkpoint for {d['game']}, not {game_name}")
    ident = _hash(path) + (f"@search={search}" if search else "")
    name = label or (f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem)
    return Player(label=name + (f"@search={search}" if search else ""), ident=ident, kind="checkpoint",
                  path=str(path), search=search)


def resolve(specs: list[str], game_name: str) -> list[Player]:
    """Turn command-line player strings into players; refuse bad ones before any game."""
    game = games.make(game_name)
    out: list[Player] = []
    for spec in specs:
        spec = spec.strip()
        if spec == "random":
            out.append(Player("random", "random", "random"))
        elif spec == "minimax":
            if game_name != "tic_tac_toe":
                raise PlayerError(f"minimax plays only tic_tac_toe, not {game_name}")
            out.append(Player("minimax", "minimax", "minimax"))
        elif spec == "perfect":
            if game_name != "connect_four":
                raise PlayerError(f"perfect plays only connect_four (use minimax for tic_tac_toe), not {game_name}")
            out.append(Player("perfect", "perfect", "perfect"))
        elif spec.startswith("mcts:"):
            try:
                n = int(spec.split(":", 1)[1])
                if n < 1:
                    raise ValueError
            except ValueError:
                raise PlayerError(f"{spec!r}: expected mcts:N with N a positive number of simulations") from None
            if game_name not in ("tic_tac_toe", "connect_four") and not game_name.startswith("openspiel:"):
                raise PlayerError(f"OpenSpiel's MCTS bot cannot play {game_name}")
            out.append(Player(spec, spec, "mcts", simulations=n))
        else:
            path_s, _, opt = spec.partition("@")
            search = None
            if opt:
                key, _, val = opt.partition("=")
                if key != "search" or not val.isdigit() or int(val) < 1:
                    raise PlayerError(f"{spec!r}: expected PATH@search=N")
                search = int(val)
            path = Path(path_s)
            if path.is_dir():
                found = sorted(path.glob("*.pt"), key=lambda p: (len(p.stem), p.stem))
                if not found:
                    raise PlayerError(f"{path}: no checkpoints (*.pt) in this folder")
                out.extend(_checkpoint_player(p, game_name, search) for p in found)
            elif path.exists():
                out.append(_checkpoint_player(path, game_name, search))
            else:
                raise PlayerError(f"{spec!r}: not a file, folder, or player (random, minimax, perfect, mcts:N)")
    seen, unique = set(), []
    for p in out:  # latest.pt is often the same bytes as a step file: play it once
        if p.ident not in seen:
            seen.add(p.ident)
            unique.append(p)
    if len(unique) < 2:
        raise PlayerError("a tournament needs at least two different players")
    del game
    return unique


def make_agent(player: Player, game_name: str, seed: int = 0):
    from selfplay.agents import MinimaxAgent, OpenSpielMCTSAgent, RandomAgent

    if player.kind == "random":
        return RandomAgent()
    if player.kind == "minimax":
        return MinimaxAgent()
    if player.kind == "perfect":
        from selfplay.c4solver import PerfectAgent

        return PerfectAgent(budget=2_000_000)
    if player.kind == "mcts":
        return OpenSpielMCTSAgent(games.make(game_name), player.simulations, seed=seed)
    return load_agent(player.path, search=player.search, game=game_name)


def openings(game_name: str, count: int, plies: int, seed: int) -> list[list[int]]:
    """``count`` distinct seeded random openings of ``plies`` moves that do not end the
    game. For tic-tac-toe they are also balanced: perfect play from them is a draw."""
    game = games.make(game_name)
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
        if game_name == "tic_tac_toe":
            from selfplay.minimax import _value

            x, o = int(s.stones[0, 0]), int(s.stones[0, 1])
            mine, theirs = (x, o) if s.current_player[0] == 0 else (o, x)
            if _value(mine, theirs) != 0:
                continue
        seen.add(tuple(moves))
        found.append(moves)
    if not found:
        found = [[]]
    return found


@dataclasses.dataclass(frozen=True)
class Planned:
    a: int  # index into players
    b: int
    opening: tuple
    a_first: bool


def plan(num_players: int, games_per_pair: int, opening_set: list[list[int]]) -> list[Planned]:
    out = []
    for i in range(num_players):
        for j in range(i + 1, num_players):
            for k in range(games_per_pair):
                out.append(Planned(i, j, tuple(opening_set[(k // 2) % len(opening_set)]), k % 2 == 0))
    return out


class Store:
    """The SQLite file: one row per finished game."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.executescript("""
                CREATE TABLE IF NOT EXISTS players (ident TEXT PRIMARY KEY, label TEXT, spec TEXT);
                CREATE TABLE IF NOT EXISTS games (
                    game TEXT, a TEXT, b TEXT, opening TEXT, a_first INTEGER,
                    moves TEXT, score_a REAL, created REAL,
                    PRIMARY KEY (game, a, b, opening, a_first));
            """)
        except sqlite3.DatabaseError as e:
            raise PlayerError(f"{self.path}: not a tournament database ({e})") from None

    def add_players(self, players: list[Player]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO players VALUES (?, ?, ?)",
                                [(p.ident, p.label, json.dumps(dataclasses.asdict(p))) for p in players])

    def done_keys(self, game_name: str) -> set[tuple]:
        rows = self.db.execute("SELECT a, b, opening, a_first FROM games WHERE game = ?", (game_name,))
        return {(a, b, op, bool(f)) for a, b, op, f in rows}

    def add_games(self, game_name: str, rows: list[tuple]) -> None:
        """rows: (ident_a, ident_b, opening json, a_first, moves json, score_a)."""
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO games VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                [(game_name, a, b, op, int(f), mv, sc, time.time()) for a, b, op, f, mv, sc in rows])

    def results(self, game_name: str, idents: list[str]) -> list[tuple]:
        q = f"SELECT a, b, opening, a_first, moves, score_a FROM games WHERE game = ? AND a IN ({','.join('?' * len(idents))}) AND b IN ({','.join('?' * len(idents))})"
        return list(self.db.execute(q, (game_name, *idents, *idents)))


def _key(players, p: Planned) -> tuple:
    return (players[p.a].ident, players[p.b].ident, json.dumps(list(p.opening)), p.a_first)


def play_chunk(args) -> list[tuple]:
    """Play a list of planned games between one pair (runs in a worker process)."""
    game_name, pa, pb, chunk, seed = args
    import torch

    torch.set_num_threads(1)
    game = games.make(game_name)
    agent_a, agent_b = make_agent(pa, game_name, seed), make_agent(pb, game_name, seed + 1)
    a_seat = np.array([0 if p.a_first else 1 for p in chunk], np.int8)
    result = arena.play(game, agent_a, agent_b, a_seat, np.random.default_rng(seed),
                        openings=[list(p.opening) for p in chunk])
    return [(pa.ident, pb.ident, json.dumps(list(p.opening)), p.a_first, json.dumps(m), float(s))
            for p, m, s in zip(chunk, result.moves, result.scores)]


def run(game_name: str, players: list[Player], games_per_pair: int, store: Store, workers: int = 1,
        seed: int = 0, opening_plies: int | None = None, chunk_size: int = 8, on_progress=None) -> int:
    """Play every planned game not yet in the store; returns how many were played."""
    if opening_plies is None:
        opening_plies = 1 if game_name == "tic_tac_toe" else 2
    opening_set = openings(game_name, max(1, (games_per_pair + 1) // 2), opening_plies, seed)
    planned = plan(len(players), games_per_pair, opening_set)
    store.add_players(players)
    done = store.done_keys(game_name)
    missing = [p for p in planned if _key(players, p) not in done]
    if on_progress:
        on_progress(len(planned) - len(missing), len(planned))
    tasks, by_pair = [], {}
    for p in missing:
        by_pair.setdefault((p.a, p.b), []).append(p)
    for (a, b), items in by_pair.items():
        for k in range(0, len(items), chunk_size):
            tasks.append((game_name, players[a], players[b], items[k:k + chunk_size], seed + 7919 * len(tasks)))
    finished = len(planned) - len(missing)
    if workers > 1 and len(tasks) > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            for rows in pool.imap_unordered(play_chunk, tasks):
                store.add_games(game_name, rows)
                finished += len(rows)
                if on_progress:
                    on_progress(finished, len(planned))
    else:
        for t in tasks:
            rows = play_chunk(t)
            store.add_games(game_name, rows)
            finished += len(rows)
            if on_progress:
                on_progress(finished, len(planned))
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


def standings(game_name: str, players: list[Player], store: Store, anchor: str = "random",
              anchor_elo: float = 0.0) -> Standings:
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
