"""The self-play DQN target, the learner's mechanics and its learning, by known answers."""

import dataclasses

import numpy as np
import pytest
import torch
from boards import board

import games
from selfplay import dqn, profiles, sources
from selfplay.agents import QAgent
from selfplay.config import NetConfig
from selfplay.network import build, masked


def _nets(seed=0):
    torch.manual_seed(seed)
    online = build(NetConfig(kind="mlp", hidden=16, layers=1), (2, 3, 3), 9)
    frozen = build(NetConfig(kind="mlp", hidden=16, layers=1), (2, 3, 3), 9)
    return online, frozen


def test_terminal_target_equals_reward():
    online, frozen = _nets()
    next_obs = torch.rand(3, 2, 3, 3)
    reward = torch.tensor([1.0, 0.0, -1.0])
    y = sources.td_targets(
        online,
        frozen,
        reward,
        next_obs,
        torch.tensor([True] * 3),
        torch.zeros(3, 9, dtype=torch.bool),
        gamma=0.9,
        double=False,
    )
    torch.testing.assert_close(y, reward)


def test_nonterminal_target_is_minus_gamma_times_frozen_best_legal_value():
    online, frozen = _nets()
    next_obs = torch.rand(4, 2, 3, 3)
    mask = torch.zeros(4, 9, dtype=torch.bool)
    mask[:, [2, 5, 7]] = True
    with torch.no_grad():
        q = frozen(next_obs)
    expected = 0.0 - 0.9 * q[:, [2, 5, 7]].max(dim=1).values
    y = sources.td_targets(online, frozen, torch.zeros(4), next_obs, torch.zeros(4, dtype=torch.bool), mask, 0.9, False)
    torch.testing.assert_close(y, expected)
    # the illegal actions' values do not count even when they are the largest
    assert not torch.allclose(y, -0.9 * q.max(dim=1).values)
    # double DQN: the online net picks a', the frozen net values it
    a_star = masked(online(next_obs), mask).argmax(dim=1)
    y2 = sources.td_targets(online, frozen, torch.zeros(4), next_obs, torch.zeros(4, dtype=torch.bool), mask, 0.9, True)
    torch.testing.assert_close(y2, -0.9 * q[torch.arange(4), a_star])


def test_illegal_actions_never_win_argmax():
    g = games.make("tic_tac_toe")
    net = build(NetConfig(kind="mlp", hidden=8, layers=1), g.obs_shape, 9)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.body[-2].bias.copy_(torch.tensor([5.0, 4, 3, 2, 1, 0, -1, -2, -3]))  # cell 0 looks best
    s = g.step(g.init(1), np.array([0]))  # ...but X has taken it
    agent = QAgent(g, net)
    q = agent.q_values(s)
    assert q[0, 0] == -np.inf and agent.act(s, np.random.default_rng(0))[0] == 1


def _learner(**kw):
    cfg = profiles.default_config(
        "tic_tac_toe",
        num_envs=8,
        batch_size=32,
        learning_starts=32,
        steps=2_000,
        eval_every=0,
        checkpoint_every=0,
        seed=3,
        net=NetConfig(kind="mlp", hidden=32, layers=1),
        **kw,
    )
    return dqn.Learner(cfg)


def test_no_gradient_reaches_the_frozen_copy_and_it_catches_up_on_schedule():
    learner = _learner(target_update=5)
    while learner.replay.size < 64:
        learner.play()
    before = [p.clone() for p in learner.frozen.parameters()]
    for _ in range(4):
        learner.update()
    assert all(p.grad is None for p in learner.frozen.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, learner.frozen.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(learner.online.parameters(), learner.frozen.parameters()))
    learner.update()  # the 5th update: hard copy
    assert all(torch.equal(a, b) for a, b in zip(learner.online.parameters(), learner.frozen.parameters()))


def test_polyak_averaging_moves_frozen_partway():
    learner = _learner(tau=0.5)
    while learner.replay.size < 64:
        learner.play()
    f0 = [p.clone() for p in learner.frozen.parameters()]
    learner.update()
    for a, f, o in zip(f0, learner.frozen.parameters(), learner.online.parameters()):
        assert torch.allclose(f, 0.5 * a + 0.5 * o, atol=1e-6)


