"""The conformance suite every registered game passes."""

import dataclasses
import functools

import numpy as np
import pytest

import games
from games import IllegalActionError


def _play_random(game, batch, seed, max_moves=400):
    rng = np.random.default_rng(seed)
    s = game.init(batch)
    states = [s]
    for _ in range(max_moves):
        if s.terminated.all():
            break
        s = game.step(s, games.random_actions(s, rng))
        states.append(s)
    return states


def _snapshot(state):
    return {
        f.name: np.copy(getattr(state, f.name))
        for f in dataclasses.fields(state)
        if getattr(state, f.name).dtype != object
    }


def test_shapes_and_dtypes(game_name):
    g = games.make(game_name)
    s = g.init(3)
    assert s.current_player.shape == (3,) and s.current_player.dtype == np.int8
    assert s.legal_action_mask.shape == (3, g.num_actions) and s.legal_action_mask.dtype == bool
    assert s.rewards.shape == (3, 2) and s.rewards.dtype == np.float32
    assert s.terminated.dtype == bool and not s.terminated.any()
    obs = g.observe(s)
    assert obs.shape == (3, *g.obs_shape) and obs.dtype == np.float32
    assert (g.init(1).current_player == 0).all()


def test_history_stacks_previous_positions(game_name):
    g0, g2 = games.make(game_name), games.make(game_name, history=2)
    # an engine's mover plane (Hex) comes once, last, after the stacked positions
    extra = int(getattr(g0, "mover_plane", False))
    assert g2.obs_shape[0] - extra == 3 * (g0.obs_shape[0] - extra)
    rng = np.random.default_rng(1)
    s0, s2 = g0.init(2), g2.init(2)
    frames = [g0.observe(s0)]
    for _ in range(3):
        a = games.random_actions(s0, rng)
        s0, s2 = g0.step(s0, a), g2.step(s2, a)
        frames.append(g0.observe(s0))
    obs = g2.observe(s2)
    c = g0.obs_shape[0] - extra
    np.testing.assert_array_equal(obs[:, :c], frames[-1][:, :c])
    np.testing.assert_array_equal(obs[:, 3 * c :], frames[-1][:, c:])
    # the earlier frames are the earlier positions: native engines re-express them from the
    # current mover's side (own/opponent swapped for the previous mover), adapters keep each
    # position's own frame
    from games.native import NativeGame

    for k in (1, 2):
        past = obs[:, k * c : (k + 1) * c]
        expected = frames[-1 - k][:, :c]
        if isinstance(g2, NativeGame) and k % 2 == 1:
            expected = expected[:, ::-1]
        np.testing.assert_array_equal(past, expected)


def test_batch_of_one_equals_batch_of_b(game_name):
    g = games.make(game_name)
    rng = np.random.default_rng(7)
    b = 5
    s = g.init(b)
    singles = [g.init(1) for _ in range(b)]
    for _ in range(60):
        if s.terminated.all():
            break
        a = games.random_actions(s, rng)
        s = g.step(s, a)
        singles = [g.step(x, a[i : i + 1]) for i, x in enumerate(singles)]
        for i, x in enumerate(singles):
            one = games.take(s, i)
            np.testing.assert_array_equal(one.legal_action_mask, x.legal_action_mask)
            np.testing.assert_array_equal(one.terminated, x.terminated)
            np.testing.assert_array_equal(one.rewards, x.rewards)
            np.testing.assert_array_equal(one.current_player, x.current_player)
            np.testing.assert_array_equal(g.observe(one), g.observe(x))


def test_step_does_not_mutate_input(game_name):
    g = games.make(game_name)
    rng = np.random.default_rng(3)
    s = g.step(g.init(4), games.random_actions(g.init(4), rng))
    before, obs_before = _snapshot(s), g.observe(s)
    render_before = g.render(s, 0)
    g.step(s, games.random_actions(s, rng))
    for k, v in _snapshot(s).items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    np.testing.assert_array_equal(g.observe(s), obs_before)
    assert g.render(s, 0) == render_before


