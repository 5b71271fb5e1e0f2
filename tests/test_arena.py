"""The one schedule and match loop that match, eval, tournament and compare share."""

import numpy as np
import pytest

import games
from selfplay import arena, profiles, ratings
from selfplay.agents import MinimaxAgent, RandomAgent


@pytest.mark.parametrize("game_name,n", [("tic_tac_toe", 40), ("tic_tac_toe", 7), ("connect_four", 30)])
def test_schedule_plans_exactly_n_games_each_opening_from_both_seats(game_name, n):
    plan = profiles.schedule(game_name, n, seed=4)
    assert len(plan) == n and len(set(plan)) == n  # (opening, seat, round) never repeats
    assert sum(p.a_first for p in plan) == (n + 1) // 2
    for k in range(0, n - 1, 2):  # consecutive games share the opening with seats swapped
        assert plan[k].opening == plan[k + 1].opening and plan[k].a_first and not plan[k + 1].a_first
    assert plan == profiles.schedule(game_name, n, seed=4)
    plies = {len(p.opening) for p in plan}
    assert plies == {1 if game_name == "tic_tac_toe" else 2}


def test_the_match_loop_plays_the_plan_in_order_and_an_sprt_stop_ends_it_early():
    g = games.make("tic_tac_toe")
    plan = profiles.schedule("tic_tac_toe", 60, seed=0)
    seen = []
    scores = arena.match(
        g,
        MinimaxAgent(),
        RandomAgent(),
        plan,
        np.random.default_rng(0),
        batch=8,
        on_batch=lambda s: seen.append(len(s)),
    )
    assert len(scores) == 60 and seen[-1] == 60 and min(scores) >= 0.5  # perfect play never loses
    stop = lambda s: ratings.sprt_decision(s, 0, 100, 0.05, 0.05) is not None  # noqa: E731
    early = arena.match(g, MinimaxAgent(), RandomAgent(), plan, np.random.default_rng(0), batch=8, stop=stop)
    assert len(early) < 60 and ratings.sprt_decision(early, 0, 100, 0.05, 0.05) == "H1"
