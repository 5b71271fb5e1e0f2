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
    rand_keep = (np.where(legal, vals == best[:, None], False).sum(1) / legal.sum(1))
    out = {"positions": int(len(vals)), "kept": float(kept.mean()),
           "nontrivial_positions": int(nontrivial.sum()), "kept_nontrivial": float(kept[nontrivial].mean()),
           "random_kept": float(rand_keep.mean()), "random_kept_nontrivial": float(rand_keep[nontrivial].mean()),
           "by_phase": {}, "solver_budget": int(data["budget"]), "dropped_unsolved": data["dropped"].tolist()}
    for ph in ("early", "middle", "late"):
        m = data["phase"] == ph
        out["by_phase"][ph] = {"positions": int(m.sum()), "kept": float(kept[m].mean()),
                               "kept_nontrivial": float(kept[m & nontrivial].mean()) if (m & nontrivial).any() else None}
    return out


def versus(agent, game_name: str, opponent_spec: str, games_per_seat: int, seed: int = 0) -> dict:
    """W/D/L from each seat against ``random`` or ``mcts:N``, with Elo relative to it."""
    from selfplay import tournament as T

    game = games.make(game_name)
    opp = T.make_agent(T.Player(opponent_spec, opponent_spec, "random" if opponent_spec == "random" else "mcts",
                                simulations=None if opponent_spec == "random" else int(opponent_spec.split(":")[1])),
                       game_name, seed)
    plies = 1 if game_name == "tic_tac_toe" else 2
    opening_set = T.openings(game_name, games_per_seat, plies, seed)
    ops = [opening_set[k // 2 % len(opening_set)] for k in range(2 * games_per_seat)]
    res = arena.play(game, agent, opp, arena.both_seats(2 * games_per_seat), np.random.default_rng(seed), openings=ops)
    summary = res.summary()
    r = ratings.fit(["opponent", "agent"], [(1, 0, float(s)) for s in res.scores], anchor=0)[1]
    summary.update({"opponent": opponent_spec, "games": int(len(res.scores)), "elo": r.elo, "ci95": r.ci95})
    return summary