def test_self_play_stores_both_seats_with_mover_rewards():
    learner = _learner(eps_start=1.0, eps_end=1.0)
    for _ in range(30):
        learner.play()
    n = learner.replay.size
    assert n == 30 * 8
    # every game's learner alternates seats; both seats are played
    assert set(np.unique(learner.learner_seat)) == {0, 1}
    rewards = learner.replay.reward[:n].astype(np.float32)
    done = learner.replay.done[:n]
    # a reward is only ever earned by the move that ends the game, and it is a win (+1)
    assert (rewards[~done] == 0).all() and (rewards[done] >= 0).all() and (rewards[done] == 1).any()


def test_epsilon_schedules():
    cfg = profiles.default_config("tic_tac_toe", eps_start=1.0, eps_end=0.1, eps_steps=100)
    assert sources.epsilon_at(cfg, 0) == 1.0 and abs(sources.epsilon_at(cfg, 50) - 0.55) < 1e-9
    assert sources.epsilon_at(cfg, 10_000) == pytest.approx(0.1)
    exp = dataclasses.replace(cfg, eps_schedule="exp")
    assert sources.epsilon_at(exp, 50) == pytest.approx(1.0 * 0.1**0.5)


def test_config_validation():
    with pytest.raises(ValueError, match="gamma"):
        profiles.default_config("tic_tac_toe", gamma=1.5)
    with pytest.raises(ValueError, match="eps_end"):
        profiles.default_config("tic_tac_toe", eps_start=0.1, eps_end=0.5)
    with pytest.raises(ValueError, match="kind"):
        NetConfig(kind="transformer")


@pytest.mark.parametrize("game", ["connect_four", "othello", "hex_9x9"])
def test_the_strong_preset_is_mcts_mode_bounded_by_minutes_and_options_beside_it_win(game):
    mcts = profiles.default_config(game, mcts=True)
    strong = profiles.default_config(game, preset="strong")
    # the preset starts from MCTS mode's settings for the game and changes only the run's
    # bounds, and on connect four the network's width, the simulations a move, both seats
    # searching with the online network and bfloat16 arithmetic (its 3-hour runs,
    # training/c4_w512, c4_s32, c4_both, c4_w768_lr)
    assert strong.mcts
    if game in ("connect_four", "othello"):
        assert strong.net == dataclasses.replace(mcts.net, hidden=768) and mcts.net.hidden == 256
        mixed = {"othello": {"search_target": "mixed"}}.get(game, {})  # connect four's MCTS mode has it already
        assert strong.search == dataclasses.replace(mcts.search, simulations=32, opponent_search=True, **mixed)
        assert mcts.search.simulations == 16 and not mcts.search.opponent_search
        assert strong.target_update == 100 and mcts.target_update == 500
        assert strong.precision == "bf16" and mcts.precision == "fp32"
        assert profiles.default_config(game, preset="strong", precision="fp32").precision == "fp32"
        # Adam's rate lowered at minute 100 of the run's clock (training/c4_w768_lr)
        assert (strong.lr, strong.lr_final, strong.lr_final_at) == (mcts.lr, 1.5e-4, 100)
        assert [strong.lr_at(s) for s in (0, 5999, 6000, 10_800)] == [mcts.lr, mcts.lr, 1.5e-4, 1.5e-4]
        assert mcts.lr_final == 0 and mcts.lr_at(10_800) == mcts.lr
        extra = {"target_update", "precision", "lr_final", "lr_final_at"} | (
            {"derived"} if game == "othello" else set()
        )
        assert game != "othello" or (strong.derived, mcts.derived) == (1, 0)
    else:
        # Hex: the same recipe with a 32-channel, 3-block ResNet (docs/experiments.md, "a
        # convolutional network over two hours"), still in the canonical frame
        assert mcts.net.kind == "mlp" and mcts.net.canonical
        assert strong.net == dataclasses.replace(mcts.net, kind="resnet", channels=32, blocks=3, hidden=256)
        assert strong.search == dataclasses.replace(mcts.search, simulations=32, opponent_search=True)
        recipe = (strong.target_update, strong.precision, strong.lr_final, strong.lr_final_at)
        assert recipe == (100, "bf16", 1.5e-4, 100)
        assert strong.checkpoint_every == 1_000_000
        extra = {"target_update", "precision", "lr_final", "lr_final_at"}
    assert strong.steps >= 100_000_000 > mcts.steps
    changed = {f.name for f in dataclasses.fields(strong) if getattr(strong, f.name) != getattr(mcts, f.name)}
    assert changed <= {"steps", "eval_every", "checkpoint_every", "net", "search"} | extra
    assert profiles.default_config(game, preset="strong", lr=1.5e-4, steps=None).lr == 1.5e-4