def test_random_games_end_zero_sum_and_absorbing(game_name):
    g = games.make(game_name)
    states = _play_random(g, 6, seed=11)
    final = states[-1]
    assert final.terminated.all(), "random games must end"
    totals = np.zeros((6, 2))
    for s in states:
        np.testing.assert_allclose(s.rewards.sum(axis=1), 0.0, atol=1e-6)
        totals += s.rewards
    assert (np.abs(totals[:, 0]) <= 1).all()
    assert not final.legal_action_mask.any()
    again = g.step(final, np.zeros(6, np.int64))
    np.testing.assert_array_equal(again.terminated, final.terminated)
    assert (again.rewards == 0).all()
    np.testing.assert_array_equal(g.observe(again), g.observe(final))


def test_illegal_action_raises(game_name):
    g = games.make(game_name)
    rng = np.random.default_rng(5)
    # play until game 0 is live with at least one illegal action (and game 1 still live)
    for _attempt in range(200):
        s = g.init(2)
        while not s.terminated.any() and s.legal_action_mask[0].all():
            s = g.step(s, games.random_actions(s, rng))
        if not s.terminated.any():
            break
    illegal = np.flatnonzero(~s.legal_action_mask[0])
    assert len(illegal)
    before = _snapshot(s)
    with pytest.raises(IllegalActionError):
        g.step(s, np.array([illegal[0], np.flatnonzero(s.legal_action_mask[1])[0]]))
    with pytest.raises(IllegalActionError):
        g.step(s, np.array([g.num_actions, 0]))
    for k, v in _snapshot(s).items():
        np.testing.assert_array_equal(v, before[k])


def test_text_round_trip(game_name):
    g = games.make(game_name)
    rng = np.random.default_rng(9)
    s = g.init(1)
    while not s.terminated[0]:
        for a in np.flatnonzero(s.legal_action_mask[0]):
            assert g.parse_action(s, g.action_to_string(s, int(a))) == a
        assert isinstance(g.render(s), str) and g.render(s)
        s = g.step(s, games.random_actions(s, rng))
    for bad in ["", "   ", "hello", "99999", "x" * 500]:
        with pytest.raises(ValueError):
            g.parse_action(g.init(1), bad)


def test_unknown_and_unfit_games_are_refused():
    for name, reason in [
        ("chess", "unknown game"),
        ("openspiel:kuhn_poker", "chance"),
        ("openspiel:leduc_poker", "chance"),
        ("openspiel:dark_hex", "hidden information"),
        ("openspiel:matrix_rps", "simultaneous"),
        ("openspiel:no_such_game", "no game"),
        ("pettingzoo:no_such_env_v0", "no classic environment"),
        ("pettingzoo:texas_holdem_v4", "chance"),
        ("pettingzoo:leduc_holdem_v4", "hidden information"),
        ("pettingzoo:texas_holdem_no_limit_v6", "hidden information"),
        ("pettingzoo:hanabi_v5", "hidden information"),
        ("pettingzoo:rps_v2", "simultaneous"),
        ("openspiel:hex(board_size=0)", "actions"),
        ("openspiel:hex(board_size=100000)", "actions"),
        ("openspiel:connect_four(rows=0)", "openspiel"),
    ]:
        with pytest.raises(games.UnknownGameError, match=reason) as e:
            games.make(name)
        assert "\n" not in str(e.value)


