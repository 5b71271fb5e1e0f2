"""What selfplay knows about particular games, one small record per game.

A :class:`GameProfile` holds everything beyond the rules that the rest of the package
needs: how many random opening plies a fair match starts with, which openings count as
balanced, the exact evaluation of an agent, the exact move values behind ``hint``, the
player kind that plays the game perfectly, and the file-name slug. Every module looks the
profile up with :func:`profile`; none branches on a game's name. Adding a game with
exact knowledge is one new entry in :data:`PROFILES` (plus its tests); any other game gets
:data:`DEFAULT`.

Optional game features are declared on the game object (``symmetries``, ``from_stones``,
``pyspiel_game``/``pyspiel_name``, ``pettingzoo_name``, ``from_cells``,
``legal_moves_text``); whoever needs one asks the game (``getattr(game, name, None)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

import games
from selfplay import arena
from selfplay.config import SEARCH_FIELDS, SearchSettings, TrainConfig


@dataclasses.dataclass(frozen=True)
class GameProfile:
    #: random plies that open each match, eval and tournament game (each opening is
    #: played twice, seats swapped)
    opening_plies: int = 2
    #: ``state -> bool[B]``: which openings are fair (perfect play draws); None = all
    balanced: Callable | None = None
    #: ``(agent, rng, games_per_seat) -> dict``: exact-play report of an agent; None = none
    exact_eval: Callable | None = None
    #: ``() -> (state -> int[A])``: exact move values (+1/0/-1, other = unknown) for hints
    hints: Callable | None = None
    #: name of the player kind (in :mod:`selfplay.players`) that plays perfectly, or None
    perfect_player: str | None = None
    #: exact_eval is cheap enough to run at every evaluation during training
    exact_in_training: bool = False
    #: a run is done once an evaluation finds exact play (every position keeps its best
    #: outcome): it stops there, saved, rather than play out its --steps
    stop_at_exact: bool = False
    #: training defaults that differ from TrainConfig's (``net`` as NetConfig's fields)
    train: dict = dataclasses.field(default_factory=lambda: dict(ADAPTER_TRAIN))
    #: what MCTS mode (``--mcts``) sets for this game on top of ``MCTS_MODE``
    mcts: dict = dataclasses.field(default_factory=dict)
    #: named recipes (``selfplay train --preset NAME``): settings on top of the defaults;
    #: one with ``mcts=True`` starts from MCTS mode's
    presets: dict = dataclasses.field(default_factory=dict)
    #: how a trained agent plays by default: its Q is the mean over the board's symmetries
    #: (``network.SymmetryMean``; ``--no-symmetric`` or ``PATH@sym=0`` turns it off; a game
    #: that declares none plays as it is; docs/experiments.md, "The mean over the board's
    #: symmetries at play"). Training and its evaluations do without it (it costs one
    #: network call per symmetry)
    symmetric: bool = True
    #: ``(agent, empties=N) -> agent``: the agent playing the last N empties exactly (an
    #: endgame solver: Othello's), for ``PATH@endgame=N``; None = the game has none
    endgame: Callable | None = None
    #: ``(state, empties) -> (solved bool[B], values float32[B, A])``: each legal move's exact
    #: outcome (+1/0/-1 for the mover) in the positions with at most ``empties`` empty cells,
    #: training's endgame targets (``--endgame-targets``); None = the game has none
    endgame_values: Callable | None = None
    #: the fixed opponents every evaluation during training plays (player specs, weakest
    #: first): a ``gtp:`` rung only where its program is installed. The learner's Elo is
    #: fitted over all evaluations so far (Bradley-Terry), relative to ``ladder_anchor``
    ladder: tuple = ("random", "mcts:100", "mcts:1000")
    #: the rung whose Elo is 0 on the curve (one of ``ladder``)
    ladder_anchor: str = "mcts:1000"


#: any game without its own training defaults (the adapters'): sized for one CPU core (a
#: residual CNN updates ~20x slower there than an MLP)
ADAPTER_TRAIN = dict(
    steps=500_000,
    num_envs=32,
    batch_size=256,
    lr=5e-4,
    target_update=500,
    updates_per_step=1,
    eps_steps=150_000,
    eps_end=0.05,
    replay_capacity=500_000,
    learning_starts=5_000,
    eval_every=50_000,
    checkpoint_every=100_000,
    net=dict(kind="mlp", hidden=512, layers=2),
)

#: the native board games' defaults outside tic-tac-toe: about 30 minutes on one CPU
#: thread in plain mode (an MLP: a residual CNN updates 20x slower there)
BOARD_TRAIN = dict(
    steps=2_000_000,
    num_envs=32,
    batch_size=256,
    lr=5e-4,
    target_update=500,
    updates_per_step=1,
    eps_steps=500_000,
    eps_end=0.05,
    replay_capacity=1_000_000,
    learning_starts=10_000,
    eval_every=100_000,
    checkpoint_every=250_000,
    net=dict(kind="mlp", hidden=512, layers=3),
)
#: MCTS mode on those boards, chosen on connect four (docs/experiments.md): a 256-wide
#: MLP, search targets alone (no TD term), 100 gradient steps per iteration of 256 games,
#: half the game's outcome in the target of the move taken
BOARD_MCTS = dict(
    steps=6_000_000,
    eval_every=500_000,
    checkpoint_every=1_000_000,
    simulations=16,
    iteration_updates=100,
    td_weight=0.0,
    outcome_mix=0.5,
    net=dict(kind="mlp", hidden=256, layers=3),
)

#: the long run of ``--preset strong`` (Othello, Hex; connect four's saves less often): MCTS
#: mode's defaults, bounded by --minutes rather than moves, evaluated and saved every 2M moves
BOARD_STRONG = dict(mcts=True, steps=150_000_000, eval_every=2_000_000, checkpoint_every=2_000_000)

#: connect four's recipe (its shipped agent) but for the network: both seats searching 32
#: simulations with the online network, bfloat16 arithmetic, the frozen copy caught up every
#: 100 steps, Adam's rate lowered to 1.5e-4 at minute 100 of the run's clock
RECIPE = dict(
    simulations=32,
    opponent_search=True,
    target_update=100,
    precision="bf16",
    lr_final=1.5e-4,
    lr_final_at=100,
)
#: its network on connect four and Othello: the board MLP, 768 wide
RECIPE_768 = {**RECIPE, "net": {**BOARD_MCTS["net"], "hidden": 768}}

#: Hex's network in its strong preset: a convolution sees a bridge or an edge template as one
#: local pattern wherever it lies (+970 Elo over the 768-wide MLP at two hours, on half the moves)
HEX_RESNET = dict(kind="resnet", channels=32, blocks=3, hidden=256)


def _ttt_balanced(state) -> np.ndarray:
    from selfplay.minimax import position_values

    return position_values(state) == 0


def _ttt_exact(agent, rng, games_per_seat):
    from selfplay.exact import exact_tic_tac_toe

    return exact_tic_tac_toe(agent, rng, num_games=games_per_seat)


def _ttt_hints():
    from selfplay.minimax import move_values

    return lambda state: move_values(state)[0]


def _othello_hints():
    from selfplay.othello_solver import move_values

    # a bounded budget: settled in the last ~16 empties, "not settled yet" before
    return lambda state: move_values(state, budget=3_000_000)


def _othello_endgame_values(state, empties: int):
    from selfplay.othello_solver import exact_targets

    return exact_targets(state, empties)


def _othello_endgame(agent, *, empties: int):
    from selfplay.othello_solver import EndgameAgent

    return EndgameAgent(agent, empties=empties)


def _c4_exact(agent, rng, games_per_seat):
    from selfplay.exact import exact_connect_four

    return exact_connect_four(agent, rng)


def _c4_hints():
    from selfplay.c4solver import Solver, from_state

    solver = Solver(table_bits=22)
    # a bounded budget: at most ~250k nodes a move (well under a second for all seven);
    # early positions stay unsettled and the hint says so once
    return lambda state: solver.move_values(*from_state(state), budget=250_000)


def hex_sizes():
    """The native Hex engines' board sizes (the one list is the engine's)."""
    from games.hex import SIZES

    return SIZES


#: the profiles of games with exact knowledge; every other game uses DEFAULT
PROFILES: dict[str, GameProfile] = {
    "tic_tac_toe": GameProfile(
        opening_plies=1,
        balanced=_ttt_balanced,
        exact_eval=_ttt_exact,
        hints=_ttt_hints,
        perfect_player="minimax",
        exact_in_training=True,
        stop_at_exact=True,
        ladder=("random", "mcts:10", "mcts:100"),
        ladder_anchor="mcts:100",
        # reaches exact play (all 4,520 positions) at ~40k moves; 100k leaves a margin
        train=dict(
            steps=100_000,
            num_envs=32,
            batch_size=256,
            lr=1e-3,
            target_update=250,
            updates_per_step=4,
            eps_steps=40_000,
            eps_end=0.2,
            replay_capacity=1_000_000,
            learning_starts=1_000,
            eval_every=20_000,
            checkpoint_every=50_000,
            net=dict(kind="mlp", hidden=256, layers=2),
        ),
        # the opponent explores as in plain mode: exact play in all 4,520 positions needs it
        mcts=dict(
            steps=100_000,
            num_envs=64,
            simulations=16,
            iteration_episodes=64,
            iteration_updates=100,
            eval_every=10_000,
            eps_start=1.0,
            eps_end=0.2,
            eps_steps=40_000,
        ),
    ),
    "connect_four": GameProfile(
        opening_plies=2,
        exact_eval=_c4_exact,
        hints=_c4_hints,
        perfect_player="perfect",
        # the cells that would complete four (derived planes)
        train={**BOARD_TRAIN, "derived": 1},
        # mixed search targets: half visit shares, half uniform over completed Q
        mcts={**BOARD_MCTS, "search_target": "mixed"},
        # the recipe of the shipped agent: its card gives the command, and
        # docs/experiments.md the comparisons behind each setting
        presets={"strong": {**BOARD_STRONG, **RECIPE_768, "eval_every": 10_000_000, "checkpoint_every": 5_000_000}},
    ),
    # Othello and Hex take connect four's board defaults (an MLP; docs/experiments.md)
    "othello": GameProfile(
        opening_plies=2,
        train=BOARD_TRAIN,
        mcts=BOARD_MCTS,
        # connect four's recipe, measured on Othello against the agent before (its card;
        # docs/experiments.md, "Othello against GRhino")
        presets={"strong": {**BOARD_STRONG, **RECIPE_768, "search_target": "mixed", "derived": 1}},
        endgame=_othello_endgame,
        endgame_values=_othello_endgame_values,
        hints=_othello_hints,
        ladder=("random", "mcts:100", "mcts:1000", "gtp:gtp-rhino -l 1"),
    ),
    # Hex: the derived planes up to level 2 (the stones each group joins to an edge, the
    # winning cells, each side's shortest connection), visit-count search targets, and the
    # canonical frame (O's positions played transposed, as X's); docs/experiments.md
    **{
        f"hex_{n}x{n}": GameProfile(
            opening_plies=2,
            train={**BOARD_TRAIN, "derived": 2, "net": {**BOARD_TRAIN["net"], "canonical": True}},
            mcts={**BOARD_MCTS, "search_target": "visits", "net": {**BOARD_MCTS["net"], "canonical": True}},
            # connect four's recipe with a 32-channel, 3-block ResNet in place of the MLP: the
            # shipped agent (its card; docs/experiments.md, "a convolutional network")
            presets={"strong": {**BOARD_STRONG, **RECIPE, "net": HEX_RESNET, "checkpoint_every": 1_000_000}},
            ladder=("random", "mcts:100", "mcts:1000", "gtp:wolve --quiet; param_wolve max_depth 1"),
        )
        for n in hex_sizes()
    },
}
DEFAULT = GameProfile()


def profile(game_name: str) -> GameProfile:
    return PROFILES.get(games.canonical_name(game_name), DEFAULT)


def _draw_openings(game, prof, plies: int, count: int, rng, found: list, seen: set) -> None:
    """Add to ``found`` (and ``seen``) new random openings of ``plies`` plies, in play and
    balanced, until it holds ``count`` or the depth is spent: enough draws in a row that
    gave nothing new."""
    misses = 0
    for _ in range(200 * count):
        if len(found) == count or misses >= max(1000, 20 * len(found)):
            return
        s, moves = game.init(1), []
        for _ in range(plies):
            a = int(games.random_actions(s, rng)[0])
            s = game.step(s, np.array([a]))
            moves.append(a)
        if s.terminated[0] or tuple(moves) in seen or (prof.balanced is not None and plies and not prof.balanced(s)[0]):
            misses += 1
            continue
        misses = 0
        seen.add(tuple(moves))
        found.append(moves)


def openings(game_name: str, count: int, seed: int, plies: int | None = None) -> list[list[int]]:
    """Up to ``count`` distinct seeded random openings that do not end the game and that
    the profile counts as balanced: of ``plies`` plies where given; else of the profile's
    plies and, once those run out, one ply deeper, and so on, so that a long match of
    players who always make the same move in a position plays ``count`` different games
    (connect four has only 49 openings of 2 plies). ValueError when there is none."""
    game = games.make(game_name)
    prof = profile(game_name)
    deepen = plies is None
    plies = prof.opening_plies if plies is None else plies
    rng = np.random.default_rng(seed)
    found: list[list[int]] = []
    seen: set[tuple] = set()
    while True:
        _draw_openings(game, prof, plies, count, rng, found, seen)
        if not deepen or len(found) == count or not found or plies >= prof.opening_plies + 8:
            break
        plies += 1
    if plies and not found:
        raise ValueError(
            f"no opening of {plies} random plies leaves a {game_name} game in play and balanced: "
            f"use fewer opening plies (the game's own: {prof.opening_plies})"
        )
    return found or [[]]


def schedule(game_name: str, num_games: int, seed: int = 0, plies: int | None = None) -> list[arena.Planned]:
    """The games of a match, a tournament pairing or an eval: game k plays opening k // 2
    of the game profile's seeded set (:func:`openings`: deeper ones once the profile's
    plies run out), ``a`` first when k is even, so each opening is played from both
    seats. Where there are still fewer distinct openings than asked for (given ``plies``,
    or a game that ends first) the schedule goes round again (a stochastic player then
    plays distinct games), so exactly ``num_games`` are planned."""
    ops = openings(game_name, max(1, (num_games + 1) // 2), seed, plies)
    return [arena.Planned(tuple(ops[(k // 2) % len(ops)]), k % 2 == 0, (k // 2) // len(ops)) for k in range(num_games)]


# ------------------------------------------------------------------ a run's config from these
#: what MCTS mode (``--mcts``) changes on top of a game's defaults, before the game's own
#: MCTS-mode settings (its profile's ``mcts``): many games in parallel so each wave of the
#: search fills a batch, a cheap search whose first visits cover every root action (so
#: every action gets a target), a frozen opponent that does not search (docs/algorithm.md)
MCTS_MODE = dict(
    num_envs=256,
    simulations=16,
    root_all=True,
    search_target="completed",
    opponent_search=False,
    eps_start=0.3,
    eps_end=0.05,
    eps_steps=100_000,  # the frozen opponent's exploration
    iteration_episodes=256,
    iteration_updates=200,
    temperature_moves=8,
    td_weight=0.5,
)


def presets(game: str) -> dict[str, dict]:
    """The presets of ``game`` by name (empty where it has none): its profile's."""
    return profile(game).presets


