"""Strength reports: matches against reference players with Elo estimates, and the
report a training run logs at each evaluation (exact play, where a game's profile has
it, is :mod:`selfplay.exact`'s)."""

from __future__ import annotations

import json

import numpy as np

from selfplay import arena, players, profiles, ratings

#: games in one chunk of an eval match (one Ray task with workers)
CHUNK = 16


def versus(
    agent,
    game_name: str,
    opponent_spec: str,
    games_per_seat: int,
    seed: int = 0,
    workers: int = 0,
    ray_address: str | None = None,
    opening_plies: int | None = None,
    store=None,
    on_progress=None,
) -> dict:
    """W/D/L from each seat against an opponent from the player registry (``random``,
    ``mcts:N``, ``minimax``, a checkpoint, ...), with Elo relative to it.

    ``agent``: a :class:`~selfplay.players.Player` (built afresh for each chunk of
    ``CHUNK`` games, so the games are the same in this process and on ``workers`` Ray
    workers, local or at ``ray_address``), or an agent already built (this process only)."""
    if workers > 0 and not isinstance(agent, players.Player):
        raise ValueError("versus on Ray workers needs a players.Player, which each worker builds for itself")
    opp = players.resolve([opponent_spec], game_name, at_least=1)[0]
    if store is not None and isinstance(agent, players.Player):
        res = _stored_match(
            agent, opp, game_name, games_per_seat, seed, workers, ray_address, opening_plies, store, on_progress
        )
    else:
        res = _match(agent, opp, game_name, games_per_seat, seed, workers, ray_address, opening_plies, on_progress)
    summary = res.summary()
    r = ratings.fit(["opponent", "agent"], [(1, 0, float(s)) for s in res.scores], anchor=0)[1]
    summary.update({"opponent": opponent_spec, "games": int(len(res.scores)), "elo": r.elo, "ci95": r.ci95})
    # games a player ended besides the rules (an engine's resignation or forfeit): how, and the agent's points
    summary["endings"] = {
        how: {
            "games": sum(e == how for e in res.endings),
            "points": float(res.scores[[e == how for e in res.endings]].sum()),
        }
        for how in sorted(set(res.endings) - {""})
    }
    return summary


def _match(agent, opp, game_name, games_per_seat, seed, workers, ray_address, opening_plies, on_progress):
    """The match played here or on Ray workers, in chunks of CHUNK games; nothing kept."""
    planned = profiles.schedule(game_name, 2 * games_per_seat, seed, opening_plies)
    tasks = [
        (k, game_name, agent, opp, planned[i : i + CHUNK], arena.chunk_seed(seed, k))
        for k, i in enumerate(range(0, len(planned), CHUNK))
    ]
    if workers > 0:
        from selfplay.raytasks import imap_unordered

        stream = imap_unordered(players.play_chunk, tasks, workers, ray_address)
    else:
        stream = map(players.play_chunk, tasks)
    results, done = {}, 0
    for k, result in stream:
        results[k] = result
        done += len(result.scores)
        if on_progress:
            on_progress(done, len(planned))
    return arena.MatchResult.join([results[k] for k in range(len(tasks))])


def _stored_match(agent, opp, game_name, games_per_seat, seed, workers, ray_address, opening_plies, store, on_progress):
    """The match as a tournament pair in ``store``: each finished chunk is kept at once, so a
    rerun plays only the games not stored (Ctrl-C loses the games in flight); the result
    holds exactly the planned games, from the agent's side."""
    from selfplay import tournament

    pair = [agent, opp]
    tournament.run(
        game_name,
        pair,
        2 * games_per_seat,
        store,
        workers=workers,
        seed=seed,
        opening_plies=opening_plies,
        chunk_size=CHUNK,
        on_progress=on_progress,
        ray_address=ray_address,
    )
    planned = profiles.schedule(game_name, 2 * games_per_seat, seed, opening_plies)
    a_is_agent = agent.ident < opp.ident  # the store orders each pair by identity
    a, b = (agent, opp) if a_is_agent else (opp, agent)
    wanted = {(json.dumps(list(p.opening)), p.a_first == a_is_agent, p.round) for p in planned}
    rows = [r for r in store.stored_rounds(game_name, a.ident, b.ident) if (r[0], bool(r[1]), r[2]) in wanted]
    scores = np.array([r[4] if a_is_agent else 1.0 - r[4] for r in rows])
    seats = np.array([0 if bool(r[1]) == a_is_agent else 1 for r in rows], np.int8)
    return arena.MatchResult(
        scores=scores, a_seat=seats, moves=[json.loads(r[3]) for r in rows], endings=[r[5] for r in rows]
    )


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
    planned = profiles.schedule(cfg.game, 2 * n, cfg.seed + learner.moves)
    out["vs_frozen"] = arena.play_planned(game, me, frozen, planned, rng, stop=stop).summary()
    prof = profile(cfg.game)
    if prof.exact_eval is not None and prof.exact_in_training:
        out["exact"] = prof.exact_eval(me, rng, n)
    return out