@pytest.mark.parametrize("name", [n for n in games.registered() if ":" not in n])
def test_symmetries_map_positions_moves_and_outcomes(name):
    """Each declared symmetry is one of the game's: the image of a position has the image
    of its legal moves, and playing the image of a move gives the image of the result."""
    g = games.make(name)
    cells, actions = g.symmetries()
    np.testing.assert_array_equal(cells[0], np.arange(cells.shape[1]))
    rng = np.random.default_rng(5)
    kwargs = (lambda s: {"current_player": s.current_player}) if name == "othello" else (lambda s: {})
    s = g.init(64)
    checked = 0
    while not s.terminated.all():
        grid = np.stack([g.cells(s, i) for i in range(s.batch_size)]).reshape(s.batch_size, -1)
        a = games.random_actions(s, rng)
        nxt = g.step(s, a)
        grid_next = np.stack([g.cells(nxt, i) for i in range(s.batch_size)]).reshape(s.batch_size, -1)
        for k in range(len(cells)):
            image = np.empty_like(grid)
            image[:, cells[k]] = grid
            im_state = g.from_cells(image.reshape(-1, *g.board_shape), **kwargs(s))
            live = ~s.terminated
            np.testing.assert_array_equal(im_state.legal_action_mask[:, actions[k]][live], s.legal_action_mask[live])
            im_next = g.step(games.take(im_state, np.flatnonzero(live)), actions[k][a[live]])
            want = np.empty_like(grid_next)
            want[:, cells[k]] = grid_next
            got = np.stack([g.cells(im_next, i) for i in range(im_next.batch_size)]).reshape(im_next.batch_size, -1)
            np.testing.assert_array_equal(got, want[live])
            np.testing.assert_array_equal(im_next.rewards, nxt.rewards[live])
            np.testing.assert_array_equal(im_next.terminated, nxt.terminated[live])
            checked += int(live.sum())
        s = nxt
    assert checked > 64 * len(cells) * 5


#: the native engines with derived planes (``derived=1`` and up)
DERIVED = [n for n in games.registered() if ":" not in n and games.make(n).derived_planes]


def _all_derived(name: str) -> int:
    """The highest level of derived planes an engine offers (0 where none)."""
    return len(games.make(name).levels())


@pytest.mark.parametrize("name", [n for n in games.registered() if ":" not in n])
def test_symmetries_move_observations(name):
    """Augmentation is honest: a symmetry applied to an observation's planes (cells moved,
    planes reordered by ``symmetry_channels``) is the observation of the image position,
    derived planes included where the engine has them."""
    from selfplay.replay import transform_planes

    g = games.make(name, derived=_all_derived(name))
    cells, _ = g.symmetries()
    channels = g.symmetry_channels()
    assert channels.shape == (len(cells), g.obs_shape[0])
    kwargs = (lambda s: {"current_player": s.current_player}) if name == "othello" else (lambda s: {})
    rng = np.random.default_rng(11)
    s = g.init(64)
    checked = 0
    while not s.terminated.all():
        live = np.flatnonzero(~s.terminated)
        grid = np.stack([g.cells(s, i) for i in live]).reshape(len(live), -1)
        obs = g.observe(games.take(s, live))
        for k in range(len(cells)):
            image = np.empty_like(grid)
            image[:, cells[k]] = grid
            im_state = g.from_cells(image.reshape(-1, *g.board_shape), **kwargs(games.take(s, live)))
            moved = transform_planes(obs, cells, channels, np.full(len(live), k))
            np.testing.assert_array_equal(moved, g.observe(im_state))
            checked += len(live)
        s = g.step(s, games.random_actions(s, rng))
    assert checked > 64 * len(cells) * 5


