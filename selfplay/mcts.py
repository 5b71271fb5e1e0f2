"""Batched Monte Carlo tree search over many games at once, with array statistics.

Glossary (this module only):
    B  number of trees (root positions) searched together
    M  node slots per tree (1,024 at first, doubled as needed up to simulations + 1)
    K  lanes: leaves selected per tree per wave
    A  number of actions
    N  visit count of an edge (node, action)           float32[B, M, A]
    W  summed backed-up value of an edge                float32[B, M, A]
    P  prior of an edge                                  float32[B, M, A]
    Q  W / N: mean value of an edge, from the point of view of the player to move at
       the edge's node (negamax: a value is flipped whenever the mover changes)

Selection is PUCT: argmax over legal actions of Q + c * P * sqrt(sum N) / (1 + N), with
unvisited edges at Q = 0 (``fpu``). With ``gumbel_considered`` the root chooses instead by
Gumbel top-k and sequential halving (Danihelka et al. 2022, mctx's
``gumbel_muzero_policy``): the m actions of highest g + log P (g Gumbel noise) are visited,
then halved in phases, each phase keeping those of highest g + log P + sigma(Q), and the
search's move is the survivor's; below the root PUCT chooses as before.

Each simulation wave descends every tree to K new leaves (selection and backup are
compiled with numba), steps all B x K leaf positions in one batched ``game.step`` and
evaluates them in one call to the evaluator, then backs the values up. With K > 1 each
pending path carries a virtual visit and loss, so later lanes of the same tree look
elsewhere; a lane that reaches another lane's pending leaf is undone. Terminal leaves
get their exact value (the mover's reward). The empirical Q of the root's visited
actions is the search's target for training (``--mcts``).

With ``solve`` the search is an MCTS-Solver (Winands, Bjornsson and Saito 2008): a node
is *settled* when it is terminal or proven, and proofs run up each path after its backup
(a node is won for its mover when one child is won for it, and its value is the best of
its children's once all of them are settled). A lane that reaches a settled node backs up
that exact value, as at a terminal; selection takes a proven loss only when every move is
one; a proven root stops its search and plays a move that keeps its proven value.

An Evaluator maps a batch of states to ``(values float32[B], priors float32[B, A])``,
values for the player to move, priors zero on illegal actions.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Protocol

import numpy as np
import torch
from numba import njit

import games
from games.core import assign
from selfplay.errors import Stopped
from selfplay.network import legal_q


def uniform(legal_action_mask: np.ndarray) -> np.ndarray:
    """float[B, A]: the uniform distribution over each game's legal actions (zeros where none)."""
    return legal_action_mask / np.maximum(legal_action_mask.sum(axis=1, keepdims=True), 1)


def shares(counts: np.ndarray) -> np.ndarray:
    """float[B, A]: each row of counts (a search's visits) as shares of its total (zeros where none)."""
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


class Evaluator(Protocol):
    def __call__(self, states) -> tuple[np.ndarray, np.ndarray]: ...


class NetworkEvaluator:
    """Leaf value = max legal Q; priors = softmax(Q / temperature) over legal actions."""

    def __init__(self, game, net: torch.nn.Module, temperature: float = 0.25):
        self.game, self.net, self.temperature = game, net.eval(), temperature

    @torch.no_grad()
    def __call__(self, states):
        q = legal_q(self.net, self.game.observe(states), states.legal_action_mask)
        value = q.max(dim=1).values
        value = torch.where(torch.isfinite(value), value, torch.zeros_like(value))
        priors = torch.softmax(q / self.temperature, dim=1)
        priors = torch.nan_to_num(priors, nan=0.0)
        return value.numpy(), priors.numpy()


