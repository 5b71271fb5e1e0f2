"""Exact play: the share of positions where an agent's move keeps the best outcome
(win/draw/loss under perfect play).

Tic-tac-toe: all 4,520 reachable non-terminal positions, and a match against minimax.
Connect four: the shipped labelled set (``selfplay/data/c4_positions.npz``, made by
``scripts/make_c4_positions.py``), reported by phase, over all positions and over the
non-trivial ones, where at least one legal move changes the outcome. The game profiles
(:mod:`selfplay.profiles`) name these reports; nothing here knows the profiles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import games
from selfplay import arena

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