@pytest.mark.parametrize("name", [n for n in games.registered() if ":" not in n])
def test_the_symmetry_mean_is_the_mean_over_the_image_positions(name):
    """``network.SymmetryMean`` (how trained agents play) gives each action the mean of the
    network's Q for that action's image in every image position, the images built by the
    engine itself (``from_cells``), not by the planes' permutation under test; so its Q of
    an image position is the image of its Q (equivariance). Derived planes, and Hex's
    canonical network, included."""
    import torch

    from selfplay.config import NetConfig
    from selfplay.network import SymmetryMean, build_for, symmetry_mean

    g = games.make(name, derived=_all_derived(name))
    cells, actions = g.symmetries()
    torch.manual_seed(0)
    net = build_for(NetConfig(hidden=16, layers=1, canonical=g.canonical_frame() is not None), g).eval()
    mean = symmetry_mean(net, g)
    assert isinstance(mean, SymmetryMean)
    kwargs = (lambda s: {"current_player": s.current_player}) if name == "othello" else (lambda s: {})
    rng = np.random.default_rng(3)
    s, checked = g.init(32), 0
    with torch.no_grad():
        while not s.terminated.all():
            live = games.take(s, np.flatnonzero(~s.terminated))
            grid = np.stack([g.cells(live, i) for i in range(live.batch_size)]).reshape(live.batch_size, -1)
            images = []
            for k in range(len(cells)):
                image = np.empty_like(grid)
                image[:, cells[k]] = grid
                images.append(g.from_cells(image.reshape(-1, *g.board_shape), **kwargs(live)))
            raw = [net(torch.from_numpy(g.observe(im))).numpy()[:, actions[k]] for k, im in enumerate(images)]
            want = np.mean(raw, axis=0)
            got = mean(torch.from_numpy(g.observe(live))).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
            for k, im in enumerate(images):
                of_image = mean(torch.from_numpy(g.observe(im))).numpy()
                np.testing.assert_allclose(of_image[:, actions[k]], got, rtol=1e-5, atol=1e-6)
            checked += live.batch_size
            s = g.step(s, games.random_actions(s, rng))
    assert checked > 32 * 5


def test_the_symmetry_mean_leaves_a_game_without_symmetries_as_it_is():
    """An adapter declares no symmetries: its network plays unchanged."""
    from selfplay.config import NetConfig
    from selfplay.network import build_for, symmetry_mean

    g = games.make("openspiel:tic_tac_toe")
    net = build_for(NetConfig(hidden=8, layers=1), g)
    assert symmetry_mean(net, g) is net


@pytest.mark.parametrize("name", [n for n in games.registered() if ":" not in n])
def test_canonical_frame_swaps_the_goals(name):
    """Where an engine offers a canonical frame (Hex), it is one of the game's symmetries
    once the colours swap: the image of a position with O to move (cells moved, colours
    swapped, X to move) has the image of its legal moves, and the image of a move gives
    the image of the result, winner included. The network's view agrees: the
    observation's planes, moved, are the image's observation (derived planes included)
    but for the mover plane, and the Q values come back to the real actions. Where there
    is none, a canonical network is refused in one line."""
    import torch

    from selfplay.config import NetConfig
    from selfplay.network import build_for

    plain = games.make(name)
    if plain.canonical_frame() is None:
        with pytest.raises(ValueError, match="no symmetry that swaps") as e:
            build_for(NetConfig(hidden=8, layers=1, canonical=True), plain)
        assert "\n" not in str(e.value)
        return
    g = games.make(name, derived=_all_derived(name))
    cells, actions = g.canonical_frame()

    def swapped_image(state, rows):
        """The grids of ``state``'s games ``rows`` with cells moved by the frame and colours swapped."""
        grid = np.stack([g.cells(state, i) for i in rows]).reshape(len(rows), -1)
        image = np.empty_like(grid)
        image[:, cells] = np.where(grid == 0, 0, 3 - grid)
        return image.reshape(-1, *g.board_shape)

    torch.manual_seed(0)
    net = build_for(NetConfig(hidden=8, layers=1, canonical=True), g)
    rng = np.random.default_rng(7)
    s, checked = g.init(64), 0
    while not s.terminated.all():
        o = np.flatnonzero(~s.terminated & (s.current_player == 1))
        a = games.random_actions(s, rng)
        nxt = g.step(s, a)
        if len(o):
            im = g.from_cells(swapped_image(s, o), current_player=np.zeros(len(o), np.int8))
            np.testing.assert_array_equal(im.legal_action_mask[:, actions], s.legal_action_mask[o])
            obs = g.observe(games.take(s, o))
            moved = np.empty_like(obs.reshape(len(o), obs.shape[1], -1))
            moved[:, :, cells] = obs.reshape(len(o), obs.shape[1], -1)
            moved[:, -1] = 1.0
            np.testing.assert_array_equal(moved.reshape(obs.shape), g.observe(im))
            with torch.no_grad():
                q, q_image = net(torch.from_numpy(obs)), net.inner(torch.from_numpy(g.observe(im)))
            np.testing.assert_array_equal(q.numpy(), q_image[:, actions].numpy())
            im_next = g.step(im, actions[a[o]])
            got = np.stack([g.cells(im_next, i) for i in range(len(o))])
            np.testing.assert_array_equal(got, swapped_image(nxt, o))
            np.testing.assert_array_equal(im_next.terminated, nxt.terminated[o])
            np.testing.assert_array_equal(im_next.rewards, nxt.rewards[o][:, ::-1])
            checked += len(o)
        x = np.flatnonzero(~s.terminated & (s.current_player == 0))
        if len(x):  # X to move: the network is the inner one as it is
            obs = torch.from_numpy(g.observe(games.take(s, x)))
            with torch.no_grad():
                np.testing.assert_array_equal(net(obs).numpy(), net.inner(obs).numpy())
        s = nxt
    assert checked > 64 * 5


