"""Batched Monte Carlo tree search over many games at once, with array statistics.

Glossary (this module only):
    B  number of trees (root positions) searched together
    M  node slots per tree (simulations + 1)
    A  number of actions
    N  visit count of an edge (node, action)           float32[B, M, A]
    W  summed backed-up value of an edge                float32[B, M, A]
    P  prior of an edge                                  float32[B, M, A]
    Q  W / N: mean value of an edge, from the point of view of the player to move at
       the edge's node (negamax: a value is flipped whenever the mover changes)

Selection is PUCT: argmax over legal actions of Q + c * P * sqrt(sum N) / (1 + N), with
unvisited edges at Q = 0 (``fpu``). Each simulation wave descends every tree to one new
leaf, steps all B leaf positions in one batched ``game.step`` and evaluates them in one
call to the evaluator, then backs the values up. Terminal leaves get their exact value
(the mover's reward). The empirical Q of the root's visited actions is the search's
target for training (``--mcts``).

An Evaluator maps a batch of states to ``(values float32[B], priors float32[B, A])``,
values for the player to move, priors zero on illegal actions.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Protocol

import numpy as np
import torch

import games
from games.core import assign
from selfplay.network import legal_q


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
        mask = states.legal_action_mask
        priors = mask / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return value, priors.astype(np.float32)


class UniformEvaluator:
    """Value 0, uniform priors: measures the search's own overhead."""

    def __call__(self, states):
        mask = states.legal_action_mask
        return np.zeros(states.batch_size, np.float32), (mask / np.maximum(mask.sum(1, keepdims=True), 1)).astype(np.float32)


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
    #: stop once this many seconds have passed (None = run all simulations)
    time_limit: float | None = None

    def __post_init__(self):
        if self.simulations < 1:
            raise ValueError("simulations must be >= 1")


@dataclasses.dataclass
class SearchResult:
    #: float32[B, A]: root visit counts
    visits: np.ndarray
    #: float32[B, A]: empirical Q of each root action (mover's view); NaN where unvisited
    q: np.ndarray
    #: float32[B]: value of the root (visit-weighted mean of Q)
    value: np.ndarray
    #: int64[B]: the most visited action (ties: higher Q, then lower id)
    action: np.ndarray
    #: simulations actually run per root
    simulations: int