class RolloutEvaluator:
    """Leaf value = mean outcome of random playouts to the end; uniform priors."""

    def __init__(self, game, rollouts: int = 1, rng: np.random.Generator | None = None):
        self.game, self.rollouts = game, rollouts
        self.rng = rng or np.random.default_rng(0)

    def __call__(self, states):
        b = states.batch_size
        idx = np.repeat(np.arange(b), self.rollouts)
        s = games.take(states, idx)
        mover = s.current_player.astype(np.int64)
        total = np.zeros(len(idx))
        while not s.terminated.all():
            s = self.game.step(s, games.random_actions(s, self.rng))
            total += s.rewards[np.arange(len(idx)), mover]
        value = total.reshape(b, self.rollouts).mean(axis=1).astype(np.float32)
        return value, uniform(states.legal_action_mask).astype(np.float32)


class UniformEvaluator:
    """Value 0, uniform priors: measures the search's own overhead."""

    def __call__(self, states):
        return np.zeros(states.batch_size, np.float32), uniform(states.legal_action_mask).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    #: simulations per root
    simulations: int = 200
    #: exploration constant of PUCT
    c_puct: float = 1.5
    #: Dirichlet noise at the roots (0 = none): its concentration
    dirichlet_alpha: float = 0.0
    #: share of the noise in the root priors
    noise_fraction: float = 0.25
    #: stop once this many seconds have passed since the call (None = run all simulations)
    time_limit: float | None = None
    #: leaves selected per tree per wave; lanes after the first see the earlier lanes'
    #: pending paths as visited losses (virtual loss), so one tree fills a batch by itself
    lanes: int = 1
    #: the virtual loss of a pending path (with lanes > 1)
    virtual_loss: float = 1.0
    #: visit every legal root action once before PUCT chooses (so the empirical Q of every
    #: root action exists once simulations >= legal actions: targets for every action)
    root_all: bool = False
    #: 0 = PUCT at the root; else Gumbel top-k with sequential halving over at most this
    #: many root actions, and the move is the Gumbel choice (noise included, so sampled)
    gumbel_considered: int = 0
    #: sigma(Q) = (c_visit + max N) * c_scale * Q rescaled to [0, 1] (mctx's defaults)
    c_visit: float = 50.0
    c_scale: float = 0.1
    #: MCTS-Solver: prove wins, losses and draws up the tree from terminal positions (see
    #: the module's doc); ``--solve`` at play, off by default (in training it did not pay:
    #: docs/experiments.md)
    solve: bool = False

    def __post_init__(self):
        if self.simulations < 1:
            raise ValueError("simulations must be >= 1")
        if self.lanes < 1:
            raise ValueError("lanes must be >= 1")
        if self.gumbel_considered < 0:
            raise ValueError("gumbel_considered must be >= 0")
        if self.gumbel_considered and (self.root_all or self.dirichlet_alpha > 0):
            raise ValueError("Gumbel root selection takes no root_all and no Dirichlet noise: it explores by itself")
        if self.gumbel_considered and self.solve:
            raise ValueError("Gumbel root selection and the solver do not combine: the solver's move is the proven one")


@dataclasses.dataclass
class SearchResult:
    #: float32[B, A]: root visit counts
    visits: np.ndarray
    #: float32[B, A]: empirical Q of each root action (mover's view); NaN where unvisited
    q: np.ndarray
    #: float32[B]: value of the root (visit-weighted mean of Q)
    value: np.ndarray
    #: int64[B]: the most visited action (ties: higher Q, then lower id); with Gumbel root
    #: selection, the Gumbel choice among the most visited considered actions
    action: np.ndarray
    #: simulations actually run per root (the fewest over the live roots)
    simulations: int
    #: bool[B, A]: root actions whose value the solver proved (their ``q`` is exact); all
    #: False without ``solve``
    proven_actions: np.ndarray | None = None
    #: bool[B]: roots the solver proved (``value`` exact, ``action`` keeps it)
    proven: np.ndarray | None = None


# lane status after selection
_IDLE, _EXPAND, _TERMINAL, _COLLIDED = 0, 1, 2, 3
#: a win's value (games.core: win +1, loss -1, draw 0): one child won proves its parent
_WIN = 1.0