def test_derived_planes_are_offered_only_where_an_engine_has_them():
    """Each level adds its planes (``True`` is level 1, as configs saved before levels
    say); the top level adds every named plane; a level past the top, or any level on a
    game without derived planes, is refused in one line."""
    assert set(DERIVED) >= {"connect_four", "hex_9x9", "othello"}
    assert games.make("hex_9x9").levels() == (6, 8, 12)
    for name in DERIVED:
        g0 = games.make(name)
        levels = g0.levels()
        assert levels[-1] == len(g0.derived_planes) and list(levels) == sorted(set(levels))
        assert games.make(name, derived=True).obs_shape == games.make(name, derived=1).obs_shape
        for k, count in enumerate(levels, 1):
            assert games.make(name, derived=k).obs_shape[0] == g0.obs_shape[0] + count
        for bad in (len(levels) + 1, -1, "2"):
            with pytest.raises(ValueError, match=f"{name} has derived planes at level") as e:
                games.make(name, derived=bad)
            assert "\n" not in str(e.value)
    for name in ("tic_tac_toe", "openspiel:breakthrough(rows=6,columns=6)"):
        with pytest.raises(ValueError, match="no derived planes") as e:
            games.make(name, derived=True)
        assert "\n" not in str(e.value)


def _sweep_cell_planes(g, first: int, want, batch: int, seed: int) -> tuple[int, int]:
    """Over random games of ``g`` (made with derived planes), check that planes ``first``
    (the mover) and ``first + 1`` (the opponent) are ``want(grid, player)`` (bool, the
    board's shape); return how many cells were marked and how many planes checked."""
    rng = np.random.default_rng(seed)
    s, marked, checked = g.init(batch), 0, 0
    while not s.terminated.all():
        live = np.flatnonzero(~s.terminated)
        obs = g.observe(games.take(s, live))
        for j, i in enumerate(live):
            grid = g.cells(s, int(i))
            mover = int(s.current_player[i])
            for side, player in ((first, mover), (first + 1, 1 - mover)):
                expected = want(grid, player)
                np.testing.assert_array_equal(obs[j, side].astype(bool), expected)
                marked += int(expected.sum())
                checked += 1
        s = g.step(s, games.random_actions(s, rng))
    return marked, checked


def _placing_one(grid: np.ndarray, player: int, holds) -> np.ndarray:
    """bool grid: the empty cells where ``holds(trial)`` is true once ``player``'s stone is there."""
    out = np.zeros(grid.shape, bool)
    for r, c in zip(*np.nonzero(grid == 0)):
        trial = grid.copy()
        trial[r, c] = player + 1
        out[r, c] = holds(trial)
    return out


def _sweep_winning_cell_planes(g, first: int, wins, batch: int, seed: int) -> int:
    """Planes ``first`` and ``first + 1`` mark exactly the empty cells where that player's
    stone would win, ``wins(grid, player)`` judging the board with the stone placed; return
    how many cells were marked."""
    return _sweep_cell_planes(
        g, first, lambda grid, player: _placing_one(grid, player, lambda t: wins(t, player)), batch, seed
    )[0]


