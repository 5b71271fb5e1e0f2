import numpy as np
import pytest

from selfplay.replay import Replay


def _batch(n, start, obs_shape=(2, 6, 7), num_actions=7):
    rng = np.random.default_rng(start)
    obs = (rng.random((n, *obs_shape)) < 0.3).astype(np.float32)
    nxt = (rng.random((n, *obs_shape)) < 0.3).astype(np.float32)
    return (
        obs,
        np.arange(start, start + n) % num_actions,
        np.full(n, start, np.float32) / 100,
        nxt,
        np.arange(n) % 2 == 0,
        rng.random((n, num_actions)) < 0.5,
    )


def test_connect_four_transition_fits_in_64_bytes():
    r = Replay(10, (2, 6, 7), 7, binary=True)
    assert r.bytes_per_transition <= 64
    assert r.bytes_per_transition == 28


def test_wrap_around_keeps_the_newest_and_round_trips_exactly():
    r = Replay(5, (2, 6, 7), 7, binary=True)
    b1, b2 = _batch(3, 0), _batch(4, 10)
    r.add(*b1)
    r.add(*b2)
    assert r.size == 5 and r.pos == 2
    # slots 0,1 hold the last two of batch 2; slots 2,3,4 the first three of batch 2... (7 added, capacity 5)
    obs = r._unpack(r.obs)
    np.testing.assert_array_equal(obs[0], b2[0][2])
    np.testing.assert_array_equal(obs[1], b2[0][3])
    np.testing.assert_array_equal(obs[2], b1[0][2])
    np.testing.assert_array_equal(obs[3], b2[0][0])
    np.testing.assert_array_equal(r._unpack(r.next_obs)[4], b2[3][1])
    assert r.action[0] == b2[1][2] and r.reward[4] == np.float16(0.1)


def test_sampling_returns_stored_transitions_uniformly():
    r = Replay(100, (2, 3, 3), 9, binary=True)
    obs, act, rew, nxt, done, mask = _batch(100, 0, (2, 3, 3), 9)
    r.add(obs, act, rew, nxt, done, mask)
    rng = np.random.default_rng(0)
    s = r.sample(20_000, rng)
    # each sampled row equals some stored row, with its own action, mask and flags
    keys = {o.tobytes(): i for i, o in enumerate(obs)}
    for k in range(0, 20_000, 997):
        i = keys[s["obs"][k].tobytes()]
        assert s["action"][k] == act[i] and s["done"][k] == done[i]
        np.testing.assert_array_equal(s["next_mask"][k], mask[i])
        np.testing.assert_array_equal(s["next_obs"][k], nxt[i])
    counts = np.bincount([keys[o.tobytes()] for o in s["obs"][:5000]], minlength=100)
    assert counts.min() > 20 and counts.max() < 85  # ~50 each


def test_float_observations_and_empty_sampling():
    r = Replay(4, (3, 2, 2), 4, binary=False)
    with pytest.raises(ValueError):
        r.sample(1, np.random.default_rng(0))
    obs = np.full((1, 3, 2, 2), 0.25, np.float32)
    r.add(obs, np.array([1]), np.array([0.5]), obs * 2, np.array([False]), np.ones((1, 4), bool))
    s = r.sample(1, np.random.default_rng(0))
    np.testing.assert_allclose(s["obs"], obs)
    np.testing.assert_allclose(s["next_obs"], obs * 2)


@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four"])
def test_symmetry_augmentation_gives_true_transitions(name):
    """An augmented transition is the transition of the mirrored/rotated game."""
    import games

    g = games.make(name)
    cells, actions = g.symmetries()
    assert len(cells) == (8 if name == "tic_tac_toe" else 2)
    np.testing.assert_array_equal(cells[0], np.arange(cells.shape[1]))
    rng = np.random.default_rng(0)
    s = g.init(64)
    for _ in range(3):
        s = g.step(s, games.random_actions(s, rng))
    a = games.random_actions(s, rng)
    nxt = g.step(s, a)
    r = Replay(64, g.obs_shape, g.num_actions, binary=True)
    r.add(g.observe(s), a, np.zeros(64), g.observe(nxt), nxt.terminated, nxt.legal_action_mask)
    batch = {
        "obs": g.observe(s),
        "action": a,
        "reward": np.zeros(64, np.float32),
        "next_obs": g.observe(nxt),
        "done": nxt.terminated,
        "next_mask": nxt.legal_action_mask,
    }
    aug = r.augment(batch, cells, actions, g.symmetry_channels(), rng)
    for i in range(64):
        own_next_opp = aug["next_obs"][i, 1].ravel()
        # the mover's stones after the move = before + exactly one new stone, in the action's column/cell
        diff = own_next_opp - aug["obs"][i, 0].ravel()
        assert diff.sum() == 1 and diff.min() == 0
        cell = int(np.flatnonzero(diff)[0])
        col = cell % g.board_shape[1]
        assert (cell if name == "tic_tac_toe" else col) == aug["action"][i]
        # the legal mask of the next position agrees with its planes
        occupied = (aug["next_obs"][i, 0] + aug["next_obs"][i, 1]).reshape(g.board_shape)
        if name == "tic_tac_toe" and not aug["done"][i]:
            np.testing.assert_array_equal(aug["next_mask"][i], occupied.ravel() == 0)
        if name == "connect_four" and not aug["done"][i]:
            np.testing.assert_array_equal(aug["next_mask"][i], occupied[0] == 0)
