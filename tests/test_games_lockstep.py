"""Native engines against the reference implementations, move by move."""

import numpy as np
import pyspiel
import pytest
from pettingzoo.classic import connect_four_v3

import games


def _all_ttt_states():
    """Every reachable tic-tac-toe state as a move sequence (depth-first over pyspiel)."""
    game = pyspiel.load_game("tic_tac_toe")
    seen, out, stack = set(), [], [[]]
    while stack:
        moves = stack.pop()
        s = game.new_initial_state()
        for m in moves:
            s.apply_action(m)
        key = str(s)
        if key in seen:
            continue
        seen.add(key)
        out.append((moves, s))
        if not s.is_terminal():
            stack.extend(moves + [a] for a in s.legal_actions())
    return out


def test_every_tic_tac_toe_state_matches_openspiel():
    states = _all_ttt_states()
    assert len(states) == 5478
    g = games.make("tic_tac_toe")
    # replay each line as one batch padded to the same length: group by length
    by_len = {}
    for moves, ref in states:
        by_len.setdefault(len(moves), []).append((moves, ref))
    for n, group in by_len.items():
        s = g.init(len(group))
        for t in range(n):
            s = g.step(s, np.array([m[t] for m, _ in group]))
        for i, (_, ref) in enumerate(group):
            assert bool(s.terminated[i]) == ref.is_terminal()
            if ref.is_terminal():
                ret = np.array(ref.returns())
                assert not s.legal_action_mask[i].any()
            else:
                assert s.current_player[i] == ref.current_player()
                assert list(np.flatnonzero(s.legal_action_mask[i])) == ref.legal_actions()
                ret = np.zeros(2)
            # rewards arrive on the final move, so they equal the returns here
            np.testing.assert_array_equal(s.rewards[i], ret)


def test_connect_four_random_games_lockstep_with_openspiel_and_pettingzoo():
    num_games = 2000
    g = games.make("connect_four")
    rng = np.random.default_rng(2024)
    ps_game = pyspiel.load_game("connect_four")
    batch = 250
    compared = 0
    for start in range(0, num_games, batch):
        s = g.init(batch)
        refs = [ps_game.new_initial_state() for _ in range(batch)]
        envs = []
        for i in range(batch):
            env = connect_four_v3.env()
            env.reset(seed=start + i)
            envs.append(env)
        while not s.terminated.all():
            a = games.random_actions(s, rng)
            s = g.step(s, a)
            for i in np.flatnonzero(~s.terminated | (s.num_moves > 0)):
                ref, env = refs[i], envs[i]
                if ref.is_terminal():
                    assert s.terminated[i]
                    continue
                ref.apply_action(int(a[i]))
                env.step(int(a[i]))
                assert bool(s.terminated[i]) == ref.is_terminal()
                pz_done = any(env.terminations.values())
                assert pz_done == ref.is_terminal()
                pz_rew = np.array([env.rewards[p] for p in env.possible_agents], np.float32)
                np.testing.assert_array_equal(s.rewards[i], np.array(ref.rewards(), np.float32))
                np.testing.assert_array_equal(s.rewards[i], pz_rew)
                if not ref.is_terminal():
                    assert list(np.flatnonzero(s.legal_action_mask[i])) == ref.legal_actions()
                    mask = env.observe(env.agent_selection)["action_mask"]
                    assert list(np.flatnonzero(mask)) == ref.legal_actions()
                    # our mover-relative planes equal PettingZoo's observation
                    pz_obs = np.moveaxis(env.observe(env.agent_selection)["observation"], -1, 0)
                    np.testing.assert_array_equal(g.observe(games.take(s, i))[0], pz_obs)
                compared += 1
    assert compared > num_games * 10