def test_connect_four_derived_planes_are_the_cells_that_complete_four():
    """Each empty cell is marked for a player exactly when that player's stone there, on
    the board as it stands (playable or not), would make four in a line."""
    from games.connect_four import has_four

    g = games.make("connect_four", derived=True)
    marked = _sweep_winning_cell_planes(
        g, 2, lambda grid, player: has_four(g.from_cells(grid[None]).stones[:, player])[0], batch=128, seed=4
    )
    assert marked > 500  # the sweep met many threats, not only empty planes


def _lines_of_four(shape) -> list[list[tuple[int, int]]]:
    """Every line of four cells on a board of ``shape``, in the four directions."""
    h, w = shape
    out = []
    for r in range(h):
        for c in range(w):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= y < h and 0 <= x < w for y, x in cells):
                    out.append(cells)
    return out


def test_connect_four_level_two_planes_are_the_playable_cells_and_the_cells_that_make_three():
    """Level 2 adds the cell each non-full column would take next, and for each player the
    empty cells where its stone would make three in a line of four holding none of the
    other player's stones (judged by going over every line of four on the board)."""
    g = games.make("connect_four", derived=2)
    lines = _lines_of_four(g.board_shape)

    def makes_three(grid, player):
        out = np.zeros(grid.shape, bool)
        for line in lines:
            held = [grid[y, x] for y, x in line]
            if held.count(player + 1) == 2 and held.count(2 - player) == 0:
                for y, x in line:
                    out[y, x] |= grid[y, x] == 0
        return out

    marked, _ = _sweep_cell_planes(g, 5, makes_three, batch=96, seed=6)
    assert marked > 2000  # the sweep met many such cells, not only empty planes
    rng = np.random.default_rng(8)
    s = g.init(64)
    while not s.terminated.all():
        obs = g.observe(s)
        for i in np.flatnonzero(~s.terminated):
            grid = g.cells(s, int(i))
            want = np.zeros(grid.shape, bool)
            for col in range(grid.shape[1]):
                empty = np.flatnonzero(grid[:, col] == 0)
                if len(empty):
                    want[empty[-1], col] = True
            np.testing.assert_array_equal(obs[i, 4].astype(bool), want)
        s = g.step(s, games.random_actions(s, rng))


# 9x9 takes minutes on a busy machine (a from_cells rebuild per empty cell): the default run
# checks 5x5, the same code at every size
@pytest.mark.parametrize("size", [5, pytest.param(9, marks=pytest.mark.slow)])
def test_hex_winning_cell_planes_are_the_cells_that_join_a_players_edges(size):
    """Hex's last two derived planes mark an empty cell for a player exactly when that
    player's stone there would join its two edges (checked by placing it and rebuilding
    the position from its cells)."""
    g = games.make(f"hex_{size}x{size}", derived=True)
    marked = _sweep_winning_cell_planes(
        g, g.derived_start + 4, lambda grid, player: g.from_cells(grid[None]).terminated[0], batch=64, seed=size
    )
    assert marked > 200  # the sweep met many winning cells, not only empty planes


def test_othello_derived_planes_are_each_sides_legal_moves():
    """The mover's plane is its legal mask (less the pass); the opponent's is the legal
    mask of the same discs with the opponent to move."""
    g = games.make("othello", derived=True)
    rng = np.random.default_rng(9)
    s, seen = g.init(64), 0
    while not s.terminated.all():
        live = np.flatnonzero(~s.terminated)
        sub = games.take(s, live)
        obs = g.observe(sub).reshape(len(live), -1, 64)
        grid = np.stack([g.cells(s, int(i)) for i in live])
        swapped = g.from_cells(grid, current_player=1 - sub.current_player)
        np.testing.assert_array_equal(obs[:, 2].astype(bool), sub.legal_action_mask[:, :64])
        np.testing.assert_array_equal(obs[:, 3].astype(bool), swapped.legal_action_mask[:, :64])
        seen += int(obs[:, 3].sum())
        s = g.step(s, games.random_actions(s, rng))
    assert seen > 1000


