"""Strength reports: matches against reference players with Elo estimates, and the
report a training run logs at each evaluation (exact play, where a game's profile has
it, is :mod:`selfplay.exact`'s)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from selfplay import arena, players, profiles, ratings

#: games in one chunk of an eval match (one Ray task with workers)
CHUNK = 16


def versus(
    agent,
    game_name: str,
    opponent_spec: str,
    *,
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


def report(
    agent,
    player,
    opponents: list[str],
    *,
    games_per_seat: int,
    seed: int = 0,
    workers: int = 0,
    ray_address: str | None = None,
    opening_plies: int | None = None,
    store=None,
    on_match=None,
) -> dict:
    """What ``selfplay eval`` reports of an agent: exact play where its game's profile has
    it (``exact``, or why it was skipped in ``exact_missing``), then a match against each
    of ``opponents`` (``matches``, each as :func:`versus` returns it), all on one Ray session
    with ``workers``. ``agent`` is the agent built here (exact play), ``player`` what the
    matches build on each worker (a :class:`~selfplay.players.Player`, or ``agent`` itself
    for this process only). ``on_match(opponent)`` before each match returns its
    ``on_progress(done, total)``, or None."""
    from selfplay.raytasks import session

    out: dict = {}
    game_name = agent.game.name
    exact_eval = profiles.profile(game_name).exact_eval
    if exact_eval is not None:
        try:
            out["exact"] = exact_eval(agent, np.random.default_rng(seed), games_per_seat)
        except FileNotFoundError as e:  # a labelled-positions file that is not there
            out["exact_missing"] = str(e)
    out["matches"] = []
    with session(workers, ray_address):  # one Ray start-up for every opponent
        for o in opponents:
            out["matches"].append(
                versus(
                    player,
                    game_name,
                    o,
                    games_per_seat=games_per_seat,
                    seed=seed,
                    workers=workers,
                    ray_address=ray_address,
                    opening_plies=opening_plies,
                    store=store,
                    on_progress=on_match(o) if on_match else None,
                )
            )
    return out


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


def training_report(learner, stop=None, ladder: Ladder | None = None) -> dict:
    """What a training run logs at each evaluation: the greedy learner against random
    and against the frozen copy (both seats, the game's openings), exact play where the
    game's profile has it (tic-tac-toe: all positions and minimax), and the games against
    each rung of ``ladder`` (its W/D/L; :func:`ladder_fit` turns them into Elo). ``stop()``
    is asked before every batched move of the matches (:class:`selfplay.arena.Stopped`)."""
    import time

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
    if ladder is not None and ladder.rungs:
        t0 = time.perf_counter()
        # the same openings at every evaluation: the rungs see the learner change, not the openings
        planned = profiles.schedule(cfg.game, 2 * cfg.ladder_games, cfg.seed)
        played = {}
        for k, rung in enumerate(ladder.rungs):
            agent = players.make_agent(rung, cfg.game, cfg.seed + 1 + k)
            try:
                res = arena.play_planned(game, me, agent, planned, np.random.default_rng(cfg.seed + k), stop=stop)
            finally:  # an engine over GTP is a process
                if hasattr(agent, "close"):
                    agent.close()
            sc = res.scores
            played[ladder.specs[k]] = {
                "label": rung.label,
                "wins": int((sc == 1).sum()),
                "draws": int((sc == 0.5).sum()),
                "losses": int((sc == 0).sum()),
            }
        out["ladder"] = {"anchor": ladder.anchor, "rungs": played, "seconds": round(time.perf_counter() - t0, 1)}
    return out


@dataclasses.dataclass(frozen=True)
class Ladder:
    """The fixed opponents a run's evaluations play (:func:`ladder`)."""

    #: the spec each rung was named by (its key in the metrics), and the player it names
    specs: tuple
    rungs: tuple
    #: the spec of the rung at 0 Elo
    anchor: str
    #: the profile's rungs left out, each with why (an engine that is not installed)
    left_out: tuple = ()


def ladder(cfg) -> Ladder:
    """The evaluation ladder of a run: its game's profile's rungs (an engine rung only where
    its program is installed), then ``cfg.eval_opponents``; none with ``ladder_games`` 0.
    A rung the user named that cannot play raises :class:`selfplay.players.PlayerError`."""
    from selfplay.gtp_player import find_program, parse_spec

    prof = profiles.profile(cfg.game)
    if cfg.ladder_games == 0:
        return Ladder((), (), prof.ladder_anchor)
    specs, left_out = [], []
    for spec in prof.ladder:
        if spec.startswith("gtp:") and find_program(parse_spec(spec[4:]).command.split()[0]) is None:
            left_out.append(f"{spec} (not installed)")
            continue
        try:
            players.resolve([spec], cfg.game, at_least=1)
        except players.PlayerError as e:
            left_out.append(f"{spec} ({e})")
            continue
        specs.append(spec)
    specs += [o.strip() for o in cfg.eval_opponents.split(",") if o.strip() and o.strip() not in specs]
    rungs = tuple(players.resolve([spec], cfg.game, at_least=1)[0] for spec in specs)
    anchor = prof.ladder_anchor if prof.ladder_anchor in specs else (specs[0] if specs else prof.ladder_anchor)
    return Ladder(tuple(specs), rungs, anchor, tuple(left_out))


def ladder_fit(rows: list[dict]) -> list[dict]:
    """Bradley-Terry Elo of the learner at each evaluation in ``rows`` (the metrics' eval
    rows, oldest first, each with its ``ladder`` games), fitted over all of them at once:
    each evaluation's learner is a player, each rung another, so rungs the learner met at
    different times are tied together. Anchored at 0 on the newest row's anchor rung.
    Returns ``{"moves", "time", "elo", "ci95"}`` per row that has ladder games, and the
    rungs' own ratings under ``"rungs"`` of the last."""
    with_games = [r for r in rows if r.get("ladder", {}).get("rungs")]
    if not with_games:
        return []
    anchor = with_games[-1]["ladder"]["anchor"]
    rung_names = sorted({spec for r in with_games for spec in r["ladder"]["rungs"]} | {anchor})
    names = rung_names + [f"learner@{r['moves']}" for r in with_games]
    results = []
    for k, r in enumerate(with_games):
        me = len(rung_names) + k
        for spec, g in r["ladder"]["rungs"].items():
            j = rung_names.index(spec)
            results += [(me, j, 1.0)] * g["wins"] + [(me, j, 0.5)] * g["draws"] + [(me, j, 0.0)] * g["losses"]
    fitted = ratings.fit(names, results, anchor=rung_names.index(anchor))
    out = [
        {
            "moves": r["moves"],
            "time": r.get("time"),
            "elo": fitted[len(rung_names) + k].elo,
            "ci95": fitted[len(rung_names) + k].ci95,
        }
        for k, r in enumerate(with_games)
    ]
    out[-1]["rungs"] = {name: round(fitted[i].elo, 1) for i, name in enumerate(rung_names)}
    out[-1]["anchor"] = anchor
    return out