@njit(cache=True)
def _select(
    N,
    W,
    P,
    child,
    legal,
    settled,
    settled_value,
    lanes,
    c_puct,
    vloss,
    root_all,
    solve,
    gumbel,
    level,
    root_value,
    c_visit,
    c_scale,
    path_node,
    path_action,
    depth,
    leaf_parent,
    leaf_action,
    status,
):
    """Walk lanes[t] paths down every tree t; mark pending leaves (child = -2) and put a
    virtual visit (and, with vloss, a virtual loss) on every edge of each path. With
    ``root_all`` an unvisited legal root action (the highest prior first) is taken before
    PUCT chooses among the root's actions. With Gumbel (``gumbel[t, a]`` = g + log P, -inf
    where not considered; ``level[t, k]`` the visit count sequential halving asks of lane
    k's root action) the root takes the action of that visit count with the highest
    g + log P + sigma(completed Q). With ``solve`` a child proven lost for the mover is taken
    only when every legal move is one; a lane stops at a settled node (terminal or proven)."""
    b, _, a_n = N.shape
    for t in range(b):
        for k in range(lanes[t]):
            nd, d = 0, 0
            while True:
                total = 0.0
                for a in range(a_n):
                    total += N[t, nd, a]
                sq = np.sqrt(total + 1.0)
                act, best = -1, -np.inf
                if gumbel.shape[0] and nd == 0:
                    act = _gumbel_root(
                        N[t, 0], W[t, 0], legal[t, 0], gumbel[t], level[t, k], root_value[t], c_visit, c_scale
                    )
                    if act >= 0:
                        best = np.inf  # skip PUCT below
                if root_all and nd == 0:
                    for a in range(a_n):
                        if legal[t, 0, a] and N[t, 0, a] == 0 and P[t, 0, a] > best:
                            act, best = a, P[t, 0, a]
                    if act >= 0:
                        best = np.inf  # skip PUCT below
                for a in range(a_n):
                    if legal[t, nd, a] and best < np.inf:
                        n = N[t, nd, a]
                        q = W[t, nd, a] / n if n > 0 else 0.0
                        score = q + c_puct * P[t, nd, a] * sq / (1.0 + n)
                        if solve:
                            c = child[t, nd, a]
                            if c >= 0 and settled[t, c] and settled_value[t, c] <= -_WIN:
                                score -= 1e9  # a proven loss: only when every move is one
                        if score > best:
                            act, best = a, score
                path_node[t, k, d] = nd
                path_action[t, k, d] = act
                d += 1
                N[t, nd, act] += 1.0
                W[t, nd, act] -= vloss
                nxt = child[t, nd, act]
                if nxt == -1:  # a new leaf
                    child[t, nd, act] = -2
                    leaf_parent[t, k], leaf_action[t, k] = nd, act
                    status[t, k] = _EXPAND
                    break
                if nxt == -2:  # another lane's pending leaf: keep the virtual loss, no value
                    status[t, k] = _COLLIDED
                    break
                nd = nxt
                if settled[t, nd]:
                    status[t, k] = _TERMINAL
                    break
            depth[t, k] = d


@njit(cache=True)
def _sigma_completed(n, w, legal, root_value, c_visit, c_scale):
    """sigma(completed Q) of one node's actions: visited actions' empirical Q, unvisited
    ones the node's value, rescaled to [0, 1] over the legal actions, times
    (c_visit + max N) * c_scale (mctx's ``qtransform_completed_by_mix_value``, the
    network's value standing in for the mixed value)."""
    a_n = n.shape[0]
    cq = np.empty(a_n)
    lo, hi, most = np.inf, -np.inf, 0.0
    for a in range(a_n):
        cq[a] = w[a] / n[a] if n[a] > 0 else root_value
        if legal[a]:
            lo, hi, most = min(lo, cq[a]), max(hi, cq[a]), max(most, n[a])
    scale = (c_visit + most) * c_scale / max(hi - lo, 1e-8)
    for a in range(a_n):
        cq[a] = (cq[a] - lo) * scale
    return cq