@pytest.mark.parametrize(
    "precision, steps",
    [
        ("fp32", 12_000),  # the default run's: ~5 s alone (three seeds passed at 12k)
        pytest.param("fp32", 60_000, marks=pytest.mark.slow),
        pytest.param("bf16", 60_000, marks=pytest.mark.slow),
    ],
)
def test_learns_win_in_one_and_must_block_in_tic_tac_toe(precision, steps):
    """A short run learns the two tactical basics (known answers), in float32 and in
    bfloat16 arithmetic."""
    cfg = profiles.default_config(
        "tic_tac_toe",
        steps=steps,
        updates_per_step=4,
        eval_every=0,
        checkpoint_every=0,
        seed=1,
        replay_capacity=1_000_000,
        precision=precision,
    )
    learner = dqn.Learner(cfg)
    dqn.train(learner)
    agent = QAgent(learner.game, learner.online)
    rng = np.random.default_rng(0)
    win = board(
        "tic_tac_toe",
        """
        X X .
        O O .
        . . .
    """,
    )
    assert win.current_player[0] == 0 and agent.act(win, rng)[0] == 2  # X completes the top row
    block = board(
        "tic_tac_toe",
        """
        X X .
        . O .
        . . .
    """,
    )
    assert block.current_player[0] == 1 and agent.act(block, rng)[0] == 2  # O must block the top row


def test_labelled_connect_four_positions_rebuild_and_score_a_perfect_player():
    """The shipped labels are consistent: the solver-perfect player keeps 100%, a uniformly
    random player about what the labels predict for it."""
    from selfplay import exact
    from selfplay.c4solver import PerfectAgent

    data = exact.load_c4_positions()
    assert len(data["moves"]) >= 1000 and set(data["phase"]) == {"early", "middle", "late"}

    class LabelPerfect:
        def act(self, state, rng):
            vals = data["values"].astype(int)
            return np.argmax(np.where(vals > -9, vals, -99), axis=1)

    report = exact.exact_connect_four(LabelPerfect(), np.random.default_rng(0))
    assert report["kept"] == 1.0 and report["kept_nontrivial"] == 1.0
    # the positions are rebuilt correctly: the real solver agrees on a sample of late ones
    late = np.flatnonzero(data["phase"] == "late")[:20]
    g = games.make("connect_four")
    states = exact.states_from_moves(g, data["moves"][late].astype(np.int64))
    chosen = PerfectAgent().act(states, np.random.default_rng(0))
    vals = data["values"][late].astype(int)
    assert (vals[np.arange(len(late)), chosen] == np.where(vals > -9, vals, -99).max(axis=1)).all()


def test_n_step_target_bootstraps_with_the_sign_of_the_mover_n_plies_on():
    online, frozen = _nets()
    next_obs = torch.rand(4, 2, 3, 3)
    mask = torch.ones(4, 9, dtype=torch.bool)
    with torch.no_grad():
        best = frozen(next_obs).max(dim=1).values
    for n in (1, 2, 3):
        y = sources.td_targets(
            online, frozen, torch.full((4,), 0.25), next_obs, torch.zeros(4, dtype=torch.bool), mask, 0.9, False, n
        )
        torch.testing.assert_close(y, 0.25 + (-0.9) ** n * best)  # same player to move at s_t+n when n is even


@pytest.mark.parametrize("n", [2, 3])
def test_n_step_returns_sum_each_movers_reward_with_alternating_sign_up_to_the_end(n):
    """X wins on its third move (ply 5): the stored returns of the plies before it carry
    the win with the sign and discount of each ply's mover; the window stops at the end."""
    cfg = profiles.default_config("tic_tac_toe", num_envs=1, n_step=n, gamma=0.9, augment=False, eval_every=0)
    learner = dqn.Learner(cfg)
    for a in (0, 3, 1, 4, 2):  # X a1, O a2, X b1, O b2, X c1 wins
        learner.advance(np.array([a]))
    learner.advance(np.array([4]))  # the next game starts; it must not leak into the last window
    size = learner.replay.size
    rewards = learner.replay.reward[:size].astype(np.float32)
    done = learner.replay.done[:size]
    # plies 0..5-n emitted so far (ply k's window reaches ply k + n - 1)
    assert size == 6 - n + 1
    for k in range(size):
        to_end = 4 - k  # plies from k to the winning ply
        expected = (-0.9) ** to_end if to_end < n else 0.0
        assert abs(rewards[k] - expected) < 2e-3, (k, rewards[k], expected)
        assert done[k] == (to_end < n)