def _connection_cost(grid: np.ndarray, player: int) -> float:
    """The fewest empty cells ``player`` (0: X, top to bottom; 1: O, left to right) must
    still fill to join its edges on ``grid`` (0 empty, 1 X, 2 O), by relaxing every cell
    until nothing changes (Bellman-Ford; the engine uses a breadth-first search)."""
    n = grid.shape[0]
    if player == 1:  # O's left-to-right goal is X's top-to-bottom one on the transpose
        grid, player = np.where(grid == 0, 0, 3 - grid).T, 0
    cost = np.where(grid == 1, 0.0, np.where(grid == 0, 1.0, np.inf))
    dist = np.full((n, n), np.inf)
    dist[0] = cost[0]
    changed = True
    while changed:
        changed = False
        for r in range(n):
            for c in range(n):
                for dr, dc in ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0)):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < n and 0 <= cc < n and dist[rr, cc] + cost[r, c] < dist[r, c]:
                        dist[r, c] = dist[rr, cc] + cost[r, c]
                        changed = True
    return dist[n - 1].min()


@functools.cache
def _bridges(n: int) -> dict:
    """Each cell's bridges on an n x n board: the cells two steps away that share exactly two
    neighbours with it, each with those two (found by counting, not from the engine's table)."""
    near = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))
    touch = {(r, c): {(r + dr, c + dc) for dr, dc in near} for r in range(n) for c in range(n)}
    out = {}
    for a in touch:
        out[a] = []
        for b in touch:
            shared = touch[a] & touch[b]
            if b not in touch[a] and len(shared) == 2 and all(x in touch for x in shared):
                out[a].append((b, tuple(shared)))
    return out


def _bridged_cost(grid: np.ndarray, player: int) -> float:
    """As :func:`_connection_cost`, with a bridge whose two carriers are empty counted as
    joined (either answers an intrusion), and a cell one row in from an edge joined to it
    when its two cells on the edge are empty (the edge template)."""
    n = grid.shape[0]
    if player == 1:
        grid, player = np.where(grid == 0, 0, 3 - grid).T, 0
    cost = np.where(grid == 1, 0.0, np.where(grid == 0, 1.0, np.inf))
    near = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))
    on = lambda r, c: 0 <= r < n and 0 <= c < n  # noqa: E731
    # a bridge: two cells that share exactly two neighbours, found by counting them
    links = {}
    for (r, c), bridges in _bridges(n).items():
        links[r, c] = [(r + dr, c + dc) for dr, dc in near if on(r + dr, c + dc)]
        links[r, c] += [far for far, shared in bridges if all(grid[x] == 0 for x in shared)]

    def template(r, c, row):  # the two cells of edge row ``row`` that (r, c) touches, both empty
        edge = [(r + dr, c + dc) for dr, dc in near if on(r + dr, c + dc) and r + dr == row]
        return len(edge) == 2 and all(grid[x] == 0 for x in edge)

    dist = np.full((n, n), np.inf)
    dist[0] = cost[0]
    for c in range(n):
        if template(1, c, 0):
            dist[1, c] = min(dist[1, c], cost[1, c])
    changed = True
    while changed:
        changed = False
        for r in range(n):
            for c in range(n):
                for rr, cc in links[r, c]:
                    if dist[rr, cc] + cost[r, c] < dist[r, c]:
                        dist[r, c] = dist[rr, cc] + cost[r, c]
                        changed = True
    ends = [dist[n - 1, c] for c in range(n)] + [dist[n - 2, c] for c in range(n) if template(n - 2, c, n - 1)]
    return min(ends)


@pytest.mark.parametrize("size", [5, pytest.param(7, marks=pytest.mark.slow)])
def test_hex_bridged_connection_planes_are_the_cells_that_shorten_it(size):
    """Hex's level-3 planes 8 and 9: the empty cells where that player's stone cuts by one
    the cells it still needs, bridges and edge templates counted as joined; none once a
    player's stones hold its edges together that way. Checked over random games, against a
    cost computed another way (:func:`_bridged_cost`)."""
    g = games.make(f"hex_{size}x{size}", derived=3)

    def on_shortest(grid, player):
        base = _bridged_cost(grid, player)
        return _placing_one(grid, player, lambda trial: _bridged_cost(trial, player) == base - 1)

    marked, checked = _sweep_cell_planes(g, g.derived_start + 8, on_shortest, batch=12, seed=size)
    assert checked > 12 * size and marked > 2 * checked