def search(game, roots, evaluator, cfg: SearchConfig, rng: np.random.Generator) -> SearchResult:
    """Search every root of the batch ``roots`` (live games only; terminated roots get a
    zero result)."""
    b, a_n = roots.batch_size, roots.legal_action_mask.shape[1]
    m = cfg.simulations + 1
    N = np.zeros((b, m, a_n), np.float32)
    W = np.zeros((b, m, a_n), np.float32)
    P = np.zeros((b, m, a_n), np.float32)
    child = np.full((b, m, a_n), -1, np.int32)
    legal = np.zeros((b, m, a_n), bool)
    player = np.zeros((b, m), np.int8)
    terminal = np.zeros((b, m), bool)
    # value of a terminal node for the player who moved into it (its parent's mover)
    term_value = np.zeros((b, m), np.float32)
    nodes = games.take(roots, np.repeat(np.arange(b), m))  # node state buffer, row = tree * m + slot
    n_used = np.ones(b, np.int32)

    value0, prior0 = evaluator(roots)
    if cfg.dirichlet_alpha > 0:
        for i in range(b):
            k = np.flatnonzero(roots.legal_action_mask[i])
            if len(k):
                noise = rng.dirichlet([cfg.dirichlet_alpha] * len(k))
                prior0[i, k] = (1 - cfg.noise_fraction) * prior0[i, k] + cfg.noise_fraction * noise
    P[:, 0] = prior0
    legal[:, 0] = roots.legal_action_mask
    player[:, 0] = roots.current_player
    terminal[:, 0] = roots.terminated
    live_tree = ~roots.terminated
    start = time.perf_counter()
    sims = 0
    max_depth = m
    path_node = np.zeros((b, max_depth), np.int32)
    path_action = np.zeros((b, max_depth), np.int32)
    for sims in range(1, cfg.simulations + 1):
        # ---- selection: walk every tree down to an unexpanded edge or a terminal node
        node = np.zeros(b, np.int32)
        depth = np.zeros(b, np.int32)
        active = live_tree.copy()
        leaf_parent = np.zeros(b, np.int32)
        leaf_action = np.zeros(b, np.int32)
        hit_terminal = np.zeros(b, bool)
        while active.any():
            idx = np.flatnonzero(active)
            nd = node[idx]
            n = N[idx, nd]
            q = np.where(n > 0, W[idx, nd] / np.maximum(n, 1), 0.0)
            u = cfg.c_puct * P[idx, nd] * np.sqrt(n.sum(axis=1, keepdims=True) + 1) / (1 + n)
            score = np.where(legal[idx, nd], q + u, -np.inf)
            act = np.argmax(score, axis=1).astype(np.int32)
            path_node[idx, depth[idx]] = nd
            path_action[idx, depth[idx]] = act
            depth[idx] += 1
            nxt = child[idx, nd, act]
            new = nxt < 0
            # unexpanded edge: this is the leaf to create
            leaf_parent[idx[new]] = nd[new]
            leaf_action[idx[new]] = act[new]
            active[idx[new]] = False
            old = idx[~new]
            node[old] = nxt[~new]
            # an existing terminal child ends the walk with its exact value
            term = terminal[old, node[old]]
            hit_terminal[old[term]] = True
            active[old[term]] = False
        # ---- expansion: create the new leaves in one batched step
        expand = live_tree & ~hit_terminal
        values = np.zeros(b, np.float32)
        ref_player = np.zeros(b, np.int8)  # whose point of view `values` is from
        t_idx = np.flatnonzero(live_tree & hit_terminal)
        values[t_idx] = term_value[t_idx, node[t_idx]]
        ref_player[t_idx] = player[t_idx, path_node[t_idx, depth[t_idx] - 1]]
        e_idx = np.flatnonzero(expand)
        if len(e_idx):
            parents = games.take(nodes, e_idx * m + leaf_parent[e_idx])
            leaves = game.step(parents, leaf_action[e_idx])
            slot = n_used[e_idx]
            n_used[e_idx] += 1
            assign(nodes, e_idx * m + slot, leaves)
            child[e_idx, leaf_parent[e_idx], leaf_action[e_idx]] = slot
            mover = parents.current_player.astype(np.int64)
            player[e_idx, slot] = leaves.current_player
            terminal[e_idx, slot] = leaves.terminated
            legal[e_idx, slot] = leaves.legal_action_mask
            reward = leaves.rewards[np.arange(len(e_idx)), mover]
            term_value[e_idx, slot] = reward
            done = leaves.terminated
            v = np.zeros(len(e_idx), np.float32)
            rp = np.zeros(len(e_idx), np.int8)
            v[done] = reward[done]
            rp[done] = mover[done]
            live_leaves = np.flatnonzero(~done)
            if len(live_leaves):
                sub = games.take(leaves, live_leaves)
                lv, lp = evaluator(sub)
                v[live_leaves] = lv
                rp[live_leaves] = sub.current_player
                P[e_idx[live_leaves], slot[live_leaves]] = lp
            values[e_idx] = v
            ref_player[e_idx] = rp
        # ---- backup: every edge on the path, value flipped to each node's mover
        for d in range(int(depth.max()) if live_tree.any() else 0):
            idx = np.flatnonzero(live_tree & (depth > d))
            nd, act = path_node[idx, d], path_action[idx, d]
            sign = np.where(player[idx, nd] == ref_player[idx], 1.0, -1.0)
            N[idx, nd, act] += 1
            W[idx, nd, act] += sign * values[idx]
        if cfg.time_limit is not None and time.perf_counter() - start >= cfg.time_limit:
            break
    visits = N[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        q_root = np.where(visits > 0, W[:, 0] / visits, np.nan).astype(np.float32)
    total = np.maximum(visits.sum(axis=1), 1)
    value = np.nansum(np.nan_to_num(q_root) * visits, axis=1) / total
    key = visits + 1e-3 * np.nan_to_num(q_root, nan=-2.0)  # most visits, then higher Q
    key = np.where(roots.legal_action_mask, key, -np.inf)
    action = np.where(roots.terminated, 0, np.argmax(key, axis=1))
    return SearchResult(visits=visits, q=q_root, value=value.astype(np.float32), action=action, simulations=sims)


def search_actions(agent, state, rng: np.random.Generator) -> np.ndarray:
    """The move of a searching QAgent (``agent.search`` simulations or ``agent.move_time``)."""
    b = max(1, int((~state.terminated).sum()))
    # a time budget is per move of each game: B roots searched together get B times it;
    # without a simulation count the tree is capped at about two million nodes in all
    sims = agent.search or max(16, 2_000_000 // b)
    limit = agent.move_time * b if agent.move_time else None
    cfg = SearchConfig(simulations=sims, time_limit=limit)
    result = search(agent.game, state, NetworkEvaluator(agent.game, agent.net), cfg, rng)
    return result.action
