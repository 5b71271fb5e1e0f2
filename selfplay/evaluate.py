"""Strength reports: exact play, and matches against reference bots with Elo estimates.

Exact play: the share of positions where the agent's move keeps the best outcome
(win/draw/loss under perfect play). Tic-tac-toe: all 4,520 reachable non-terminal
positions. Connect four: the shipped labelled set (``selfplay/data/c4_positions.npz``,
made by ``scripts/make_c4_positions.py``), reported by phase, over all positions and over
the non-trivial ones, where at least one legal move changes the outcome.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import games
from selfplay import arena, ratings

POSITIONS = Path(__file__).resolve().parent / "data" / "c4_positions.npz"


def load_c4_positions(path: Path = POSITIONS) -> dict:
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: labelled positions missing (make them with scripts/make_c4_positions.py)")
    d = np.load(path, allow_pickle=False)
    return {k: d[k] for k in d.files}


def _states_from_moves(game, move_rows: np.ndarray):
    """One batch state per row of ``move_rows`` (-1 padded), all in one batch."""
    lengths = (move_rows >= 0).sum(axis=1)
    s = game.init(len(move_rows))
    for t in range(int(lengths.max())):
        live = lengths > t
        # rows already complete get any legal move; their result is discarded below
        acts = np.where(live, move_rows[:, t], np.argmax(s.legal_action_mask, axis=1))
        stepped = game.step(s, acts)
        s = games.where(live, stepped, s)
    return s


def exact_connect_four(agent, rng: np.random.Generator, path: Path = POSITIONS) -> dict:
    data = load_c4_positions(path)
    game = games.make("connect_four")
    states = _states_from_moves(game, data["moves"].astype(np.int64))
    chosen = agent.act(states, rng)
    vals = data["values"].astype(np.int64)
    legal = vals > -9
    best = np.where(legal, vals, -99).max(axis=1)
    kept = vals[np.arange(len(vals)), chosen] == best
    worst = np.where(legal, vals, 99).min(axis=1)
    nontrivial = worst != best
    rand_keep = np.where(legal, vals == best[:, None], False).sum(1) / legal.sum(1)
    out = {
        "positions": int(len(vals)),
        "kept": float(kept.mean()),
        "nontrivial_positions": int(nontrivial.sum()),
        "kept_nontrivial": float(kept[nontrivial].mean()),
        "random_kept": float(rand_keep.mean()),
        "random_kept_nontrivial": float(rand_keep[nontrivial].mean()),
        "by_phase": {},
        "solver_budget": int(data["budget"]),
        "dropped_unsolved": data["dropped"].tolist(),
    }
    for ph in ("early", "middle", "late"):
        m = data["phase"] == ph
        out["by_phase"][ph] = {
            "positions": int(m.sum()),
            "kept": float(kept[m].mean()),
            "kept_nontrivial": float(kept[m & nontrivial].mean()) if (m & nontrivial).any() else None,
        }
    return out


#: games in one chunk of an eval match (one Ray task with workers)
CHUNK = 16


def play_chunk(args) -> tuple[int, arena.MatchResult]:
    """Chunk ``k`` of a match (in this process or as a Ray task): ``(k, its result)``."""
    k, *rest = args
    return k, arena.play_players(*rest)


def versus(
    agent,
    game_name: str,
    opponent_spec: str,
    games_per_seat: int,
    seed: int = 0,
    workers: int = 0,
    ray_address: str | None = None,
) -> dict:
    """W/D/L from each seat against an opponent from the player registry (``random``,
    ``mcts:N``, ``minimax``, a checkpoint, ...), with Elo relative to it.

    ``agent``: a :class:`~selfplay.players.Player` (built afresh for each chunk of
    ``CHUNK`` games, so the games are the same in this process and on ``workers`` Ray
    workers, local or at ``ray_address``), or an agent already built (this process only)."""
    from selfplay import players

    if workers > 0 and not isinstance(agent, players.Player):
        raise ValueError("versus on Ray workers needs a players.Player, which each worker builds for itself")
    opp = players.resolve([opponent_spec], game_name, at_least=1)[0]
    planned = arena.schedule(game_name, 2 * games_per_seat, seed)
    tasks = [
        (k, game_name, agent, opp, planned[i : i + CHUNK], arena.chunk_seed(seed, k))
        for k, i in enumerate(range(0, len(planned), CHUNK))
    ]
    if workers > 0:
        from selfplay.distributed import imap_unordered

        results = dict(imap_unordered(play_chunk, tasks, workers, ray_address))
    else:
        results = dict(map(play_chunk, tasks))
    res = arena.MatchResult.join([results[k] for k in range(len(tasks))])
    summary = res.summary()
    r = ratings.fit(["opponent", "agent"], [(1, 0, float(s)) for s in res.scores], anchor=0)[1]
    summary.update({"opponent": opponent_spec, "games": int(len(res.scores)), "elo": r.elo, "ci95": r.ci95})
    return summary


def exact_tic_tac_toe(agent, rng: np.random.Generator, num_games: int = 100) -> dict:
    """Share of the 4,520 positions where the greedy move keeps the best outcome, and a
    match against a perfect (minimax) player from both seats."""
    from selfplay.agents import MinimaxAgent
    from selfplay.minimax import best_actions_mask, solve

    stones, values = solve()
    game = games.make("tic_tac_toe")
    state = game.from_stones(stones)
    chosen = agent.act(state, rng)
    kept = best_actions_mask(values)[np.arange(len(stones)), chosen]
    match = arena.play(game, agent, MinimaxAgent(), arena.both_seats(2 * num_games), rng, opening_plies=0).summary()
    return {
        "positions": int(len(stones)),
        "best_outcome_kept": float(kept.mean()),
        "positions_missed": int((~kept).sum()),
        "vs_minimax": match,
        "losses_vs_minimax": match["seat0"]["loss"] + match["seat1"]["loss"],
    }


def training_report(learner, stop=None) -> dict:
    """What a training run logs at each evaluation: the greedy learner against random
    and against the frozen copy (both seats, the game's openings), and exact play where
    the game's profile has it (tic-tac-toe: all positions and minimax). ``stop()`` is
    asked before every batched move of the matches (:class:`selfplay.arena.Stopped`)."""
    from selfplay.agents import QAgent, RandomAgent
    from selfplay.profiles import profile

    cfg, game = learner.cfg, learner.game
    n = cfg.eval_games
    rng = np.random.default_rng(cfg.seed + 10_000 + learner.moves)
    me = QAgent(game, learner.online, name="learner")
    frozen = QAgent(game, learner.frozen, name="frozen")
    out = {"moves": learner.moves, "updates": learner.updates, "episodes": learner.episodes}
    out["vs_random"] = arena.play(game, me, RandomAgent(), arena.both_seats(2 * n), rng, stop=stop).summary()
    planned = arena.schedule(cfg.game, 2 * n, cfg.seed + learner.moves)
    out["vs_frozen"] = arena.play_planned(game, me, frozen, planned, rng, stop=stop).summary()
    prof = profile(cfg.game)
    if prof.exact_eval is not None and prof.exact_in_training:
        out["exact"] = prof.exact_eval(me, rng, n)
    return out