def _saving_cells(grid: np.ndarray, player: int) -> np.ndarray:
    """bool grid: the empty cells that restore one of ``player``'s bridges the other player
    has entered (the bridge's other shared cell is theirs, its two stones not joined: in
    different groups, not on one edge), or an edge template so entered (a stone one row in from its own edge, its group
    not on that edge, one of its two edge cells theirs). Groups by flood fill."""
    n = grid.shape[0]
    flip = player == 1
    if flip:
        grid = np.where(grid == 0, 0, 3 - grid).T
    near = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))
    group = -np.ones((n, n), int)
    for start in zip(*np.nonzero(grid == 1)):
        if group[start] >= 0:
            continue
        todo, group[start] = [start], start[0] * n + start[1]
        while todo:
            r, c = todo.pop()
            for dr, dc in near:
                x = (r + dr, c + dc)
                if 0 <= x[0] < n and 0 <= x[1] < n and grid[x] == 1 and group[x] < 0:
                    group[x] = group[start]
                    todo.append(x)
    edges = {g: {e for e in (0, n - 1) if g in group[e]} for g in np.unique(group[group >= 0])}
    out = np.zeros((n, n), bool)
    for a, bridges in _bridges(n).items():
        for b, (x, y) in bridges:
            # two stones are joined when one group holds both, or their groups share an edge
            if grid[a] == 1 and grid[b] == 1 and group[a] != group[b] and not edges[group[a]] & edges[group[b]]:
                for mine, theirs in ((x, y), (y, x)):
                    if grid[mine] == 0 and grid[theirs] == 2:
                        out[mine] = True
    for row, edge in ((1, 0), (n - 2, n - 1)):
        on_edge = set(group[edge][grid[edge] == 1])
        for c in range(n):
            if grid[row, c] != 1 or group[row, c] in on_edge:
                continue
            cells = [(edge, c + dc) for dr, dc in near if row + dr == edge and 0 <= c + dc < n]
            if len(cells) == 2 and sorted(grid[x] for x in cells) == [0, 2]:
                out[next(x for x in cells if grid[x] == 0)] = True
    return out.T if flip else out


@pytest.mark.parametrize("size", [5, 9])
def test_hex_bridge_intrusion_planes_are_the_cells_that_save_an_entered_bridge(size):
    """Hex's level-3 planes 10 and 11: the empty cells that save a bridge or edge template of
    that player's the other has entered, checked over random games against a definition
    computed another way (:func:`_saving_cells`)."""
    g = games.make(f"hex_{size}x{size}", derived=3)
    marked, checked = _sweep_cell_planes(g, g.derived_start + 10, _saving_cells, batch=32, seed=size)
    assert checked > 32 * size and marked > checked // 4


@pytest.mark.parametrize("size", [5, pytest.param(7, marks=pytest.mark.slow)])
def test_hex_shortest_connection_planes_are_the_cells_that_shorten_it(size):
    """Hex's level-2 planes mark an empty cell for a player exactly when that player's
    stone there would cut the cells it still needs to join its edges by one: the empty
    cells on one of its shortest connections. Checked over random games, mover's and
    opponent's, against a cost computed another way (:func:`_connection_cost`)."""
    g = games.make(f"hex_{size}x{size}", derived=2)

    def on_shortest(grid, player):
        base = _connection_cost(grid, player)
        return _placing_one(grid, player, lambda trial: _connection_cost(trial, player) == base - 1)

    marked, checked = _sweep_cell_planes(g, g.derived_start + 6, on_shortest, batch=24, seed=size)
    assert checked > 24 * size and marked > 4 * checked  # many positions, each with paths marked
