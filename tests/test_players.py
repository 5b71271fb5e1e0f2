"""The player registry: every string is a player list or one clear PlayerError."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfplay import players as P
from selfplay.profiles import PROFILES, profile

TTT = "checkpoints/tic_tac_toe.pt"


@pytest.mark.parametrize(
    "spec,kind,extra",
    [
        ("random", "random", {}),
        (" minimax ", "minimax", {}),
        ("perfect", "perfect", {}),
        ("mcts:250", "mcts", {"simulations": 250}),
        (TTT, "checkpoint", {"game": "tic_tac_toe", "search": None}),
        (TTT + "@search=40", "checkpoint", {"game": "tic_tac_toe", "search": 40}),
        (TTT + "@sym=0", "checkpoint", {"search": None, "symmetric": False, "label": "checkpoints/tic_tac_toe@sym=0"}),
        (TTT + "@search=40,sym=0", "checkpoint", {"search": 40, "symmetric": False}),
        (TTT + "@sym=0,search=40", "checkpoint", {"search": 40, "symmetric": False}),
        # the game's default, named, is the same player as left out
        (TTT + "@sym=1", "checkpoint", {"symmetric": None, "label": "checkpoints/tic_tac_toe"}),
        (TTT + "@search=40,solve=1", "checkpoint", {"search": 40, "solve": True}),
        (TTT + "@solve=0,search=40", "checkpoint", {"search": 40, "solve": False}),
    ],
)
def test_each_kind_parses_to_its_record(spec, kind, extra):
    (p,) = P.parse(spec)
    assert p.kind == kind and P.KINDS[kind].name == kind
    for k, v in extra.items():
        assert getattr(p, k) == v


def test_a_folder_names_each_checkpoint_once_and_infers_its_game():
    found = P.parse("checkpoints")
    shipped = {"tic_tac_toe", "connect_four", "othello", "hex_9x9", "openspiel:hex(board_size=5)"}
    assert {p.game for p in found} == shipped
    assert P.infer_game(["random", TTT]) == "tic_tac_toe" and P.infer_game(["random", "mcts:5"]) is None


@pytest.mark.parametrize(
    "specs,game,msg",
    [
        (["minimax", "random"], "connect_four", "plays only tic_tac_toe"),
        (["perfect", "random"], "tic_tac_toe", "plays only connect_four"),
        (["mcts:0", "random"], "connect_four", "mcts:N"),
        (["mcts:-3", "random"], "connect_four", "mcts:N"),
        (["mcts:99999999999", "random"], "connect_four", "mcts:N"),
        (["mcts:5", "random"], "pettingzoo:go_v5(board_size=5)", "no OpenSpiel twin"),
        ([TTT + "@search=0", "random"], "tic_tac_toe", "PATH@search=N"),
        ([TTT + "@depth=3", "random"], "tic_tac_toe", "PATH@search=N"),
        ([TTT + "@sym=2", "random"], "tic_tac_toe", "PATH@sym=0 or 1"),
        ([TTT + "@sym=", "random"], "tic_tac_toe", "PATH@sym=0 or 1"),
        ([TTT + "@sym=0,sym=1", "random"], "tic_tac_toe", "PATH@sym=0 or 1"),
        ([TTT + "@search=5,", "random"], "tic_tac_toe", "PATH@search=N"),
        ([TTT + "@search=5;sym=0", "random"], "tic_tac_toe", "PATH@search=N"),
        ([TTT + "@solve=1", "random"], "tic_tac_toe", "solve=1 needs a search"),
        ([TTT + "@search=5,solve=yes", "random"], "tic_tac_toe", "solve=0 or 1"),
        ([TTT + "@sym=1", TTT], "tic_tac_toe", "at least two"),
        ([TTT, "random"], "connect_four", "not connect_four"),
        (["random", "random"], "tic_tac_toe", "at least two"),
    ],
)
def test_unfit_players_are_refused_by_the_registry(specs, game, msg):
    with pytest.raises(P.PlayerError, match=msg) as e:
        P.resolve(specs, game)
    assert "\n" not in str(e.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_string_is_players_or_one_line_refusal(spec):
    try:
        found = P.parse(spec)
    except P.PlayerError as e:
        assert "\n" not in str(e)
        return
    assert found and all(p.kind in P.KINDS for p in found)


def test_profiles_are_looked_up_by_canonical_name_and_name_perfect_players_of_the_registry():
    assert profile(" tic_tac_toe") is PROFILES["tic_tac_toe"] and profile("openspiel:go").opening_plies == 2
    perfect = {prof.perfect_player for prof in PROFILES.values()} - {None}
    assert perfect == {"minimax", "perfect"} and perfect <= set(P.KINDS)
    # a perfect player fits exactly the games whose profile names it
    for game, prof in PROFILES.items():
        for kind in perfect:
            assert (P.KINDS[kind].refuses(game) is None) == (prof.perfect_player == kind), (game, kind)


def test_with_and_without_the_symmetry_mean_are_two_players_that_play_as_named():
    """``PATH@sym=0`` is another player than ``PATH`` (the game's default: the mean over the
    board's symmetries), and each builds the agent it names."""
    import numpy as np

    import games

    plain, averaged = P.resolve([TTT + "@sym=0", TTT], "tic_tac_toe")
    assert plain.ident != averaged.ident
    a_plain, a_averaged = P.make_agent(plain, "tic_tac_toe"), P.make_agent(averaged, "tic_tac_toe")
    assert not a_plain.info["symmetric"] and a_averaged.info["symmetric"]
    s = games.make("tic_tac_toe").init(1)
    assert not np.array_equal(a_plain.q_values(s), a_averaged.q_values(s))


def test_with_and_without_the_solver_are_two_players_whose_agents_search_as_named():
    """``PATH@search=N,solve=1`` is another player than ``PATH@search=N``, and its agent's
    search is the solver's (what that search proves: tests/test_mcts.py)."""
    plain, solving = P.resolve([TTT + "@search=300", TTT + "@search=300,solve=1"], "tic_tac_toe")
    assert plain.ident != solving.ident and solving.label.endswith("@search=300,solve=1")
    a_plain, a_solving = P.make_agent(plain, "tic_tac_toe"), P.make_agent(solving, "tic_tac_toe")
    assert (a_plain.solve, a_solving.solve) == (False, True)
