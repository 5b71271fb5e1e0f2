"""Matches between agents, many games at once.

``play`` runs N games between two agents in one batch: agent ``a`` takes seat 0 (moves
first) in the games listed by ``a_seat == 0`` and seat 1 in the others. Results are
scores from ``a``'s point of view: 1 win, 0.5 draw, 0 loss.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import games
from games.core import State
from selfplay.errors import Stopped


@dataclasses.dataclass
class MatchResult:
    #: float[N]: a's score per game (1, 0.5, 0).
    scores: np.ndarray
    #: int8[N]: a's seat per game.
    a_seat: np.ndarray
    #: list of move lists, one per game (action ids).
    moves: list
    #: how each game ended: "" by the rules, else as the player that ended it said
    #: ("resign", "proven win for black", "forfeit: ..."; :mod:`selfplay.gtp_player`)
    endings: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        if not self.endings:
            self.endings = [""] * len(self.scores)

    def summary(self) -> dict:
        out = {}
        for seat in (0, 1):
            s = self.scores[self.a_seat == seat]
            out[f"seat{seat}"] = {
                "win": int((s == 1).sum()),
                "draw": int((s == 0.5).sum()),
                "loss": int((s == 0).sum()),
                "score": float(s.mean()) if len(s) else float("nan"),
            }
        out["score"] = float(self.scores.mean())
        return out

    @classmethod
    def join(cls, parts: list[MatchResult]) -> MatchResult:
        """The games of several results, in order."""
        return cls(
            scores=np.concatenate([p.scores for p in parts]),
            a_seat=np.concatenate([p.a_seat for p in parts]),
            moves=[m for p in parts for m in p.moves],
            endings=[e for p in parts for e in p.endings],
        )


def play(
    game,
    agent_a,
    agent_b,
    a_seat: np.ndarray,
    rng: np.random.Generator,
    *,
    opening_plies: int = 0,
    openings: list[list[int]] | None = None,
    stop=None,
) -> MatchResult:
    """Play ``len(a_seat)`` games; the first ``opening_plies`` moves of each are random
    (or the given ``openings``, move lists), the rest by the agents. ``stop()``, when
    given, is asked before every batched move; :class:`Stopped` when it says so.

    An agent with ``ends_games`` (an engine over GTP) may end a game itself
    (``act_or_end``: resigned, proven, forfeited); its score and reason are kept as given."""
    a_seat = np.asarray(a_seat, np.int8)
    n = len(a_seat)
    state = game.init(n)
    moves: list[list[int]] = [[] for _ in range(n)]
    returns = np.zeros((n, 2), np.float64)
    ended: dict[int, tuple[float, str]] = {}  # game -> (a's score, how it ended)
    ply = 0
    while True:
        done = state.terminated.copy()
        done[list(ended)] = True
        if done.all():
            break
        if stop is not None and stop():
            raise Stopped
        live = ~done
        if openings is not None and ply < max(len(o) for o in openings):
            actions = np.array([o[ply] if ply < len(o) else -1 for o in openings])
            forced = actions >= 0
            if (~forced & live).any():
                agent_actions = _agent_actions(state, live, agent_a, agent_b, a_seat, rng, moves, ended)
                actions = np.where(forced, actions, agent_actions)
        elif ply < opening_plies:
            actions = games.random_actions(state, rng)
        else:
            actions = _agent_actions(state, live, agent_a, agent_b, a_seat, rng, moves, ended)
        live &= ~np.isin(np.arange(n), list(ended))
        # a game ended by a player stays as it was: step it with any legal move, then ignore it
        idle = np.where(state.terminated, 0, state.legal_action_mask.argmax(axis=1))
        actions = np.where(live, actions, idle)
        state = game.step(state, actions)
        returns += np.where(live[:, None], state.rewards, 0.0)
        for i in np.flatnonzero(live):
            moves[i].append(int(actions[i]))
        ply += 1
    a_ret = returns[np.arange(n), a_seat]
    scores = np.where(a_ret > 0, 1.0, np.where(a_ret < 0, 0.0, 0.5))
    endings = [""] * n
    for i, (score, how) in ended.items():
        scores[i], endings[i] = score, how
    return MatchResult(scores=scores, a_seat=a_seat, moves=moves, endings=endings)


def _agent_actions(state: State, live, agent_a, agent_b, a_seat, rng, moves, ended) -> np.ndarray:
    """Each live game's move by the agent to move; games an agent ends go into ``ended``
    with a's score."""
    actions = np.zeros(state.batch_size, np.int64)
    a_moves = live & (state.current_player == a_seat)
    b_moves = live & ~a_moves
    for agent, sel, is_a in ((agent_a, a_moves, True), (agent_b, b_moves, False)):
        idx = np.flatnonzero(sel)
        if not len(idx):
            continue
        sub = games.take(state, idx)
        kwargs = {"histories": [moves[i] for i in idx]} if getattr(agent, "uses_history", False) else {}
        if getattr(agent, "ends_games", False):
            actions[idx], ends = agent.act_or_end(sub, rng, **kwargs)
            for j, (score, how) in ends.items():
                ended[int(idx[j])] = (score if is_a else 1.0 - score, how)
        else:
            actions[idx] = agent.act(sub, rng, **kwargs)
    return actions


def both_seats(num_games: int) -> np.ndarray:
    """Seats for a match: half the games with ``a`` first, half second."""
    return (np.arange(num_games) % 2).astype(np.int8)


# ------------------------------------------------------------------ the one match loop
@dataclasses.dataclass(frozen=True)
class Planned:
    """One game of a schedule: its opening (moves), whether ``a`` moves first, and the
    round (how many times the schedule has gone through its openings before it)."""

    opening: tuple
    a_first: bool
    round: int = 0


def play_planned(game, agent_a, agent_b, planned: list[Planned], rng: np.random.Generator, stop=None) -> MatchResult:
    """Play the planned games in one batch (``stop`` as in :func:`play`)."""
    seats = np.array([0 if p.a_first else 1 for p in planned], np.int8)
    return play(game, agent_a, agent_b, seats, rng, openings=[list(p.opening) for p in planned], stop=stop)


def chunk_seed(seed: int, k: int, key: str = "") -> int:
    """The seed of chunk ``k`` of a planned set of games (an eval match's, a tournament
    pair's), from the run's ``seed`` and the chunk's identity alone (``key`` names the
    pair), so the same chunk plays the same games however the work was split or resumed."""
    import hashlib

    offset = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) if key else 0
    return (seed + offset + 7919 * k) % 2**31


def match(
    game,
    agent_a,
    agent_b,
    planned: list[Planned],
    rng: np.random.Generator,
    batch: int = 16,
    stop=None,
    on_batch=None,
    endings: list | None = None,
) -> list[float]:
    """Play ``planned`` in batches; after each game ``stop(scores)`` may end the match
    (SPRT). ``on_batch(scores)`` reports progress. Returns a's scores in order; how each
    game ended (:attr:`MatchResult.endings`) is appended to ``endings`` where given."""
    scores: list[float] = []
    while len(scores) < len(planned):
        chunk = planned[len(scores) : len(scores) + batch]
        res = play_planned(game, agent_a, agent_b, chunk, rng)
        for s, how in zip(res.scores, res.endings):
            scores.append(float(s))
            if endings is not None:
                endings.append(how)
            if stop is not None and stop(scores):
                if on_batch:
                    on_batch(scores)
                return scores
        if on_batch:
            on_batch(scores)
    return scores
