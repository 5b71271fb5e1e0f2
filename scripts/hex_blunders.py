"""Why a Hex agent loses: play it against an opponent and name, for every lost game, the
first one-move error, read off the engine's winning-cell planes (the empty cells where a
stone would join its player's edges; tested in the conformance suite):

- *missed win*: the agent had a winning cell and played elsewhere;
- *lone threat not blocked*: the opponent had one winning cell, the agent had none, and
  did not take it (one stone there would have held, for that move);
- *double threat*: the opponent had two or more winning cells, so the game was lost
  before the agent moved (the error was earlier, and deeper than one move);
- *none*: no one-move error before the loss (a loss can also come from a longer threat).

    python scripts/hex_blunders.py checkpoints/hex_9x9.pt mcts:1000 --games 20

Openings of 2 random plies (seeded), seats alternating, as ``selfplay eval`` plays them.
"""

from __future__ import annotations

import argparse
import collections

import numpy as np

import games
from selfplay import arena, players


def classify(g, moves: list[int], agent_seat: int) -> str:
    """The first one-move error of the agent (seat ``agent_seat``) in a game it lost."""
    s = g.init(1)
    win_plane = g.derived_start + 4
    for ply, action in enumerate(moves):
        if ply >= 2 and ply % 2 == agent_seat:
            obs = g.observe(s)[0]
            own = np.flatnonzero(obs[win_plane])
            theirs = np.flatnonzero(obs[win_plane + 1])
            if len(own) and action not in own:
                return "missed win"
            if not len(own) and len(theirs) >= 2:
                return "double threat"
            if not len(own) and len(theirs) == 1 and action != theirs[0]:
                return "lone threat not blocked"
        s = g.step(s, np.array([action]))
    return "none"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("agent")
    ap.add_argument("opponent")
    ap.add_argument("--game", default="hex_9x9")
    ap.add_argument("--games", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    g = games.make(args.game, derived=True)
    rng = np.random.default_rng(args.seed)
    planned = [
        arena.Planned(opening=tuple(int(x) for x in rng.choice(g.num_actions, 2, replace=False)), a_first=i % 2 == 0)
        for i in range(args.games)
    ]
    pa, pb = players.parse(args.agent)[0], players.parse(args.opponent)[0]
    result = players.play_players(args.game, pa, pb, planned, args.seed)
    counts = collections.Counter(
        classify(g, m, 0 if p.a_first else 1) for m, p, sc in zip(result.moves, planned, result.scores) if sc < 1
    )
    lost = sum(counts.values())
    print(f"{args.agent} against {args.opponent}: lost {lost} of {args.games}")
    for kind in ("missed win", "lone threat not blocked", "double threat", "none"):
        print(f"  {kind}: {counts.get(kind, 0)}")


if __name__ == "__main__":
    main()
