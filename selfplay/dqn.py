"""Self-play deep Q-learning with a frozen, negated opponent as the target.

Glossary (used only in this module):
    Q(s, a; theta)   the online network's value of action a for the player to move at s
    theta-           the frozen older copy: the target network and the self-play opponent
    y                the TD target

For a transition (s, a, r, s', done) seen from the mover at s, where s' is the position
after the move (the opponent to move) and r the mover's reward:

    y = r                                               if a ended the game
    y = r - gamma * max_{a' legal in s'} Q(s', a'; theta-)    otherwise

The sign flips because the frozen copy's value at s' is the opponent's. With
``double=True`` the maximising a' is chosen by the online network and valued by the
frozen one. No gradient flows through y (semi-gradient). The learner plays both seats
equally often against the frozen copy; every transition from either seat goes into
replay memory; the frozen copy catches up every ``target_update`` gradient steps
(hard copy, or Polyak averaging with ``tau < 1`` applied at every step).
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import torch

import games
from selfplay import checkpoint, serial
from selfplay.config import TrainConfig
from selfplay.network import build_for, legal_q
from selfplay.replay import Replay
from selfplay.sources import source_for


class Learner:
    """Online network, frozen copy, optimizer, replay memory and the self-play batch."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.game = games.make(cfg.game, history=cfg.history, derived=cfg.derived)
        check_memory(cfg, self.game)
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.device = torch.device("cpu")
        self.online = build_for(cfg.net, self.game)
        self.frozen = copy.deepcopy(self.online)
        for p in self.frozen.parameters():
            p.requires_grad_(False)
        self.frozen.eval()
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=cfg.lr, fused=True)
        self.replay = Replay(cfg.replay_capacity, self.game.obs_shape, self.game.num_actions, self.game.binary_obs)
        symmetries = getattr(self.game, "symmetries", None)
        #: (cells, actions, channels) of the board's symmetries, for augmentation
        self.symmetries = (*symmetries(), self.game.symmetry_channels()) if cfg.augment and symmetries else None
        self.moves = 0
        self.updates = 0
        self.episodes = 0
        self.last_loss = float("nan")
        self.last_eval: dict = {}
        #: times the frozen copy changed in this process (Ray's pool sends it again only then)
        self.frozen_changes = 0
        self.wall_time = 0.0
        #: where a resumed learner came from, and whether that checkpoint held the replay
        #: memory (a resume then keeps saving it: ``--save-replay`` is the run's, not the segment's)
        self.resumed_from = None
        self.replay_saved = False
        #: what a resume passed over and why (said at the start of the run)
        self.resume_notes: list[str] = []
        #: the run's stop flag, asked inside long steps (a search ends its waves early when
        #: it turns true); the runner sets it for the length of a run
        self.stop_requested = lambda: False
        self._fresh = self.game.init(cfg.num_envs)
        self._fresh_obs = self.game.observe(self._fresh)
        self.state = self._fresh
        self.obs = self._fresh_obs
        self.learner_seat = (np.arange(cfg.num_envs) % 2).astype(np.int8)
        #: n-step mode: the last plies of every game, (obs, action, reward, next_obs, done,
        #: next_mask) per batched move, oldest first
        self.pending: list[tuple] = []
        self.source = source_for(cfg)(self)

    def set_lr(self, seconds: float) -> float:
        """Give the optimizer the rate of that moment of the run's own clock
        (:meth:`TrainConfig.lr_at`), and return it."""
        lr = self.cfg.lr_at(seconds)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def to(self, device) -> Learner:
        """Move the networks and the optimizer's state to ``device`` (acting copies
        observations there and results back; replay memory stays in host memory)."""
        self.device = torch.device(device)
        self.online.to(self.device)
        self.frozen.to(self.device)
        for st in self.optimizer.state.values():
            for k, v in st.items():
                if torch.is_tensor(v):  # the fused kernel keeps ``step`` beside the weights too
                    st[k] = v.to(self.device)
        return self

    def load_optimizer(self, state: dict) -> None:
        """Take back Adam's state dict, and keep the fused kernel (Adam's one-pass update:
        4x faster than its per-tensor loop on a CPU core, and it scales with threads;
        checkpoints written before it was used name the loop)."""
        self.optimizer.load_state_dict(state)
        for group in self.optimizer.param_groups:
            group.update(fused=True, foreach=None)
        self.to(self.device)

    # -------------------------------------------------------------- acting
    def greedy(self, net, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``net``'s greedy legal move for each observation."""
        net.eval()
        return legal_q(net, obs, mask).argmax(dim=1).numpy()

    def advance(self, actions: np.ndarray):
        """Step every game, store the transitions, restart finished games. Returns the
        games that ended, with their final rewards per player and their lengths in plies:
        (done bool[B], rewards float[B, players], plies int[B])."""
        s, obs, cfg = self.state, self.obs, self.cfg
        nxt = self.game.step(s, actions)
        next_obs = self.game.observe(nxt)
        mover_reward = nxt.rewards[np.arange(cfg.num_envs), s.current_player.astype(np.int64)]
        if cfg.n_step == 1:
            self.replay.add(obs, actions, mover_reward, next_obs, nxt.terminated, nxt.legal_action_mask)
        else:
            self._add_n_step(obs, actions, mover_reward, next_obs, nxt.terminated, nxt.legal_action_mask)
        self.moves += cfg.num_envs
        done = nxt.terminated
        ended = (done, nxt.rewards, nxt.num_moves)
        if done.any():
            self.episodes += int(done.sum())
            nxt = games.where(done, self._fresh, nxt)
            next_obs = np.where(done[:, None, None, None], self._fresh_obs, next_obs)
            # a finished game's learner switches seat, so both seats are played equally
            self.learner_seat = np.where(done, 1 - self.learner_seat, self.learner_seat).astype(np.int8)
        self.state, self.obs = nxt, next_obs
        return ended

    def _add_n_step(self, obs, actions, reward, next_obs, done, next_mask) -> None:
        """Keep the last n plies of every game; once the window is full, store the oldest
        ply's n-step transition: the return sum_k (-gamma)^k r_t+k up to the game's end or
        n plies (each reward is its own mover's, so the sign alternates), and the position
        n plies on (no bootstrap where the game ended inside the window)."""
        n, gamma = self.cfg.n_step, self.cfg.gamma
        self.pending.append((obs, actions, reward, next_obs, done, next_mask))
        if len(self.pending) < n:
            return
        o0, a0, _, _, _, _ = self.pending[0]
        ret = np.zeros(len(a0), np.float64)
        ended = np.zeros(len(a0), bool)
        last_obs, last_mask = next_obs.copy(), next_mask.copy()
        for k, (_, _, r, nobs, d, nmask) in enumerate(self.pending):
            live = ~ended
            ret += np.where(live, ((-gamma) ** k) * r, 0.0)
            stop = live & d  # the game ends at this ply: its position closes the window
            last_obs[stop], last_mask[stop] = nobs[stop], nmask[stop]
            ended |= d
        self.replay.add(o0, a0, ret.astype(np.float32), last_obs, ended, last_mask)
        self.pending.pop(0)

    # -------------------------------------------------------------- learning
    def autocast(self):
        """The run's precision for the network's calls (``cfg.precision``): bfloat16
        autocast on the learner's device, or float32 as it is."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.precision == "bf16")

    def update(self) -> float:
        """One gradient step on the target source's loss; returns the loss."""
        with self.autocast():
            loss = self.source.loss()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        self._catch_up()
        return loss.item()

    @torch.no_grad()
    def _catch_up(self) -> None:
        cfg = self.cfg
        if cfg.tau < 1.0:
            for pf, po in zip(self.frozen.parameters(), self.online.parameters()):
                pf.mul_(1 - cfg.tau).add_(po, alpha=cfg.tau)
            for bf, bo in zip(self.frozen.buffers(), self.online.buffers()):
                bf.copy_(bo)
            self.frozen_changes += 1
        elif self.updates % cfg.target_update == 0:
            self.frozen.load_state_dict(self.online.state_dict())
            self.frozen_changes += 1

    def learn(self, batched_moves: int = 1) -> None:
        """The gradient steps due once ``batched_moves`` more batched moves are stored
        (the target source says how many: :mod:`selfplay.sources`)."""
        for _ in range(self.source.updates_due(batched_moves)):
            self.last_loss = self.update()

    def absorb(self, buffers: dict, *, moves: int, episodes: int) -> None:
        """Take in what self-play elsewhere produced (a Ray actor's chunk): each memory's
        positions (``buffers``, by the names of :meth:`buffers`), and its counts."""
        for name, buf in self.buffers().items():
            buf.extend(buffers[name])
        self.moves += int(moves)
        self.episodes += int(episodes)

    def play(self) -> None:
        """One batched move of self-play, as the target source plays it."""
        with self.autocast():
            self.source.play()

    def state_dict(self, with_replay: bool = False) -> dict:
        """Everything a resume needs, as tensors, numbers and strings (``torch.save`` with
        ``weights_only`` loading): the weights, the frozen copy, the optimizer, the
        counters, the RNGs, the games in play and the last evaluation; with
        ``with_replay`` the replay memory and the target source's own buffers too."""
        d = {
            "weights": self.online.state_dict(),
            "frozen_weights": self.frozen.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "counters": {
                "moves": self.moves,
                "updates": self.updates,
                "episodes": self.episodes,
                "wall_time": float(self.wall_time),
                **self.source.counters(),
            },
            "rng": {"numpy": json.dumps(self.rng.bit_generator.state), "torch": torch.get_rng_state()},
            "selfplay": {
                "state": serial.state_to_dict(self.state),
                "learner_seat": serial.to_tensor(self.learner_seat),
                "pending": [[serial.to_tensor(np.asarray(a)) for a in ply] for ply in self.pending],
                "source": {
                    name: {k: serial.to_tensor(np.asarray(v)) for k, v in part.items()}
                    for name, part in self.source.acting_state().items()
                },
            },
            "last_eval": json.dumps(self.last_eval),
        }
        if with_replay:
            for name, buf in self.buffers().items():
                d[name] = {
                    k: (serial.to_tensor(v) if isinstance(v, np.ndarray) else v) for k, v in buf.state_dict().items()
                }
        return d

    def load_state_dict(self, d: dict, with_replay: bool = True) -> None:
        """Take back a :meth:`state_dict` (the replay memory and the source's buffers only
        with ``with_replay`` and where they were saved); the learner then plays on exactly
        as the one that was saved."""
        self.online.load_state_dict(d["weights"])
        self.frozen.load_state_dict(d["frozen_weights"])
        self.load_optimizer(d["optimizer"])
        c = d["counters"]
        self.moves, self.updates, self.episodes = int(c["moves"]), int(c["updates"]), int(c["episodes"])
        self.wall_time = float(c.get("wall_time", 0.0))
        if with_replay and "replay" in d:
            self.replay.load_state_dict(serial.arrays(d["replay"]))
        own = self.source.buffers()
        saved = with_replay and all(name in d for name in own)
        if saved:
            for name, buf in own.items():
                buf.load_state_dict(serial.arrays(d[name]))
        self.source.restore(c, saved)
        self.rng.bit_generator.state = json.loads(d["rng"]["numpy"])
        torch.set_rng_state(d["rng"]["torch"])
        sp = d.get("selfplay", {})
        if sp.get("state"):
            self.state = serial.state_from_dict(self.state, sp["state"])
            self.obs = self.game.observe(self.state)
            self.learner_seat = sp["learner_seat"].numpy().astype(np.int8)
            self.pending = [tuple(t.numpy() for t in ply) for ply in sp.get("pending", [])]
            self.source.load_acting_state({name: serial.arrays(part) for name, part in sp.get("source", {}).items()})
        self.last_eval = json.loads(d.get("last_eval", "{}"))

    def buffers(self) -> dict:
        """Every memory self-play fills: the replay memory and the source's own."""
        return {"replay": self.replay, **self.source.buffers()}

    def train_step(self) -> None:
        """One batched move, then the gradient steps it makes due."""
        self.play()
        self.learn(1)


def train(learner: Learner, on_progress=None, on_eval=None, on_checkpoint=None, should_stop=None, step=None) -> None:
    """Run until ``cfg.steps`` moves: act and learn (``step``: by default one batched
    move and its updates, :meth:`Learner.train_step`; with workers, one chunk from an
    actor and its updates); call ``on_eval(learner)`` and
    ``on_checkpoint(learner)`` on their schedules (evaluation lives outside the learner:
    :func:`selfplay.evaluate.training_report`)."""
    cfg = learner.cfg
    next_eval = _next_multiple(learner.moves, cfg.eval_every)
    next_ckpt = _next_multiple(learner.moves, cfg.checkpoint_every)
    step = step or learner.train_step
    while learner.moves < cfg.steps:
        step()
        if on_progress:
            on_progress(learner)
        if cfg.eval_every and learner.moves >= next_eval:
            next_eval = _next_multiple(learner.moves, cfg.eval_every)
            if on_eval:
                on_eval(learner)
        if cfg.checkpoint_every and learner.moves >= next_ckpt:
            next_ckpt = _next_multiple(learner.moves, cfg.checkpoint_every)
            if on_checkpoint:
                on_checkpoint(learner)
        if should_stop and should_stop(learner):
            break


def _next_multiple(x: int, every: int) -> int:
    if not every:
        return math.inf
    return (x // every + 1) * every


# ------------------------------------------------------------------ memory and restoring
def memory_estimate(cfg: TrainConfig, game) -> int:
    """Bytes a Learner for ``cfg`` will hold, roughly: replay memory, the target source's
    own (search targets and search trees), and four copies of the weights (online,
    frozen, Adam's two moments)."""
    cells = int(np.prod(game.obs_shape))
    obs_bytes = (cells + 7) // 8 if game.binary_obs else 2 * cells
    per_transition = 2 * obs_bytes + (game.num_actions + 7) // 8 + 8
    total = cfg.replay_capacity * per_transition
    total += source_for(cfg).extra_memory(cfg, game)
    n = cfg.net
    if n.kind == "mlp":
        params = cells * n.hidden + (n.layers - 1) * n.hidden**2 + n.hidden * game.num_actions
    else:
        h, w = game.obs_shape[1:]
        params = 18 * n.blocks * n.channels**2 + 4 * h * w * n.hidden + n.hidden * game.num_actions
    return int(total + 16 * params)


def check_memory(cfg: TrainConfig, game) -> None:
    """Refuse, before allocating, a config that needs more memory than this machine has."""
    import os

    need = memory_estimate(cfg, game)
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > have:
        raise ValueError(
            f"this run needs about {need / 2**30:,.1f} GiB of memory (replay memory, search trees and network), "
            f"more than this machine's {have / 2**30:,.1f} GiB: lower --replay-capacity, --num-envs, "
            f"--simulations or the network size"
        )


def restore_learner(d: dict, path="checkpoint", *, with_replay: bool = True, cfg: TrainConfig | None = None):
    """A Learner in exactly the state it was saved in (replay memory if it was saved), with
    the saved config, or ``cfg`` where the caller changed what may change on a resume (the
    step count, the learning rate)."""
    saved = checkpoint.check_resumable(d, path)
    try:
        return _restore(d, with_replay, cfg or saved)
    except checkpoint.CheckpointError:
        raise
    except Exception as e:  # any part that does not fit this config: one line naming the file
        raise checkpoint.CheckpointError(
            f"{path}: cannot restore its training state ({str(e).splitlines()[0][:160]})"
        ) from None


def _restore(d: dict, with_replay: bool, cfg: TrainConfig):
    learner = Learner(cfg)
    learner.load_state_dict(d, with_replay)
    return learner
