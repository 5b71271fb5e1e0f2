"""Rating math and SPRT by known answers."""

import math

import numpy as np
import pytest

from selfplay import ratings


def _games(i, j, wins, draws, losses):
    return [(i, j, 1.0)] * wins + [(i, j, 0.5)] * draws + [(i, j, 0.0)] * losses


def test_equal_scores_give_equal_ratings():
    res = _games(0, 1, 30, 40, 30) + _games(1, 2, 25, 0, 25) + _games(0, 2, 10, 10, 10)
    r = ratings.fit(["a", "b", "c"], res)
    assert r[0].elo == 0.0
    assert abs(r[1].elo) < 1e-6 and abs(r[2].elo) < 1e-6


def test_a_76_percent_score_is_about_plus_200_elo():
    res = _games(1, 0, 760, 0, 240)
    r = ratings.fit(["anchor", "strong"], res)
    assert r[1].elo == pytest.approx(200, abs=3)
    assert ratings.elo_from_score(0.76) == pytest.approx(200.2, abs=0.1)
    # the interval covers the truth and is about 1.96 * 400/ln10 / sqrt(n p (1-p))
    expected = 1.96 * 400 / math.log(10) / math.sqrt(1001 * 0.76 * 0.24)
    assert r[1].ci95 == pytest.approx(expected, rel=0.05)


def test_intervals_narrow_as_games_are_added():
    few = ratings.fit(["a", "b"], _games(1, 0, 15, 0, 5))
    many = ratings.fit(["a", "b"], _games(1, 0, 150, 0, 50))
    assert many[1].ci95 < few[1].ci95 / 2.5
    assert abs(many[1].elo - few[1].elo) < 30


def test_anchor_sits_at_its_value_and_order_is_kept():
    res = _games(0, 1, 10, 0, 30) + _games(1, 2, 10, 0, 30) + _games(0, 2, 5, 0, 35)
    r = ratings.fit(["weak", "mid", "strong"], res, anchor=1, anchor_elo=1000)
    assert r[1].elo == 1000 and r[1].ci95 == 0
    assert r[0].elo < r[1].elo < r[2].elo


def test_perfect_score_stays_finite():
    r = ratings.fit(["a", "b"], _games(1, 0, 50, 0, 0))
    assert math.isfinite(r[1].elo) and r[1].elo > 400


def test_sprt_bounds_and_decisions_on_synthetic_results():
    lo, hi = ratings.sprt_bounds(0.05, 0.05)
    assert lo == pytest.approx(-2.944, abs=1e-3) and hi == pytest.approx(2.944, abs=1e-3)
    rng = np.random.default_rng(0)

    def run(p_win, p_draw):
        scores = []
        while True:
            u = rng.random()
            scores.append(1.0 if u < p_win else 0.5 if u < p_win + p_draw else 0.0)
            d = ratings.sprt_decision(scores, 0, 20, 0.05, 0.05)
            if d:
                return d, len(scores)

    # a much stronger player (about +190 Elo) is accepted quickly
    d, n = run(0.65, 0.2)
    assert d == "H1" and n < 300
    # an equal player is rejected (H0)
    d, n = run(0.35, 0.3)
    assert d == "H0"
    # the LLR stops exactly when it crosses the documented bound
    scores = [1.0, 0.0] * 5 + [1.0] * 200
    llrs = [ratings.sprt_llr(scores[:k], 0, 20) for k in range(2, len(scores))]
    first = next(k for k, v in enumerate(llrs) if v >= hi)
    assert all(v < hi for v in llrs[:first])


def test_the_ladder_fit_recovers_a_learners_elo_over_evaluations_from_simulated_games():
    """Known answer: games drawn from a Bradley-Terry model with known ratings (rungs at
    -400, 0, +300; the learner climbing from -300 to +200): the fit, anchored on the 0 rung,
    finds each evaluation's rating within its 95% interval, and the rungs' too."""
    from selfplay.evaluate import ladder_fit

    rng = np.random.default_rng(3)
    rungs = {"weak": -400.0, "anchor": 0.0, "strong": 300.0}
    truth = np.linspace(-300, 200, 8)
    rows = []
    for k, elo in enumerate(truth):
        played = {}
        for name, r in rungs.items():
            p = 1 / (1 + 10 ** ((r - elo) / 400))
            wins = int(rng.binomial(400, p))
            played[name] = {"wins": wins, "draws": 0, "losses": 400 - wins}
        rows.append({"moves": 1000 * (k + 1), "time": 60.0 * (k + 1), "ladder": {"anchor": "anchor", "rungs": played}})
    fit = ladder_fit(rows)
    assert [f["moves"] for f in fit] == [r["moves"] for r in rows]
    misses = sum(abs(f["elo"] - t) > f["ci95"] for f, t in zip(fit, truth))
    assert misses <= 1  # a 95% interval misses about one time in twenty
    assert all(20 < f["ci95"] < 80 for f in fit)
    for name, r in rungs.items():
        assert abs(fit[-1]["rungs"][name] - r) < 60
    assert fit[-1]["rungs"]["anchor"] == 0.0 and fit[-1]["anchor"] == "anchor"
    # fewer games, wider intervals
    few = [
        {
            **r,
            "ladder": {
                "anchor": "anchor",
                "rungs": {n: {k: v // 10 for k, v in g.items()} for n, g in r["ladder"]["rungs"].items()},
            },
        }
        for r in rows
    ]
    assert all(a["ci95"] > 2 * b["ci95"] for a, b in zip(ladder_fit(few), fit))
