"""Our agents as an OpenSpiel bot and a PettingZoo policy play full legal games."""

import numpy as np
import pyspiel
from open_spiel.python.algorithms import evaluate_bots
from pettingzoo.classic import tictactoe_v3

from selfplay import load_agent
from selfplay.minimax import solve

TTT = "checkpoints/tic_tac_toe.pt"


def test_openspiel_bot_plays_with_evaluate_bots_and_never_loses_to_random():
    game = pyspiel.load_game("tic_tac_toe")
    bot = load_agent(TTT).as_openspiel_bot()
    for seat in (0, 1):
        for k in range(10):
            rnd = pyspiel.make_uniform_random_bot(1 - seat, k)
            bots = [bot, rnd] if seat == 0 else [rnd, bot]
            returns = evaluate_bots.evaluate_bots(game.new_initial_state(), bots, np.random)
            assert returns[seat] >= 0


def test_pettingzoo_policy_plays_full_legal_games_with_translated_numbering():
    policy = load_agent(TTT).as_pettingzoo_policy()
    _, values = solve()
    for seed in range(6):
        env = tictactoe_v3.env()
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        me = env.possible_agents[seed % 2]
        for agent in env.agent_iter():
            obs, reward, term, trunc, _ = env.last()
            if term or trunc:
                if agent == me:
                    assert reward >= 0  # the exact-play agent never loses
                env.step(None)
                continue
            if agent == me:
                a = policy(obs)
                assert obs["action_mask"][a] == 1
            else:
                a = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            env.step(a)


def test_pettingzoo_policy_takes_the_win_in_one():
    policy = load_agent(TTT).as_pettingzoo_policy()
    env = tictactoe_v3.env()
    env.reset()
    # PettingZoo cells are column-major: X plays top-left (0) and top-middle (3); O 1, 4
    for a in (0, 1, 3, 4):
        env.step(a)
    obs, *_ = env.last()
    assert policy(obs) == 6  # top-right in PettingZoo's numbering


def test_pettingzoo_policy_searches_when_the_agent_searches_and_accepts_the_agent_name():
    from pettingzoo.classic import connect_four_v3

    from selfplay import mcts

    agent = load_agent("checkpoints/connect_four.pt", search=64)
    policy = agent.as_pettingzoo_policy()
    calls = []
    real = mcts.search

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    mcts.search = counting
    try:
        env = connect_four_v3.env()
        env.reset(seed=0)
        obs, *_ = env.last()
        a = policy(obs, env.agent_selection)  # PettingZoo's calling style
    finally:
        mcts.search = real
    assert calls and obs["action_mask"][a] == 1


def test_pettingzoo_policy_refuses_wrong_game_observations_with_one_line():
    import pytest
    from pettingzoo.classic import connect_four_v3

    policy = load_agent(TTT).as_pettingzoo_policy()
    env = connect_four_v3.env()
    env.reset(seed=0)
    obs, *_ = env.last()
    for bad in (obs, {"observation": np.zeros(3)}, {"action_mask": np.ones(9)}, "not a dict"):
        with pytest.raises(ValueError) as e:
            policy(bad)
        assert "\n" not in str(e.value)


def test_openspiel_bot_provides_a_policy_over_legal_actions():
    game = pyspiel.load_game("tic_tac_toe")
    for search in (None, 50):
        bot = load_agent(TTT, search=search).as_openspiel_bot()
        assert bot.provides_policy()
        state = game.new_initial_state()
        for a in (0, 4):
            state.apply_action(a)
        policy, action = bot.step_with_policy(state)
        assert [a for a, _ in policy] == state.legal_actions() and action in state.legal_actions()
        assert abs(sum(p for _, p in policy) - 1) < 1e-5 and dict(policy)[action] == max(p for _, p in policy)