def default_config(game: str, preset: str | None = None, **overrides) -> TrainConfig:
    """The config for ``game``: TrainConfig's defaults, the game's own (and, with
    ``mcts=True``, MCTS mode's own), the ``preset``'s, then overrides. Search settings
    may be given flat (``simulations=16``); they go into ``search``. ``net`` as a dict
    changes only the network settings it names."""
    if preset is not None:
        known = presets(game)
        if preset not in known:
            names = ", ".join(known) or "none"
            raise ValueError(f"preset {preset!r} is not one of {games.canonical_name(game)}'s presets ({names})")
        overrides = _layered(known[preset], overrides)
    flat = _default_flat(game, **overrides)
    search = {k: flat.pop(k) for k in list(flat) if k in SEARCH_FIELDS}
    if search.get("endgame_targets"):
        if profile(flat["game"]).endgame_values is None:
            fits = ", ".join(g for g, p in PROFILES.items() if p.endgame_values is not None)
            raise ValueError(
                f"endgame_targets must name a game with an exact endgame solver ({fits}), not {flat['game']}"
            )
        if not flat.get("mcts"):
            raise ValueError("endgame_targets must go with mcts (MCTS mode): it replaces search targets")
    return TrainConfig(search=SearchSettings(**search), **flat)


def _default_flat(game: str, **overrides) -> dict:
    game = games.canonical_name(game)
    prof = profile(game)
    base = dict(prof.train)
    if overrides.get("mcts"):
        base.update(MCTS_MODE)
        base.update(prof.mcts)
    return dict(game=game, **_layered(base, overrides))


def _layered(base: dict, given: dict) -> dict:
    """``base`` with the settings ``given`` over it (``None`` leaves one as it is); a
    ``net`` dict changes only the network settings it names."""
    given = {k: v for k, v in given.items() if v is not None}
    if isinstance(given.get("net"), dict):
        given["net"] = {**base.get("net", {}), **given["net"]}
    return {**base, **given}