@pytest.mark.parametrize("native,env_name", [("tic_tac_toe", "tictactoe_v3"), ("connect_four", "connect_four_v3")])
def test_pettingzoo_adapter_matches_native_and_raw_env(native, env_name):
    """Adapter vs our engine (same numbering) and vs the raw env with translated actions."""
    g_nat, g_pz = games.make(native), games.make(f"pettingzoo:{env_name}")
    rng = np.random.default_rng(4)
    for _ in range(30):
        s_nat, s_pz = g_nat.init(1), g_pz.init(1)
        raw = __import__(f"pettingzoo.classic.{env_name}", fromlist=["env"]).env()
        raw.reset()
        while not s_nat.terminated[0]:
            np.testing.assert_array_equal(s_nat.legal_action_mask, s_pz.legal_action_mask)
            np.testing.assert_array_equal(g_nat.observe(s_nat), g_pz.observe(s_pz))
            assert g_nat.render(s_nat).replace("[", " ").replace("]", " ").split() == g_pz.render(s_pz).split()
            a = games.random_actions(s_nat, rng)
            s_nat, s_pz = g_nat.step(s_nat, a), g_pz.step(s_pz, a)
            raw.step(int(g_pz.to_env[a[0]]))
            np.testing.assert_array_equal(s_nat.rewards, s_pz.rewards)
            np.testing.assert_array_equal(s_pz.rewards[0], [raw.rewards[p] for p in raw.possible_agents])
        assert s_pz.terminated[0] and any(raw.terminations.values())


def test_pettingzoo_tictactoe_numbering_is_translated():
    g = games.make("pettingzoo:tictactoe_v3")
    s = g.step(g.init(1), np.array([1]))  # our cell 1: top row, middle column
    env = s.handles[0]
    assert env.unwrapped.board.squares[3] == 1  # PettingZoo's column-major cell 3


def test_openspiel_adapter_matches_native_connect_four():
    g_nat, g_os = games.make("connect_four"), games.make("openspiel:connect_four")
    rng = np.random.default_rng(8)
    s_nat, s_os = g_nat.init(16), g_os.init(16)
    while not s_nat.terminated.all():
        np.testing.assert_array_equal(s_nat.legal_action_mask, s_os.legal_action_mask)
        np.testing.assert_array_equal(s_nat.current_player, s_os.current_player)
        a = games.random_actions(s_nat, rng)
        s_nat, s_os = g_nat.step(s_nat, a), g_os.step(s_os, a)
        np.testing.assert_array_equal(s_nat.rewards, s_os.rewards)
        np.testing.assert_array_equal(s_nat.terminated, s_os.terminated)


def _lockstep_with_pyspiel(name: str, num_games: int, seed: int, planes=None) -> int:
    """Play ``num_games`` random games of native ``name`` and of its pyspiel twin side by
    side; compare, after every move, the mover, the legal actions, the terminal flag, the
    rewards (summed, the returns at the end), every legal action's string and, where
    ``planes`` maps a pyspiel state to our mover-relative planes, the observation. Returns
    the number of positions compared."""
    g = games.make(name)
    ps_game = pyspiel.load_game(g.pyspiel_name)
    rng = np.random.default_rng(seed)
    compared = 0
    for start in range(0, num_games, 500):
        batch = min(500, num_games - start)
        s = g.init(batch)
        refs = [ps_game.new_initial_state() for _ in range(batch)]
        returns = np.zeros((batch, 2))
        while True:
            obs = g.observe(s)
            for i, ref in enumerate(refs):
                assert bool(s.terminated[i]) == ref.is_terminal()
                if ref.is_terminal():
                    continue
                legal = ref.legal_actions()
                assert s.current_player[i] == ref.current_player()
                assert list(np.flatnonzero(s.legal_action_mask[i])) == legal
                if g.pyspiel_strings and compared % 7 == 0:  # a sample of positions' legal move strings
                    assert [g.action_to_string(s, a, i) for a in legal] == [ref.action_to_string(a) for a in legal]
                if planes is not None and compared % 3 == 0:  # every third position's planes
                    np.testing.assert_array_equal(obs[i], planes(ref))
                compared += 1
            if s.terminated.all():
                break
            a = games.random_actions(s, rng)
            s = g.step(s, a)
            returns += s.rewards
            for i, ref in enumerate(refs):
                if not ref.is_terminal():
                    ref.apply_action(int(a[i]))
        for i, ref in enumerate(refs):
            np.testing.assert_array_equal(returns[i], ref.returns())
            assert not s.legal_action_mask[i].any()
    return compared


