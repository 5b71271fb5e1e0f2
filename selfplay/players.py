"""The player registry: the one place where player strings are parsed and agents built.

Players, as typed on the command line (tournament, match, eval opponents, compare):

    PATH.pt               a checkpoint (greedy)
    PATH.pt@search=N      a checkpoint searching N simulations a move
    PATH.pt@sym=0         a checkpoint without the mean over the board's symmetries (1: with
                          it; the default is the game's, ``GameProfile.symmetric``); with
                          search too: ``PATH.pt@search=200,sym=0``
    PATH.pt@search=N,solve=1  a searching checkpoint whose search proves wins and losses
                          (MCTS-Solver, ``mcts.SearchConfig.solve``)
    PATH.pt@endgame=N     a checkpoint that plays the last N empties exactly (Othello's
                          endgame solver, ``GameProfile.endgame``)
    FOLDER/               every checkpoint in the folder (same content counted once)
    random                uniform random legal moves
    mcts:N                OpenSpiel's C++ MCTS, random rollouts, N simulations
    gtp:COMMAND[; SETTING]...  an engine over the Go Text Protocol, refereed by our rules
                          (``gtp:gtp-rhino -l 3``, ``gtp:mohex --quiet; param_mohex max_games
                          1000``): :mod:`selfplay.gtp_player`
    minimax               perfect tic-tac-toe
    perfect               exact connect four by the solver: perfect wherever it settles the
                          position within its node budget (all but the first few moves)

Each kind is one :class:`PlayerKind` in :data:`KINDS`: how it parses a string, which
games it plays, and how it becomes an agent. Adding a kind of player is one new entry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

import games
from selfplay import arena
from selfplay.checkpoint import CheckpointError, load, read_net


class PlayerError(ValueError):
    """A player that cannot take part; one-line message."""


@dataclasses.dataclass(frozen=True)
class Player:
    #: short name shown in tables
    label: str
    #: stable identity: checkpoint content hash (+ search), or the builtin's spec
    ident: str
    #: the name of its kind in KINDS
    kind: str
    path: str | None = None
    search: int | None = None
    simulations: int | None = None
    #: the game a checkpoint was trained on (None for bots)
    game: str | None = None
    #: a checkpoint's Q averaged over the board's symmetries; None = the game's default
    symmetric: bool | None = None
    #: a searching checkpoint's search proves wins and losses (MCTS-Solver)
    solve: bool = False
    #: the last this many empties played exactly by the game's endgame solver (Othello)
    endgame: int | None = None
    #: a GTP engine's command line and the settings sent before each game
    command: str | None = None
    settings: tuple = ()


@dataclasses.dataclass(frozen=True)
class PlayerKind:
    name: str
    #: one line for help texts
    doc: str
    #: ``spec -> list[Player] | None``: the players this string names, or None if it is
    #: not of this kind (raise PlayerError for a string of this kind that is malformed)
    parse: Callable[[str], list | None]
    #: ``(player, game_name, seed) -> agent``
    build: Callable
    #: ``game_name -> str | None``: why this kind cannot play the game, or None
    refuses: Callable[[str], str | None] = lambda game_name: None
    #: ``(player, game_name) -> str | None``: why this one player cannot play the game
    unfit: Callable | None = None


def _hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


# ------------------------------------------------------------------ kinds
def _parse_fixed(name: str):
    return lambda spec: [Player(name, name, name)] if spec == name else None


def _build_random(player, game_name, seed):
    from selfplay.agents import RandomAgent

    return RandomAgent()


def _build_minimax(player, game_name, seed):
    from selfplay.agents import MinimaxAgent

    return MinimaxAgent()


def _build_perfect(player, game_name, seed):
    from selfplay.c4solver import PerfectAgent

    return PerfectAgent(budget=2_000_000)


def _perfect_in(kind: str):
    """A perfect player fits the games whose profile names it (``GameProfile.perfect_player``)."""

    def refuses(game_name: str) -> str | None:
        from selfplay.profiles import PROFILES, profile

        if profile(game_name).perfect_player == kind:
            return None
        fits = ", ".join(g for g, p in PROFILES.items() if p.perfect_player == kind)
        others = "; ".join(
            f"{p.perfect_player} for {g}" for g, p in PROFILES.items() if p.perfect_player not in (None, kind)
        )
        return f"plays only {fits}, not {game_name}" + (f" (use {others})" if others else "")

    return refuses


def _parse_mcts(spec: str):
    if not spec.startswith("mcts:"):
        return None
    try:
        n = int(spec.split(":", 1)[1])
        if not 1 <= n <= 10_000_000:
            raise ValueError
    except ValueError:
        raise PlayerError(f"{spec!r}: expected mcts:N with N a number of simulations from 1 to 10,000,000") from None
    return [Player(spec, spec, "mcts", simulations=n)]


def _mcts_refuses(game_name: str) -> str | None:
    from selfplay.agents import pyspiel_twin

    return (
        None
        if pyspiel_twin(games.make(game_name)) is not None
        else f"(OpenSpiel's MCTS bot) cannot play {game_name}: it has no OpenSpiel twin"
    )


def _build_mcts(player, game_name, seed):
    from selfplay.agents import OpenSpielMCTSAgent

    return OpenSpielMCTSAgent(games.make(game_name), player.simulations, seed=seed)


def _parse_gtp(spec: str):
    if not spec.startswith("gtp:"):
        return None
    from selfplay.gtp_player import EngineFailure, identify, parse_spec

    try:
        engine = parse_spec(spec[4:])
        label, ident = identify(engine)
    except (ValueError, EngineFailure) as e:
        raise PlayerError(f"{spec!r}: {e}") from None
    return [Player(label, ident, "gtp", command=engine.command, settings=engine.settings)]


def _gtp_refuses(game_name: str) -> str | None:
    from selfplay import gtp

    why = gtp.unfit(games.make(game_name))
    return None if why is None else f"(a GTP engine) cannot play {game_name}: {why}"


def _gtp_unfit(player: Player, game_name: str) -> str | None:
    from selfplay import gtp
    from selfplay.gtp_player import EngineFailure, EngineSpec, identify

    try:
        identify(EngineSpec(player.command, player.settings), board_size=gtp.board_size(games.make(game_name)))
    except EngineFailure as e:
        return f"cannot play {game_name}: {e}"
    return None


def _build_gtp(player, game_name, seed):
    from selfplay.gtp_player import EngineSpec, GtpAgent

    return GtpAgent(EngineSpec(player.command, tuple(player.settings)), games.make(game_name), label=player.label)


def checkpoint_player(
    path: Path,
    search: int | None = None,
    symmetric: bool | None = None,
    solve: bool = False,
    endgame: int | None = None,
) -> Player:
    try:
        d = load(path)
    except CheckpointError as e:
        raise PlayerError(str(e)) from None
    if endgame is not None:
        from selfplay.profiles import PROFILES, profile

        if profile(d["game"]).endgame is None:
            fits = ", ".join(g for g, p in PROFILES.items() if p.endgame is not None)
            raise PlayerError(f"{path}: endgame=N plays {fits} only (an exact endgame solver), not {d['game']}")
    if symmetric is not None:
        from selfplay.profiles import profile

        if symmetric == profile(d["game"]).symmetric:
            symmetric = None  # the game's default, named or not, is one player
    opts = ",".join(
        ([f"search={search}"] if search else [])
        + ([f"sym={int(symmetric)}"] if symmetric is not None else [])
        + (["solve=1"] if solve else [])
        + ([f"endgame={endgame}"] if endgame is not None else [])
    )
    at = f"@{opts}" if opts else ""
    name = f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem
    return Player(
        label=name + at,
        ident=_hash(path) + at,
        kind="checkpoint",
        path=str(path),
        search=search,
        game=d["game"],
        symmetric=symmetric,
        solve=solve,
        endgame=endgame,
    )


#: a checkpoint's options after "@": name -> (check of the text, its value)
_CHECKPOINT_OPTIONS = {
    "search": (lambda v: v.isdigit() and 1 <= int(v) <= 1_000_000, int),
    "sym": (lambda v: v in ("0", "1"), lambda v: v == "1"),
    "solve": (lambda v: v in ("0", "1"), lambda v: v == "1"),
    "endgame": (lambda v: v.isdigit() and int(v) <= 30, int),
}
_EXPECTED = (
    "PATH@search=N with N from 1 to 1,000,000, PATH@sym=0 or 1, or both (PATH@search=N,sym=0); "
    "solve=0 or 1 with search (PATH@search=N,solve=1); endgame=N, N empties up to 30 played exactly (Othello)"
)


def _checkpoint_options(spec: str, opts: str) -> dict:
    """``"search=200,sym=0"`` -> ``{"search": 200, "symmetric": False}``; PlayerError for
    anything else, naming what is expected."""
    found: dict = {}
    for opt in opts.split(","):
        key, _, val = opt.partition("=")
        if key not in _CHECKPOINT_OPTIONS or key in found or not _CHECKPOINT_OPTIONS[key][0](val):
            raise PlayerError(f"{spec!r}: expected {_EXPECTED}")
        found[key] = _CHECKPOINT_OPTIONS[key][1](val)
    if found.get("solve") and not found.get("search"):
        raise PlayerError(f"{spec!r}: solve=1 needs a search to prove in: expected {_EXPECTED}")
    return {
        "search": found.get("search"),
        "symmetric": found.get("sym"),
        "solve": found.get("solve", False),
        "endgame": found.get("endgame"),
    }


def _parse_checkpoint(spec: str):
    # a file or folder that exists is that, whatever its name holds (an "@" too)
    path_s, _, opts = spec.rpartition("@") if "@" in spec and not Path(spec).exists() else (spec, "", "")
    options = _checkpoint_options(spec, opts) if opts else {}
    path = Path(path_s)
    if path.is_dir():
        found = sorted(path.glob("*.pt"), key=lambda p: (len(p.stem), p.stem))
        if not found:
            raise PlayerError(f"{path}: no checkpoints (*.pt) in this folder")
        return [checkpoint_player(p, **options) for p in found]
    if path.exists():
        return [checkpoint_player(path, **options)]
    return None


def load_agent(
    path: str | os.PathLike,
    *,
    search: int | None = None,
    move_time: float | None = None,
    game: str | None = None,
    name: str | None = None,
    symmetric: bool | None = None,
    solve: bool = False,
):
    """A greedy (or searching) agent from a checkpoint file. ``symmetric``: its Q is the mean
    over the board's symmetries (``network.SymmetryMean``); None = the game's default
    (``GameProfile.symmetric``). ``solve``: its search proves wins and losses
    (``mcts.SearchConfig.solve``). TypeError or ValueError for arguments of the wrong kind or
    range, CheckpointError for a file that cannot be used."""
    from selfplay.agents import QAgent
    from selfplay.checks import real, whole

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_agent takes a checkpoint path, not {type(path).__name__}")
    search = None if search is None else whole(search, "search", 1, 1_000_000)
    move_time = None if move_time is None else real(move_time, "move_time", 0.001, 600)
    if game is not None and not isinstance(game, str):
        raise TypeError(f"game must be a game name, not {type(game).__name__}")
    if symmetric is not None and not isinstance(symmetric, bool):
        raise TypeError(f"symmetric must be True, False or None, not {type(symmetric).__name__}")
    if not isinstance(solve, bool):
        raise TypeError(f"solve must be True or False, not {type(solve).__name__}")
    d, g, net = read_net(path, game=game)  # builds and checks the network once
    if symmetric is None:
        from selfplay.profiles import profile

        symmetric = profile(d["game"]).symmetric
    if symmetric:
        from selfplay.network import symmetry_mean

        averaged = symmetry_mean(net, g)
        symmetric, net = averaged is not net, averaged  # a game without symmetries plays as it is
    info = {
        "path": str(path),
        "game": d["game"],
        "symmetric": symmetric,
        "counters": d.get("counters", {}),
        "last_eval": json.loads(d.get("last_eval", "{}") or "{}"),
    }
    return QAgent(g, net, name=name or Path(path).stem, search=search, move_time=move_time, info=info, solve=solve)


def _build_checkpoint(player, game_name, seed):
    agent = load_agent(
        player.path, search=player.search, game=game_name, symmetric=player.symmetric, solve=player.solve
    )
    if player.endgame:
        from selfplay.profiles import profile

        agent = profile(game_name).endgame(agent, empties=player.endgame)
    return agent


#: every kind of player, tried in this order (checkpoint paths last)
KINDS: dict[str, PlayerKind] = {
    k.name: k
    for k in (
        PlayerKind("random", "uniform random legal moves", _parse_fixed("random"), _build_random),
        PlayerKind("minimax", "perfect tic-tac-toe", _parse_fixed("minimax"), _build_minimax, _perfect_in("minimax")),
        PlayerKind(
            "perfect",
            "exact connect four by the solver",
            _parse_fixed("perfect"),
            _build_perfect,
            _perfect_in("perfect"),
        ),
        PlayerKind(
            "mcts", "mcts:N, OpenSpiel's C++ MCTS with random rollouts", _parse_mcts, _build_mcts, _mcts_refuses
        ),
        PlayerKind(
            "gtp",
            "gtp:COMMAND[; SETTING]..., an engine over the Go Text Protocol",
            _parse_gtp,
            _build_gtp,
            _gtp_refuses,
            _gtp_unfit,
        ),
        PlayerKind(
            "checkpoint",
            "PATH, FOLDER, PATH@search=N or PATH@sym=0: trained checkpoints",
            _parse_checkpoint,
            _build_checkpoint,
        ),
    )
}


def parse(spec: str) -> list[Player]:
    """The players one string names (a folder names several); PlayerError if none."""
    spec = spec.strip()
    for kind in KINDS.values():
        found = kind.parse(spec)
        if found is not None:
            return found
    names = ", ".join(k for k in KINDS if k != "checkpoint")
    names = names.replace("mcts", "mcts:N").replace("gtp", "gtp:COMMAND")
    raise PlayerError(f"{spec!r}: not a file, folder, or player ({names})")


def infer_game(specs: list[str]) -> str | None:
    """The game of the first checkpoint among ``specs`` (None if there is none)."""
    for spec in specs:
        try:
            found = parse(spec)
        except PlayerError:
            continue
        for p in found:
            if p.game is not None:
                return p.game
    return None


def resolve(specs: list[str], game_name: str, at_least: int = 2) -> list[Player]:
    """Command-line player strings into distinct players for ``game_name``; refuse bad
    ones before any game."""
    games.make(game_name)
    out: list[Player] = []
    for spec in specs:
        for p in parse(spec):
            if p.game is not None and p.game != game_name:
                raise PlayerError(f"{p.path}: is a checkpoint for {p.game}, not {game_name}")
            kind = KINDS[p.kind]
            why = kind.refuses(game_name) or (kind.unfit(p, game_name) if kind.unfit else None)
            if why:
                raise PlayerError(f"{p.label} {why}")
            out.append(p)
    seen, unique = set(), []
    for p in out:  # latest.pt is often the same bytes as a step file: play it once
        if p.ident not in seen:
            seen.add(p.ident)
            unique.append(p)
    if len(unique) < at_least:
        raise PlayerError(
            "a tournament needs at least two different players"
            if at_least == 2
            else f"need at least {at_least} different players"
        )
    return unique


def make_agent(player: Player, game_name: str, seed: int = 0):
    """The agent that plays as ``player``."""
    return KINDS[player.kind].build(player, game_name, seed)


def play_players(game_name: str, pa, pb, planned: list[arena.Planned], seed: int) -> arena.MatchResult:
    """Planned games between two players of the registry (:mod:`selfplay.players`), built
    here with ``seed`` and ``seed + 1`` (``pa`` may be an agent already built instead),
    the moves drawn from ``seed``: the one way a chunk of tournament or eval games is
    played, in this process or as a Ray task, so both give the same games."""
    import torch

    torch.set_num_threads(1)
    built = []
    try:
        agent_a = make_agent(pa, game_name, seed) if isinstance(pa, Player) else pa
        built.append(agent_a)
        agent_b = make_agent(pb, game_name, seed + 1) if isinstance(pb, Player) else pb
        built.append(agent_b)
        return arena.play_planned(games.make(game_name), agent_a, agent_b, planned, np.random.default_rng(seed))
    finally:  # engines over GTP are processes: stop the ones built here
        for agent, given in zip(built, (pa, pb)):
            if isinstance(given, Player) and hasattr(agent, "close"):
                agent.close()


def play_chunk(args) -> tuple[int, arena.MatchResult]:
    """Chunk ``k`` of planned games, ``(k, game_name, pa, pb, planned, seed)``, played by
    :func:`play_players` (in this process or as a Ray task): ``(k, its result)``. The one
    task of eval's matches and of tournament pairs."""
    k, *rest = args
    return k, play_players(*rest)
