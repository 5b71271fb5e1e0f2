"""Target sources: where the learner's moves and its regression targets come from.

One small, named piece each, looked up in ``SOURCES`` through :func:`source_for` (the one
place that reads ``TrainConfig.mcts``):

``td``      plain deep Q-learning. Both seats play epsilon-greedy (the learner with the
            online network, the other seat with the frozen copy); a gradient step regresses
            Q(s, a) of the move taken toward the frozen, negated TD target
            ``y = r - gamma * max Q_frozen(s', a')`` (n-step and double-Q as configured),
            ``updates_per_step`` steps after each batched move.
``search``  MCTS mode (docs/algorithm.md). The learner's seat chooses its moves by
            a search with the online network; the root's empirical Q values (for every
            action with ``search_target="completed"``) are stored, and after every
            ``iteration_episodes`` finished episodes a batch of ``iteration_updates``
            gradient steps moves Q(s, .) toward them, plus ``td_weight`` times the TD loss.
            With ``outcome_mix`` a searched move's targets wait for the game's end, and the
            move taken gets its outcome mixed in (:class:`selfplay.replay.PendingTargets`).

A source holds its own state (buffers beyond the replay memory, counters) and says how it
is saved: ``buffers()`` travel in ``--save-replay`` checkpoints and in the chunks Ray actors
send, ``counters()`` in every checkpoint.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

import games
from selfplay.network import masked
from selfplay.targets import SEARCH_TARGETS


def epsilon_at(cfg, moves: int) -> float:
    """The exploration rate after ``moves``: ``eps_start`` to ``eps_end`` over ``eps_steps``."""
    frac = min(1.0, moves / max(1, cfg.eps_steps))
    if cfg.eps_schedule == "linear":
        return cfg.eps_start + frac * (cfg.eps_end - cfg.eps_start)
    if cfg.eps_start == 0:
        return 0.0
    return cfg.eps_start * (max(cfg.eps_end, 1e-6) / cfg.eps_start) ** frac


def td_targets(
    online, frozen, reward, next_obs, done, next_mask, gamma: float, double: bool, n: int = 1
) -> torch.Tensor:
    """y = r where done, else r + (-gamma)^n * max_{a' legal} Q(s', a'; frozen): with n = 1
    the design's r - gamma * max Q; with n plies the mover at s' is the same player (n
    even) or the opponent (n odd), and r is the n-step return. No gradient."""
    with torch.no_grad():
        q_next = masked(frozen(next_obs), next_mask)
        if double:
            a_star = masked(online(next_obs), next_mask).argmax(dim=1, keepdim=True)
            best = q_next.gather(1, a_star).squeeze(1)
        else:
            best = q_next.max(dim=1).values
        best = torch.where(done, torch.zeros_like(best), best)
        return reward + ((-gamma) ** n) * best


class TargetSource:
    """The interface every source implements (the base is the shared part)."""

    name = ""
    #: whether the progress bar shows epsilon (the learner's own exploration)
    shows_epsilon = True
    #: chunks queued at each Ray actor (selfplay.distributed): deep enough that actors
    #: keep playing while the learner steps, shallow enough that the policy lag stays
    #: within --policy-lag (here the weights change after every chunk)
    actor_queue = 2
    #: Ray workers that ``--workers auto`` starts for this source where Ray is installed
    #: and there are CPUs for them (0: one process), chosen by ``scripts/bench_scale.py``:
    #: plain DQN spends most of its time in gradient steps, which workers cannot take over
    #: at a fixed replay ratio (docs/benchmarks.md, "Scaling")
    auto_workers = 0

    def __init__(self, learner):
        self.learner = learner

    @staticmethod
    def describe(cfg) -> str:
        raise NotImplementedError

    @staticmethod
    def extra_memory(cfg, game) -> int:
        """Bytes this source holds beyond the replay memory and the networks."""
        return 0

    def play(self) -> None:
        """One batched move in every parallel game, stored in the learner's memories."""
        raise NotImplementedError

    def loss(self) -> torch.Tensor:
        """The loss of one gradient step (samples its own minibatch)."""
        raise NotImplementedError

    def updates_due(self, batched_moves: int) -> int:
        """Gradient steps due now that ``batched_moves`` more batched moves are stored."""
        raise NotImplementedError

    def buffers(self) -> dict:
        """Named buffers besides the replay memory (``state_dict``/``extend``/``clear``)."""
        return {}

    def counters(self) -> dict:
        return {}

    def restore(self, counters: dict, buffers_restored: bool) -> None:
        """Take back ``counters()`` from a checkpoint (``buffers_restored``: whether its
        buffers were saved and loaded too)."""

    def acting_state(self) -> dict:
        """What the games in play hold beyond the learner's own state (saved with them in
        every checkpoint, so a resume goes on exactly)."""
        return {}

    def load_acting_state(self, d: dict) -> None:
        """Take back ``acting_state()``."""


def search_loss(q_pred: torch.Tensor, q: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The search targets' loss: squared error of every action's Q, weighted per row (the
    weights of a row sum to 1), averaged over the batch."""
    return (weight * (q_pred - q) ** 2).sum(dim=1).mean()


def stored_targets_loss(*, targets, batch_size: int, online, rng, symmetries=None, device="cpu") -> torch.Tensor:
    """:func:`search_loss` of ``online`` on a minibatch of the stored search ``targets``
    (augmented by the board's ``symmetries`` where given)."""
    t = targets.sample(batch_size, rng)
    if symmetries is not None:
        t = targets.augment(t, *symmetries, rng)
    t = {k: torch.from_numpy(v).to(device) for k, v in t.items()}
    online.train()
    return search_loss(online(t["obs"]), t["q"], t["weight"])


def td_loss(*, cfg, replay, online, frozen, rng: np.random.Generator, symmetries=None, device="cpu") -> torch.Tensor:
    """The TD loss on a minibatch of ``replay`` (augmented by the board's ``symmetries``
    where given): Q(s, a) of the move taken, by ``online``, against the frozen, negated
    target of ``frozen`` (:func:`td_targets`). Everything it reads is passed in."""
    b = replay.sample(cfg.batch_size, rng)
    if symmetries is not None:
        b = replay.augment(b, *symmetries, rng)
    batch = {k: torch.from_numpy(v).to(device) for k, v in b.items()}
    y = td_targets(
        online,
        frozen,
        batch["reward"],
        batch["next_obs"],
        batch["done"],
        batch["next_mask"],
        cfg.gamma,
        cfg.double,
        cfg.n_step,
    )
    online.train()
    q = online(batch["obs"]).gather(1, batch["action"][:, None]).squeeze(1)
    return F.smooth_l1_loss(q, y) if cfg.loss == "huber" else F.mse_loss(q, y)


def learner_td_loss(learner) -> torch.Tensor:
    """:func:`td_loss` on the learner's replay memory, networks and random numbers."""
    return td_loss(
        cfg=learner.cfg,
        replay=learner.replay,
        online=learner.online,
        frozen=learner.frozen,
        rng=learner.rng,
        symmetries=learner.symmetries,
        device=learner.device,
    )


def acting_parts(learner) -> dict:
    """What a move of self-play reads of the learner, by the names :func:`td_actions` and
    :func:`search_actions` take: the games in play, their observations, each game's learner
    seat, both networks, the greedy pick, the exploration rate now, the random generator."""
    return dict(
        state=learner.state,
        obs=learner.obs,
        learner_seat=learner.learner_seat,
        online=learner.online,
        frozen=learner.frozen,
        greedy=learner.greedy,
        epsilon=epsilon_at(learner.cfg, learner.moves),
        rng=learner.rng,
    )


def td_actions(*, state, obs, learner_seat, online, frozen, greedy, epsilon: float, rng) -> np.ndarray:
    """Plain DQN's move in every game: the learner's seat plays ``online``'s greedy move, the
    other seat ``frozen``'s (``greedy(net, obs, mask)`` picks them), each replaced by a random
    legal move with probability ``epsilon``."""
    learner_moves = state.current_player == learner_seat
    actions = np.empty(state.batch_size, np.int64)
    for net, sel in ((online, learner_moves), (frozen, ~learner_moves)):
        idx = np.flatnonzero(sel)
        if len(idx):
            actions[idx] = greedy(net, obs[idx], state.legal_action_mask[idx])
    return games.explore(state, actions, epsilon, rng)


def search_actions(
    mcts,
    *,
    game,
    state,
    obs,
    learner_seat,
    online,
    frozen,
    greedy,
    epsilon: float,
    settings,
    rng,
    stop,
    wrap=None,
    endgame=None,
):
    """MCTS mode's move in every game, and the targets of its searches. The learner's seat
    searches with ``online`` and root noise; the other seat searches with ``frozen``
    (``settings.opponent_search``) or plays its greedy move, epsilon-greedy. ``wrap(net)``
    gives the network the leaves are evaluated by (the mean over the board's symmetries),
    ``endgame(sub, q, weight)`` replaces the targets an exact solver settles. Returns the
    actions and, for each search, ``(games, q, weight, their states)``; nothing is stored."""
    st = settings
    learner_moves = state.current_player == learner_seat
    actions = np.zeros(state.batch_size, np.int64)
    target = SEARCH_TARGETS[st.search_target]
    searched = []
    if not st.opponent_search:
        idx = np.flatnonzero(~learner_moves)
        if len(idx):
            sub = games.take(state, idx)
            actions[idx] = games.explore(sub, greedy(frozen, obs[idx], sub.legal_action_mask), epsilon, rng)
    seats = ((online, learner_moves, st.dirichlet_alpha), (frozen, ~learner_moves, 0.0))
    for net, sel, noise in seats[: 2 if st.opponent_search else 1]:
        gumbel = st.gumbel_considered if net is online else 0
        idx = np.flatnonzero(sel)
        if not len(idx):
            continue
        sub = games.take(state, idx)
        if st.leaf == "rollout":
            evaluator = mcts.RolloutEvaluator(game, st.rollouts, rng)
        else:
            evaluator = mcts.NetworkEvaluator(game, wrap(net) if wrap else net, st.prior_temperature)
        res = mcts.search(
            game,
            sub,
            evaluator,
            mcts.SearchConfig(
                simulations=st.simulations,
                dirichlet_alpha=0.0 if gumbel else noise,
                root_all=st.root_all and not gumbel,
                gumbel_considered=gumbel,
            ),
            rng,
            stop=stop,
        )
        q, weight = target(res, sub.legal_action_mask)
        if endgame is not None:
            q, weight = endgame(sub, q, weight)
        early = sub.num_moves < st.temperature_moves
        probs = mcts.shares(res.visits)
        u = rng.random(len(idx)) * probs.sum(axis=1)  # one draw per game, proportional to visits
        sampled = np.minimum((np.cumsum(probs, axis=1) <= u[:, None]).sum(axis=1), probs.shape[1] - 1)
        actions[idx] = res.action if gumbel else np.where(early, sampled, res.action)
        searched.append((idx, q, weight, sub))
    return actions, searched


class TD(TargetSource):
    name = "td"

    @staticmethod
    def describe(cfg) -> str:
        return "DQN"

    def play(self) -> None:
        self.learner.advance(td_actions(**acting_parts(self.learner)))

    def loss(self) -> torch.Tensor:
        return learner_td_loss(self.learner)

    def updates_due(self, batched_moves: int) -> int:
        learner = self.learner
        return learner.cfg.updates_per_step * batched_moves if learner.replay.size >= learner.cfg.learning_starts else 0


class Search(TargetSource):
    name = "search"
    shows_epsilon = False
    #: the weights change once per iteration (bursts of steps), so a deeper queue costs
    #: little policy lag and keeps the actors busy (docs/benchmarks.md, "Scaling")
    actor_queue = 8
    #: acting (the search) is about half of MCTS mode's time, which workers take over
    #: (docs/benchmarks.md, "Scaling")
    auto_workers = 2

    def __init__(self, learner):
        super().__init__(learner)
        from selfplay.replay import PendingTargets, SearchTargets

        cfg, game = learner.cfg, learner.game
        self.targets = SearchTargets(cfg.replay_capacity // 4, game.obs_shape, game.num_actions)
        self.episodes_at_iteration = 0
        #: with symmetric_search, each network's SymmetryMean: id -> (network, its mean)
        self._symmetric_nets: dict = {}
        #: with outcome_mix, the targets of games in play wait for their outcomes here
        self.pending = (
            PendingTargets(cfg.num_envs, game.obs_shape, game.num_actions) if cfg.search.outcome_mix else None
        )

    @staticmethod
    def describe(cfg) -> str:
        st = cfg.search
        root = f", Gumbel root over {st.gumbel_considered} actions" if st.gumbel_considered else ""
        mean = ", leaves by the mean over the board's symmetries" if st.symmetric_search else ""
        return f"MCTS mode, {st.simulations} simulations a move{root}{mean}, targets {st.search_target}"

    @staticmethod
    def extra_memory(cfg, game) -> int:
        """The search-target memory, and the search trees of one batched move: every game
        in play holds a tree of up to twice ``simulations + 1`` node slots (slots grow by
        doubling), each with four float32 and one bool statistic per action and a game
        state, half again while the trees grow."""
        targets = (cfg.replay_capacity // 4) * (2 * int(np.prod(game.obs_shape)) + 4 * game.num_actions)
        one = game.init(1)
        state_bytes = sum(getattr(one, f.name).nbytes for f in dataclasses.fields(one))
        per_node = 17 * game.num_actions + 6 + state_bytes
        trees = int(1.5 * cfg.num_envs * 2 * (cfg.search.simulations + 1) * per_node)
        return targets + trees

    def play(self) -> None:
        """The learner's seat searches with the online network and root noise; the other
        seat searches with the frozen copy, or plays its greedy move, epsilon-greedy
        (``opponent_search``). Each search stores the root's targets; every move is a plain
        transition too. (Searching only a share of the learner's moves, KataGo's playout-cap
        randomisation, was measured and did not pay: docs/experiments.md.)"""
        from selfplay import mcts
        from selfplay.errors import Stopped

        learner = self.learner
        rng_state = learner.rng.bit_generator.state
        try:
            self._play(mcts)
        except Stopped:  # a stop came during a search: nothing was stored, the move replays on resume
            learner.rng.bit_generator.state = rng_state
            raise

    def _play(self, mcts) -> None:
        learner, st = self.learner, self.learner.cfg.search
        actions, searched = search_actions(
            mcts,
            **acting_parts(learner),
            game=learner.game,
            settings=st,
            stop=learner.stop_requested,
            wrap=self._symmetric if st.symmetric_search else None,
            endgame=self._exact_endgame if st.endgame_targets else None,
        )
        obs = learner.obs
        for idx, q, weight, sub in searched:
            if self.pending is None:
                self.targets.add(obs[idx], q, weight)
            else:
                self.pending.add(idx, obs[idx], q, weight, actions[idx], sub.current_player, sub.num_moves)
        done, rewards, plies = learner.advance(actions)
        if self.pending is not None and done.any():
            envs = np.flatnonzero(done)
            self.targets.add(*self.pending.finish(envs, rewards[envs], plies[envs], learner.cfg.gamma, st.outcome_mix))

    def _exact_endgame(self, sub, q, weight):
        """Where the game's endgame solver settles a position (``endgame_targets`` empties or
        fewer), every legal move's exact outcome replaces the search's values, weighted alike."""
        from selfplay.profiles import profile

        solved, values = profile(self.learner.cfg.game).endgame_values(sub, self.learner.cfg.search.endgame_targets)
        if solved.any():
            legal = sub.legal_action_mask[solved]
            q, weight = q.copy(), weight.copy()
            q[solved] = np.where(legal, values[solved], 0.0)
            weight[solved] = legal / legal.sum(axis=1, keepdims=True)
        return q, weight

    def _symmetric(self, net):
        """``net`` averaged over the board's symmetries (``network.SymmetryMean``), built once
        per network: it reads the network's weights as they change."""
        from selfplay.network import symmetry_mean

        if id(net) not in self._symmetric_nets:
            self._symmetric_nets[id(net)] = (net, symmetry_mean(net, self.learner.game))
        return self._symmetric_nets[id(net)][1]

    def loss(self) -> torch.Tensor:
        learner, st = self.learner, self.learner.cfg.search
        td = learner_td_loss(learner) if st.td_weight > 0 else 0.0  # search targets only: no TD term to compute
        searched = stored_targets_loss(
            targets=self.targets,
            batch_size=learner.cfg.batch_size,
            online=learner.online,
            rng=learner.rng,
            symmetries=learner.symmetries,
            device=learner.device,
        )
        return searched + st.td_weight * td

    def updates_due(self, batched_moves: int) -> int:
        learner, st = self.learner, self.learner.cfg.search
        due = (learner.episodes - self.episodes_at_iteration) // st.iteration_episodes
        if not (due and self.targets.size):
            return 0
        self.episodes_at_iteration = learner.episodes
        return due * st.iteration_updates

    def buffers(self) -> dict:
        return {"search_targets": self.targets}

    def counters(self) -> dict:
        return {"episodes_at_iteration": self.episodes_at_iteration}

    def restore(self, counters: dict, buffers_restored: bool) -> None:
        # without saved search targets (no --save-replay) a fresh iteration starts
        episodes = self.learner.episodes
        self.episodes_at_iteration = (
            int(counters.get("episodes_at_iteration", episodes)) if buffers_restored else episodes
        )

    def acting_state(self) -> dict:
        return {} if self.pending is None else {"pending_targets": self.pending.state_dict()}

    def load_acting_state(self, d: dict) -> None:
        if self.pending is not None and "pending_targets" in d:
            self.pending.load_state_dict(d["pending_targets"])


#: every target source, by name
SOURCES: dict[str, type[TargetSource]] = {c.name: c for c in (TD, Search)}


def source_for(cfg) -> type[TargetSource]:
    """The target source a config asks for (``--mcts`` selects search)."""
    return SOURCES["search" if cfg.mcts else "td"]