def _othello_planes(ref):
    # OpenSpiel's planes seen by the mover: empty, own discs, the opponent's
    t = np.array(ref.observation_tensor(ref.current_player()), np.float32).reshape(3, 8, 8)
    return t[1:]


def _hex_planes(ref):
    # the mover's stones, then the opponent's, read off OpenSpiel's drawing of the board;
    # then ones where X (who joins top and bottom) is to move
    own, opp = ("x", "o") if ref.current_player() == 0 else ("o", "x")
    board = np.array([c for line in str(ref).split("\n") for c in line.split()])
    size = int(round(len(board) ** 0.5))
    board = board.reshape(size, size)
    first = np.full((size, size), ref.current_player() == 0)
    return np.stack([board == own, board == opp, first]).astype(np.float32)


def _hex_edge_planes(ref):
    # OpenSpiel's Hex observation marks each cell with a state (index = state + 4): X's
    # stones joined to the north edge (7), to the south (6), to both (8); O's joined to the
    # west (1), east (2), both (0). Ours: the mover's first and second edge, then the
    # opponent's (X: north, south; O: west, east)
    n = int(round((len(ref.observation_tensor()) / 9) ** 0.5))
    t = np.array(ref.observation_tensor(), bool).reshape(9, n, n)
    x = [t[7] | t[8], t[6] | t[8]]
    o = [t[1] | t[0], t[2] | t[0]]
    first, second = (x, o) if ref.current_player() == 0 else (o, x)
    return np.stack([*first, *second]).astype(np.float32)


@pytest.mark.parametrize("size", [5, 9, 11])
def test_hex_derived_planes_lockstep_with_openspiel_observation(size):
    """Hex's derived planes say for every stone which of its player's edges its group
    touches, as OpenSpiel's own observation does, in lockstep over random games."""
    g = games.make(f"hex_{size}x{size}", derived=True)
    ref_game = pyspiel.load_game(g.pyspiel_name)
    rng = np.random.default_rng(size)
    s = g.init(200)
    refs = [ref_game.new_initial_state() for _ in range(200)]
    compared = 0
    while not s.terminated.all():
        obs = g.observe(s)
        for i, ref in enumerate(refs):
            if not ref.is_terminal():
                np.testing.assert_array_equal(obs[i, 2:6], _hex_edge_planes(ref))
                compared += 1
        a = games.random_actions(s, rng)
        s = g.step(s, a)
        for i, ref in enumerate(refs):
            if not ref.is_terminal():
                ref.apply_action(int(a[i]))
    assert compared > 200 * size * size // 3


#: how a native game's observation is read off its pyspiel twin, where the suite checks it
#: (tic-tac-toe and connect four are checked against PettingZoo's planes above)
PLANES = {"othello": _othello_planes, **{f"hex_{n}x{n}": _hex_planes for n in range(5, 12)}}
#: every native engine with an OpenSpiel twin joins the lockstep suite by registering
TWINNED = [n for n in games.registered() if ":" not in n and getattr(games.make(n), "pyspiel_name", None)]


@pytest.mark.parametrize("name", TWINNED)
def test_native_random_games_lockstep_with_openspiel(name):
    g = games.make(name)
    compared = _lockstep_with_pyspiel(name, 2000, seed=len(name), planes=PLANES.get(name))
    # at least a few positions a game (tic-tac-toe: 5 moves; hex: a third of the board)
    assert compared > 2000 * min(5, g.num_actions // 3)
