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
    # the profile's plies first; tic-tac-toe has 9 balanced openings of 1 ply, then deeper
    own = profiles.profile(game_name).opening_plies
    plies = [len(p.opening) for p in plan]
    assert plies[0] == own and plies == sorted(plies)
    assert set(plies) == ({own, own + 1} if game_name == "tic_tac_toe" and n > 18 else {own})


@pytest.mark.parametrize("game_name,n", [("connect_four", 400), ("tic_tac_toe", 300), ("hex_9x9", 200)])
def test_a_long_match_plays_distinct_openings_deeper_ones_once_the_games_own_run_out(game_name, n):
    """Connect four has 49 openings of 2 plies: 400 games of players who always make the
    same move in a position would be 98 games played about four times each, and their
    interval would pretend to four times the information. The schedule goes deeper instead."""
    plan = profiles.schedule(game_name, n, seed=1)
    assert len({(p.opening, p.a_first) for p in plan}) == n and {p.round for p in plan} == {0}
    g = games.make(game_name)
    prof = profiles.profile(game_name)
    for p in plan[::2]:
        s = g.init(1)
        for a in p.opening:
            assert s.legal_action_mask[0, a]
            s = g.step(s, np.array([a]))
        assert not s.terminated[0]
        if prof.balanced is not None:
            assert prof.balanced(s)[0]
    # given plies are kept: 2-ply connect four openings go round again instead
    fixed = profiles.schedule("connect_four", 400, seed=1, plies=2)
    assert {len(p.opening) for p in fixed} == {2} and len({(p.opening, p.a_first) for p in fixed}) == 98
    assert max(p.round for p in fixed) == 4


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
