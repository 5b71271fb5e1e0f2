"""Agents: anything with ``act(state, rng) -> int64[B]`` that returns legal actions for
every live game of a batch (terminated games get 0). An opponent is just an Agent.

Q values are from the point of view of the player to move, in (-1, 1), with illegal
actions at -inf.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

import games
from games.core import State
from selfplay.network import legal_q


@runtime_checkable
class Agent(Protocol):
    name: str

    def act(self, state: State, rng: np.random.Generator) -> np.ndarray: ...


class RandomAgent:
    """Uniformly random legal moves."""

    name = "random"

    def act(self, state: State, rng: np.random.Generator) -> np.ndarray:
        return games.random_actions(state, rng)


class QAgent:
    """Greedy over a Q-network's legal values (ties broken by the lowest action id),
    optionally epsilon-greedy; with ``search`` simulations it plays by MCTS instead."""

    def __init__(
        self,
        game,
        net: torch.nn.Module,
        name: str = "q",
        epsilon: float = 0.0,
        search: int | None = None,
        move_time: float | None = None,
        info: dict | None = None,
        lanes: int | None = None,
        solve: bool = False,
    ):
        from selfplay.checks import real, whole

        self.game = game
        self.net = net.eval()
        self.name = name
        self.epsilon = real(epsilon, "epsilon", 0, 1)
        self.search = None if search is None else whole(search, "search", 1, 1_000_000)
        self.move_time = None if move_time is None else real(move_time, "move_time", 0.001, 600)
        self.lanes = (
            None if lanes is None else whole(lanes, "lanes", 1, 4096)
        )  # leaves per tree per wave; None = by batch
        if not isinstance(solve, bool):
            raise TypeError(f"solve must be True or False, not {type(solve).__name__}")
        self.solve = solve  # the search proves wins and losses (mcts.SearchConfig.solve)
        self.info = info or {}
        self._state_type = type(game.init(0))

    def check_state(self, state) -> None:
        """TypeError for what is not a game state, ValueError for a state of another game."""
        if not isinstance(state, State):
            raise TypeError(f"act() takes a game state (from game.init/step), not {type(state).__name__}")
        if type(state) is not self._state_type or state.legal_action_mask.shape[1] != self.game.num_actions:
            raise ValueError(
                f"this agent plays {self.game.name}: a {type(state).__name__} with "
                f"{state.legal_action_mask.shape[1]} actions is not one of its states"
            )

    def q_values(self, state: State) -> np.ndarray:
        """float32[B, A]: Q of every action for the player to move; -inf where illegal."""
        self.check_state(state)
        return legal_q(self.net, self.game.observe(state), state.legal_action_mask).numpy()

    def act(self, state: State, rng: np.random.Generator) -> np.ndarray:
        self.check_state(state)
        if self.search or self.move_time:
            from selfplay.mcts import search_actions

            return search_actions(self, state, rng)
        actions = np.argmax(self.q_values(state), axis=1)
        if self.epsilon > 0:
            actions = games.explore(state, actions, self.epsilon, rng)
        return np.where(state.terminated, 0, actions)

    def policy(self, state: State, rng: np.random.Generator, temperature: float = 0.25):
        """``(probs float32[B, A], actions int64[B])``: the search's visit shares and its
        move when the agent searches, else a softmax over legal Q / temperature and the
        greedy move."""
        if self.search:
            from selfplay import mcts

            cfg = mcts.agent_search_config(self, roots=max(1, int((~state.terminated).sum())))
            res = mcts.search(self.game, state, mcts.NetworkEvaluator(self.game, self.net), cfg, rng)
            probs = mcts.shares(res.visits)
            return probs.astype(np.float32), res.action
        q = torch.from_numpy(self.q_values(state))
        probs = torch.nan_to_num(torch.softmax(q / temperature, dim=1), nan=0.0).numpy()
        return probs, np.where(state.terminated, 0, np.argmax(q.numpy(), axis=1))

    def as_openspiel_bot(self):
        from selfplay.interop import OpenSpielBot

        return OpenSpielBot(self)

    def as_pettingzoo_policy(self):
        from selfplay.interop import PettingZooPolicy

        return PettingZooPolicy(self)


class MinimaxAgent:
    """Perfect tic-tac-toe (random among the best moves)."""

    name = "minimax"

    def act(self, state: State, rng: np.random.Generator) -> np.ndarray:
        from selfplay.minimax import minimax_actions

        if not hasattr(state, "stones") or state.legal_action_mask.shape[1] != 9:
            raise ValueError("the minimax player only plays native tic_tac_toe")
        actions = minimax_actions(state.stones, rng)
        return np.where(state.terminated, 0, actions)


def pyspiel_twin(game):
    """The pyspiel game with the same rules and action numbering as ``game`` (an
    adapter's own, or the one a native engine names in ``pyspiel_name``), else None."""
    twin = getattr(game, "pyspiel_game", None)
    if twin is None and getattr(game, "pyspiel_name", None):
        import pyspiel

        twin = pyspiel.load_game(game.pyspiel_name)
    return twin


class OpenSpielMCTSAgent:
    """OpenSpiel's C++ MCTS (random rollouts) on the pyspiel twin of our game.

    Our state is replayed into a pyspiel state from the move history that the arena
    passes; the two engines' legal moves are compared at every move, so both sides play
    by the same rules."""

    uses_history = True

    def __init__(self, game, simulations: int, seed: int = 0, rollouts: int = 1, uct_c: float = 2.0):
        import pyspiel

        self.game = game
        self.simulations = int(simulations)
        self.name = f"mcts:{simulations}"
        self.ps_game = pyspiel_twin(game)
        if self.ps_game is None:
            raise ValueError(f"OpenSpiel's MCTS bot cannot play {game.name}")
        self.bot = pyspiel.MCTSBot(
            self.ps_game,
            pyspiel.RandomRolloutEvaluator(rollouts, seed),
            uct_c,
            self.simulations,
            1000,
            False,
            seed,
            False,
        )

    def act(self, state, rng, histories=None) -> np.ndarray:
        if histories is None:
            raise ValueError("the OpenSpiel MCTS player needs the games' move histories")
        out = np.zeros(state.batch_size, np.int64)
        for i in np.flatnonzero(~state.terminated):
            s = self.ps_game.new_initial_state()
            for a in histories[i]:
                s.apply_action(a)
            if s.legal_actions() != list(np.flatnonzero(state.legal_action_mask[i])):
                raise games.IllegalActionError("our engine and pyspiel disagree on the legal moves")
            out[i] = self.bot.step(s)
        return out
