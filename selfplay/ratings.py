"""Ratings from game results: Bradley-Terry maximum likelihood in Elo units, and SPRT.

Model: player i scores against j with expectation ``1 / (1 + 10 ** ((R_j - R_i) / 400))``;
a draw counts as half a win. The ratings maximise the likelihood of all scores plus one
virtual draw for every pair that met (a weak prior, as in BayesElo, that keeps a player
with a perfect score finite). The anchor player's rating is fixed; 95% intervals come
from the inverse of the observed information (the negative Hessian) with the anchor
held fixed: +-1.96 standard errors.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

ELO = 400.0 / math.log(10.0)  # natural-log strength -> Elo


@dataclasses.dataclass
class Rating:
    name: str
    elo: float
    ci95: float  # half-width of the 95% interval
    games: int
    score: float  # points per game


def elo_from_score(p: float) -> float:
    """Elo difference that gives expected score p."""
    return -400.0 * math.log10(1.0 / p - 1.0)


def fit(
    names: list[str],
    results: list[tuple[int, int, float]],
    anchor: int = 0,
    anchor_elo: float = 0.0,
    prior_draws: float = 1.0,
) -> list[Rating]:
    """``results``: (i, j, score of i) per game. Returns one Rating per name."""
    n = len(names)
    pairs: dict[tuple[int, int], list[float]] = {}
    for i, j, s in results:
        if i == j:
            raise ValueError("a player cannot play itself")
        key = (min(i, j), max(i, j))
        rec = pairs.setdefault(key, [0.0, 0.0])  # [games, score of the lower index]
        rec[0] += 1
        rec[1] += s if i == key[0] else 1.0 - s
    idx = np.array(list(pairs.keys()), np.int64).reshape(-1, 2)
    games_ = np.array([v[0] for v in pairs.values()]) + prior_draws
    score = np.array([v[1] for v in pairs.values()]) + 0.5 * prior_draws
    r = np.zeros(n)
    free = np.array([k != anchor for k in range(n)])
    for _ in range(100):
        d = r[idx[:, 0]] - r[idx[:, 1]] if len(idx) else np.zeros(0)
        p = 1.0 / (1.0 + np.exp(-d))
        g = np.zeros(n)
        np.add.at(g, idx[:, 0], score - games_ * p)
        np.add.at(g, idx[:, 1], -(score - games_ * p))
        w = games_ * p * (1 - p)
        h = np.zeros((n, n))
        np.add.at(h, (idx[:, 0], idx[:, 0]), w)
        np.add.at(h, (idx[:, 1], idx[:, 1]), w)
        np.add.at(h, (idx[:, 0], idx[:, 1]), -w)
        np.add.at(h, (idx[:, 1], idx[:, 0]), -w)
        hf = h[np.ix_(free, free)] + 1e-9 * np.eye(free.sum())
        step = np.linalg.solve(hf, g[free])
        r[free] += step
        if np.abs(step).max() < 1e-10:
            break
    cov = np.zeros((n, n))
    if free.any():
        cov[np.ix_(free, free)] = np.linalg.inv(hf)
    out = []
    for k in range(n):
        played = [(s if i == k else 1 - s) for i, j, s in results if k in (i, j)]
        out.append(
            Rating(
                name=names[k],
                elo=anchor_elo + ELO * (r[k] - r[anchor]),
                ci95=1.96 * ELO * math.sqrt(max(cov[k, k], 0.0)),
                games=len(played),
                score=float(np.mean(played)) if played else float("nan"),
            )
        )
    return out


# ---------------------------------------------------------------- SPRT


def sprt_bounds(alpha: float, beta: float) -> tuple[float, float]:
    """Log-likelihood-ratio bounds (lower, upper): accept H0 below, H1 above."""
    return math.log(beta / (1 - alpha)), math.log((1 - beta) / alpha)


def sprt_llr(scores: list[float] | np.ndarray, elo0: float, elo1: float) -> float:
    """Generalised SPRT log-likelihood ratio for H1: elo = elo1 against H0: elo = elo0,
    from per-game scores (0, 0.5, 1), with the normal approximation used by chess-engine
    testers (cutechess-cli, fishtest)."""
    x = np.asarray(scores, np.float64)
    n = len(x)
    if n < 2:
        return 0.0
    m = x.mean()
    # the variance is estimated with one pseudo win, draw and loss added, so that a run
    # of equal results at the start cannot shrink it to zero and end the test at once
    xs = np.concatenate([x, [0.0, 0.5, 1.0]])
    var = (xs * xs).mean() - xs.mean() ** 2
    s0 = 1.0 / (1.0 + 10 ** (-elo0 / 400.0))
    s1 = 1.0 / (1.0 + 10 ** (-elo1 / 400.0))
    return n * (s1 - s0) * (2 * m - s0 - s1) / (2 * var)


def sprt_decision(scores, elo0: float, elo1: float, alpha: float, beta: float) -> str | None:
    """'H1' (A is stronger by elo1), 'H0' (not stronger than elo0) or None (continue)."""
    lo, hi = sprt_bounds(alpha, beta)
    llr = sprt_llr(scores, elo0, elo1)
    if llr >= hi:
        return "H1"
    if llr <= lo:
        return "H0"
    return None