# whole runs are slow tests; the default run's known answer is tests/test_runner.py's run
# that stops at the first evaluation finding exact play
@pytest.mark.slow
@pytest.mark.parametrize("mcts", [None, True])
def test_tic_tac_toe_reaches_exact_play_from_the_defaults_in_plain_and_mcts_mode(mcts):
    """Every one of the 4,520 positions keeps its best outcome, and minimax never wins."""
    from selfplay.exact import exact_tic_tac_toe

    cfg = profiles.default_config("tic_tac_toe", mcts=mcts, eval_every=0, checkpoint_every=0)
    learner = dqn.Learner(cfg)
    dqn.train(learner)
    ex = exact_tic_tac_toe(QAgent(learner.game, learner.online), np.random.default_rng(0), num_games=50)
    assert ex["positions"] == 4520 and ex["kept"] == 1.0 and ex["vs_perfect"]["losses"] == 0


@pytest.mark.parametrize("mcts", [False, True])
def test_bf16_runs_the_network_in_bfloat16_and_keeps_weights_optimizer_and_q_in_float32(mcts):
    cfg = profiles.default_config(
        "connect_four", mcts=mcts, precision="bf16", num_envs=32, learning_starts=64, batch_size=32
    )
    learner = dqn.Learner(cfg)
    seen = set()
    for net in (learner.online, learner.frozen):
        for m in net.modules():
            if isinstance(m, torch.nn.Linear):
                m.register_forward_hook(lambda mod, args, out: seen.add(out.dtype))
    while learner.updates == 0:
        learner.train_step()
    assert seen == {torch.bfloat16}  # every matrix product of play and of the gradient steps
    assert all(p.dtype == torch.float32 for p in learner.online.parameters())
    assert all(
        v.dtype == torch.float32
        for st in learner.optimizer.state.values()
        for k, v in st.items()
        if torch.is_tensor(v) and k != "step"
    )
    seen.clear()
    q = QAgent(learner.game, learner.online).q_values(learner.state)  # outside the run: float32
    assert seen == {torch.float32} and q.dtype == np.float32
    with learner.autocast():
        assert learner.online(torch.zeros(2, *learner.game.obs_shape)).dtype == torch.float32  # Q itself stays float32


@pytest.mark.parametrize("native", [True, False])
def test_train_says_bf16_and_warns_where_the_cpu_has_no_native_bfloat16(tmp_path, monkeypatch, native):
    from click.testing import CliRunner

    from selfplay import network
    from selfplay.cli import cli

    monkeypatch.setattr(network, "native_bf16", lambda: native)
    args = ["train", "--game", "tic_tac_toe", "--out", str(tmp_path / "r"), "--steps", "256"]
    args += ["--learning-starts", "64", "--eval-every", "0", "--eval-games", "1", "--device", "cpu"]
    r = CliRunner().invoke(cli, [*args, "--precision", "bf16", "--workers", "0"])
    assert r.exit_code == 0, r.output
    assert "bfloat16 arithmetic" in r.output
    assert ("no native bfloat16" in r.output) is (not native)
    r = CliRunner().invoke(cli, [*args, "--force", "--workers", "0"])
    assert r.exit_code == 0 and "bfloat16" not in r.output


def test_network_settings_given_by_name_change_only_those_over_the_game_and_the_preset():
    from selfplay import profiles

    hex_net = profiles.default_config("hex_9x9", net={"hidden": 64}).net
    assert (hex_net.hidden, hex_net.layers, hex_net.canonical) == (64, 3, True)  # Hex's canonical frame kept
    strong = profiles.default_config("othello", preset="strong", net={"layers": 2})
    assert (strong.net.hidden, strong.net.layers, strong.precision) == (768, 2, "bf16")
