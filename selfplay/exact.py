"""Exact play: the share of positions where an agent's move keeps the best outcome
(win/draw/loss under perfect play).

Tic-tac-toe: all 4,520 reachable non-terminal positions, and a match against minimax.
Connect four: the shipped labelled set (``selfplay/data/c4_positions.npz``, made by
``scripts/make_c4_positions.py``), reported by phase, over all positions and over the
non-trivial ones, where at least one legal move changes the outcome. The game profiles
(:mod:`selfplay.profiles`) name these reports; nothing here knows the profiles.

Every report has one shape, which the CLI and the training log print without asking
which game made it:

    positions, kept                     the positions, and the share where the move keeps the best outcome
    nontrivial_positions, kept_nontrivial   the same over positions where some legal move changes it
    random_kept, random_kept_nontrivial the same for a uniformly random move (the baseline)
    rows                                [{label, positions, kept, kept_nontrivial}]: by phase, or one row
    vs_perfect                          None, or {player, games, losses, match}: a match against perfect play
    note                                one line on where the labels come from
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


def states_from_moves(game, move_rows: np.ndarray):
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
    states = states_from_moves(game, data["moves"].astype(np.int64))
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
        "rows": [],
        "vs_perfect": None,
        "note": (
            f"labels: exact win/draw/loss by the solver with {int(data['budget']):,} nodes per move; positions "
            f"left unsolved were dropped: {data['dropped'].tolist()} early/middle/late"
        ),
    }
    for ph in ("early", "middle", "late"):
        m = data["phase"] == ph
        out["rows"].append(
            {
                "label": ph,
                "positions": int(m.sum()),
                "kept": float(kept[m].mean()),
                "kept_nontrivial": float(kept[m & nontrivial].mean()) if (m & nontrivial).any() else None,
            }
        )
    return out


def exact_tic_tac_toe(agent, rng: np.random.Generator, num_games: int = 100) -> dict:
    """The greedy move against all 4,520 positions, and a match against a perfect
    (minimax) player of ``num_games`` from each seat."""
    from selfplay.agents import MinimaxAgent
    from selfplay.minimax import best_actions_mask, solve

    stones, values = solve()
    game = games.make("tic_tac_toe")
    state = game.from_stones(stones)
    chosen = agent.act(state, rng)
    best = best_actions_mask(values) & state.legal_action_mask
    kept = best[np.arange(len(stones)), chosen]
    legal = state.legal_action_mask.sum(axis=1)
    nontrivial = best.sum(axis=1) < legal
    rand_keep = best.sum(axis=1) / legal
    match = arena.play(game, agent, MinimaxAgent(), arena.both_seats(2 * num_games), rng, opening_plies=0).summary()
    losses = match["seat0"]["loss"] + match["seat1"]["loss"]
    return {
        "positions": int(len(stones)),
        "kept": float(kept.mean()),
        "nontrivial_positions": int(nontrivial.sum()),
        "kept_nontrivial": float(kept[nontrivial].mean()),
        "random_kept": float(rand_keep.mean()),
        "random_kept_nontrivial": float(rand_keep[nontrivial].mean()),
        "rows": [
            {
                "label": "all",
                "positions": int(len(stones)),
                "kept": float(kept.mean()),
                "kept_nontrivial": float(kept[nontrivial].mean()),
            }
        ],
        "vs_perfect": {"player": "minimax", "games": 2 * num_games, "losses": int(losses), "match": match},
        "note": "every reachable position, solved by minimax",
    }