@njit(cache=True)
def _sigma_roots(n, w, legal, root_value, c_visit, c_scale):
    """:func:`_sigma_completed` of every root of the batch: float64[B, A]."""
    out = np.empty(n.shape)
    for t in range(n.shape[0]):
        out[t] = _sigma_completed(n[t], w[t], legal[t], root_value[t], c_visit, c_scale)
    return out


@njit(cache=True)
def _gumbel_root(n, w, legal, gumbel, level, root_value, c_visit, c_scale):
    """The root action sequential halving visits next: among the considered actions with
    ``level`` visits, the highest g + log P + sigma(completed Q); -1 where none has."""
    sigma = _sigma_completed(n, w, legal, root_value, c_visit, c_scale)
    act, best = -1, -np.inf
    for a in range(n.shape[0]):
        if legal[a] and n[a] == level and gumbel[a] > -np.inf:
            score = gumbel[a] + sigma[a]
            if score > best:
                act, best = a, score
    return act


def considered_visits(m: int, n: int) -> tuple[int, ...]:
    """The visit count sequential halving asks of the root action chosen at each of ``n``
    simulations over ``m`` considered actions (mctx's ``get_sequence_of_considered_visits``):
    every considered action once, then the best half more often, and so on, each phase
    about n / (log2 m * considered) visits per action."""
    if m <= 1:
        return tuple(range(n))
    log2m = math.ceil(math.log2(m))
    seq: list[int] = []
    visits = [0] * m
    considered = m
    while len(seq) < n:
        for _ in range(max(1, n // (log2m * considered))):
            seq.extend(visits[:considered])
            for i in range(considered):
                visits[i] += 1
        considered = max(2, considered // 2)
    return tuple(seq[:n])


def _gumbel_roots(prior, legal, m: int, rng: np.random.Generator):
    """float64[B, A]: g + log P on each root's m actions of highest g + log P (-inf
    elsewhere), and int64[B]: how many each root considers."""
    g = rng.gumbel(size=prior.shape)
    with np.errstate(divide="ignore"):
        score = np.where(legal, g + np.log(np.maximum(prior, 1e-30)), -np.inf)
    considered = np.minimum(legal.sum(axis=1), m)
    rank = np.argsort(np.argsort(-score, axis=1, kind="stable"), axis=1)
    return np.where(rank < considered[:, None], score, -np.inf), considered


@njit(cache=True)
def _prove(child, legal, player, settled, settled_value, path_node, depth, status):
    """MCTS-Solver's proofs: from the parent of each lane's settled leaf up its path, settle
    every node that one child won for its mover (value >= ``_WIN``) or whose children are
    all settled (value: the best of theirs); stop at the first node that stays open.
    ``settled_value`` of a node is for the player who moved into it (its parent's mover);
    of the root (slot 0), for the root's mover."""
    b, k_n = status.shape
    a_n = legal.shape[2]
    for t in range(b):
        for k in range(k_n):
            if status[t, k] != _EXPAND and status[t, k] != _TERMINAL:
                continue
            for d in range(depth[t, k] - 1, -1, -1):
                nd = path_node[t, k, d]
                if settled[t, nd]:
                    continue
                best, all_settled = -np.inf, True
                for a in range(a_n):
                    if not legal[t, nd, a]:
                        continue
                    c = child[t, nd, a]
                    if c >= 0 and settled[t, c]:
                        best = max(best, settled_value[t, c])
                    else:
                        all_settled = False
                if best == -np.inf or not (all_settled or best >= _WIN):
                    break  # open (a node without a legal move is never proven here)
                settled[t, nd] = True
                if d == 0:
                    settled_value[t, nd] = best
                else:
                    up = player[t, path_node[t, k, d - 1]]
                    settled_value[t, nd] = best if up == player[t, nd] else -best


@njit(cache=True)
def _backup(N, W, player, path_node, path_action, depth, status, values, ref_player, vloss):
    """Replace each lane's virtual loss by its value, flipped to each node's mover; undo
    collided lanes."""
    b, k_n = status.shape
    for t in range(b):
        for k in range(k_n):
            st = status[t, k]
            if st == _IDLE:
                continue
            for d in range(depth[t, k]):
                nd, a = path_node[t, k, d], path_action[t, k, d]
                if st == _COLLIDED:
                    N[t, nd, a] -= 1.0
                    W[t, nd, a] += vloss
                else:
                    sign = 1.0 if player[t, nd] == ref_player[t, k] else -1.0
                    W[t, nd, a] += vloss + sign * values[t, k]


class _Tree:
    """Edge statistics of B trees in arrays of M node slots, grown by doubling."""

    def __init__(self, roots, m: int):
        b, a_n = roots.batch_size, roots.legal_action_mask.shape[1]
        self.b, self.m = b, m
        self.N = np.zeros((b, m, a_n), np.float32)
        self.W = np.zeros((b, m, a_n), np.float32)
        self.P = np.zeros((b, m, a_n), np.float32)
        self.child = np.full((b, m, a_n), -1, np.int32)
        self.legal = np.zeros((b, m, a_n), bool)
        self.player = np.zeros((b, m), np.int8)
        # terminal or, with the solver, proven; its exact value for the player who moved into
        # it (its parent's mover; the root's: for its own mover)
        self.settled = np.zeros((b, m), bool)
        self.settled_value = np.zeros((b, m), np.float32)
        self.nodes = games.take(roots, np.repeat(np.arange(b), m))  # row = tree * m + slot
        self.n_used = np.ones(b, np.int64)

    def grow(self, m: int) -> None:
        old = self.m
        for name, fill in (
            ("N", 0),
            ("W", 0),
            ("P", 0),
            ("child", -1),
            ("legal", False),
            ("player", 0),
            ("settled", False),
            ("settled_value", 0),
        ):
            a = getattr(self, name)
            bigger = np.full((self.b, m) + a.shape[2:], fill, a.dtype)
            bigger[:, :old] = a
            setattr(self, name, bigger)
        slot = np.minimum(np.arange(m), old - 1)
        rows = (np.arange(self.b)[:, None] * old + slot[None, :]).reshape(-1)
        self.nodes = games.take(self.nodes, rows)
        self.m = m


def search(game, roots, evaluator, cfg: SearchConfig, rng: np.random.Generator, stop=None) -> SearchResult:
    """Search every root of the batch ``roots`` (live games only; terminated roots get a
    zero result). ``stop()``, when given, is asked after every wave: when it says so the
    search is given up (:class:`selfplay.Stopped`), so a stopped run can replay the whole
    move after a resume."""
    start = time.perf_counter()
    b = roots.batch_size
    k_n = cfg.lanes
    tree = _Tree(roots, min(cfg.simulations + 1, 1024))
    vloss = float(cfg.virtual_loss) if k_n > 1 else 0.0

    value0, prior0 = evaluator(roots)
    if cfg.dirichlet_alpha > 0:
        for i in range(b):
            k = np.flatnonzero(roots.legal_action_mask[i])
            if len(k):
                noise = rng.dirichlet([cfg.dirichlet_alpha] * len(k))
                prior0[i, k] = (1 - cfg.noise_fraction) * prior0[i, k] + cfg.noise_fraction * noise
    tree.P[:, 0] = prior0
    root_value = value0.astype(np.float64)  # the completed Q of unvisited root actions (Gumbel)
    gumbel, levels = np.zeros((0, prior0.shape[1])), np.zeros((1, 1), np.int64)  # PUCT at the root
    if cfg.gumbel_considered:
        gumbel, considered = _gumbel_roots(prior0, roots.legal_action_mask, cfg.gumbel_considered, rng)
        table = np.array([considered_visits(m, cfg.simulations) for m in range(cfg.gumbel_considered + 1)])
    tree.legal[:, 0] = roots.legal_action_mask
    tree.player[:, 0] = roots.current_player
    tree.settled[:, 0] = roots.terminated
    done = np.where(roots.terminated, cfg.simulations, 0).astype(np.int64)  # simulations run per tree
    max_depth = 1
    while ((done < cfg.simulations) & ~tree.settled[:, 0]).any():
        lanes = np.where(tree.settled[:, 0], 0, np.minimum(cfg.simulations - done, k_n)).astype(np.int64)
        if int((tree.n_used + lanes).max()) > tree.m:
            tree.grow(min(2 * tree.m + k_n, cfg.simulations + 1 + k_n))
        # ---- selection, compiled: every lane of every tree walks to a new leaf or a terminal
        path_node = np.zeros((b, k_n, max_depth + 1), np.int32)
        path_action = np.zeros((b, k_n, max_depth + 1), np.int32)
        depth = np.zeros((b, k_n), np.int64)
        leaf_parent = np.zeros((b, k_n), np.int64)
        leaf_action = np.zeros((b, k_n), np.int64)
        status = np.zeros((b, k_n), np.int8)
        if cfg.gumbel_considered:
            sim = np.minimum(done[:, None] + np.arange(k_n)[None, :], cfg.simulations - 1)
            levels = table[considered[:, None], sim]
        _select(
            tree.N,
            tree.W,
            tree.P,
            tree.child,
            tree.legal,
            tree.settled,
            tree.settled_value,
            lanes,
            cfg.c_puct,
            vloss,
            cfg.root_all,
            cfg.solve,
            gumbel,
            levels,
            root_value,
            cfg.c_visit,
            cfg.c_scale,
            path_node,
            path_action,
            depth,
            leaf_parent,
            leaf_action,
            status,
        )
        values = np.zeros((b, k_n), np.float32)
        ref_player = np.zeros((b, k_n), np.int8)  # whose point of view `values` is from
        # ---- terminal hits: the exact value, for the terminal node's parent's mover
        t_t, t_k = np.nonzero(status == _TERMINAL)
        if len(t_t):
            last = depth[t_t, t_k] - 1
            term_node = tree.child[t_t, path_node[t_t, t_k, last], path_action[t_t, t_k, last]]
            values[t_t, t_k] = tree.settled_value[t_t, term_node]
            ref_player[t_t, t_k] = tree.player[t_t, path_node[t_t, t_k, last]]
        # ---- expansion: create all new leaves in one batched step, evaluate them in one call
        e_t, e_k = np.nonzero(status == _EXPAND)
        if len(e_t):
            counts = np.bincount(e_t, minlength=b)
            rank = np.arange(len(e_t)) - (np.cumsum(counts) - counts)[e_t]
            slot = tree.n_used[e_t] + rank
            tree.n_used += counts
            parent, action = leaf_parent[e_t, e_k], leaf_action[e_t, e_k]
            parents = games.take(tree.nodes, e_t * tree.m + parent)
            leaves = game.step(parents, action)
            assign(tree.nodes, e_t * tree.m + slot, leaves)
            tree.child[e_t, parent, action] = slot
            mover = parents.current_player.astype(np.int64)
            tree.player[e_t, slot] = leaves.current_player
            tree.settled[e_t, slot] = leaves.terminated
            tree.legal[e_t, slot] = leaves.legal_action_mask
            reward = leaves.rewards[np.arange(len(e_t)), mover]
            tree.settled_value[e_t, slot] = reward
            ended = leaves.terminated
            v = np.where(ended, reward, 0).astype(np.float32)
            rp = mover.astype(np.int8)
            live = np.flatnonzero(~ended)
            if len(live):
                sub = games.take(leaves, live)
                lv, lp = evaluator(sub)
                v[live] = lv
                rp[live] = sub.current_player
                tree.P[e_t[live], slot[live]] = lp
            values[e_t, e_k] = v
            ref_player[e_t, e_k] = rp
        # ---- backup, compiled
        _backup(tree.N, tree.W, tree.player, path_node, path_action, depth, status, values, ref_player, vloss)
        if cfg.solve:
            _prove(
                tree.child,
                tree.legal,
                tree.player,
                tree.settled,
                tree.settled_value,
                path_node,
                depth,
                status,
            )
        done += ((status == _EXPAND) | (status == _TERMINAL)).sum(axis=1)
        max_depth = max(max_depth, int(depth.max()) + 1)
        if cfg.time_limit is not None and time.perf_counter() - start >= cfg.time_limit:
            break
        if stop is not None and stop():
            raise Stopped
    visits = tree.N[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        q_root = np.where(visits > 0, tree.W[:, 0] / visits, np.nan).astype(np.float32)
    total = np.maximum(visits.sum(axis=1), 1)
    value = np.nansum(np.nan_to_num(q_root) * visits, axis=1) / total
    key = visits + 1e-3 * np.nan_to_num(q_root, nan=-2.0)  # most visits, then higher Q
    key = np.where(roots.legal_action_mask, key, -np.inf)
    if cfg.gumbel_considered:  # the Gumbel choice among the most visited considered actions
        sigma = _sigma_roots(tree.N[:, 0], tree.W[:, 0], roots.legal_action_mask, root_value, cfg.c_visit, cfg.c_scale)
        most = visits >= visits.max(axis=1, keepdims=True)
        key = np.where(most & (gumbel > -np.inf), gumbel + sigma, -np.inf)
    proven = np.zeros(roots.legal_action_mask.shape, bool)
    root_proven = tree.settled[:, 0] & ~roots.terminated  # only the solver settles a live root
    if cfg.solve:  # a proven win first; a proven loss only when every move is one
        kid = tree.child[:, 0]
        rows, slot = np.arange(b)[:, None], np.maximum(kid, 0)
        proven = (kid >= 0) & tree.settled[rows, slot]
        exact = np.where(proven, tree.settled_value[rows, slot], np.nan)
        win = proven & (exact >= _WIN)
        lose = proven & (exact <= -_WIN)
        lose &= ~(lose | ~roots.legal_action_mask).all(axis=1, keepdims=True)
        key = np.where(win.any(axis=1, keepdims=True), np.where(win, key, -np.inf), np.where(lose, -np.inf, key))
        q_root = np.where(proven, exact, q_root).astype(np.float32)
        value = np.where(root_proven, tree.settled_value[:, 0], value)
    action = np.where(roots.terminated, 0, np.argmax(key, axis=1))
    live_done = done[~roots.terminated]
    sims = int(live_done.min()) if len(live_done) else 0
    return SearchResult(
        visits=visits,
        q=q_root,
        value=value.astype(np.float32),
        action=action,
        simulations=sims,
        proven_actions=proven,
        proven=root_proven,
    )


def auto_lanes(batch: int) -> int:
    """Leaves per tree per wave for a batch of ``batch`` roots: enough that each wave
    evaluates about 128 positions at once (a few roots search 16 leaves each; 128 or more
    roots search one each, as without virtual loss)."""
    return max(1, min(16, 128 // max(1, batch)))


def agent_search_config(agent, *, roots: int) -> SearchConfig:
    """The one way a playing agent's knobs (``search``, ``move_time``, ``lanes``, ``solve``)
    become the search's settings, for ``roots`` positions searched together."""
    return SearchConfig(
        simulations=agent.search or 2_000_000,
        time_limit=agent.move_time,
        lanes=agent.lanes or auto_lanes(roots),
        solve=agent.solve,
    )


def search_actions(agent, state, rng: np.random.Generator) -> np.ndarray:
    """The move of a searching QAgent: ``agent.search`` simulations for every game of the
    batch at once, or, with ``agent.move_time``, a search of that many seconds for each
    live game in turn (a per-move budget, as a clock would give it; capped at
    ``agent.search`` simulations when both are set, else at two million nodes)."""
    evaluator = NetworkEvaluator(agent.game, agent.net)
    if not agent.move_time:
        cfg = agent_search_config(agent, roots=max(1, int((~state.terminated).sum())))
        return search(agent.game, state, evaluator, cfg, rng).action
    cfg = agent_search_config(agent, roots=1)
    actions = np.zeros(state.batch_size, np.int64)
    for i in np.flatnonzero(~state.terminated):
        actions[i] = search(agent.game, games.take(state, np.array([i])), evaluator, cfg, rng).action[0]
    return actions
