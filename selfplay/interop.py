"""Our agents inside other frameworks: as a ``pyspiel.Bot`` and as a PettingZoo policy.

The bot rebuilds our game state from the pyspiel state's action history (our engines use
OpenSpiel's action numbering), so it works with OpenSpiel's ``evaluate_bots`` on the
matching pyspiel game. The PettingZoo policy maps a PettingZoo observation dict to our
observation planes and the chosen action back to PettingZoo's numbering.
"""
from __future__ import annotations

import numpy as np
import pyspiel

import games


def state_from_history(game, history: list[int]):
    """Our batch-of-one state reached by playing ``history`` (OpenSpiel action ids)."""
    if hasattr(game, "pyspiel_game"):
        s = game.pyspiel_game.new_initial_state()
        for a in history:
            s.apply_action(a)
        return game.from_pyspiel([s])
    state = game.init(1)
    for a in history:
        state = game.step(state, np.array([a]))
    return state


class OpenSpielBot(pyspiel.Bot):
    """A pyspiel.Bot that plays our agent's move."""

    def __init__(self, agent, seed: int = 0):
        pyspiel.Bot.__init__(self)
        self.agent = agent
        self.rng = np.random.default_rng(seed)

    def step(self, state):
        ours = state_from_history(self.agent.game, list(state.history()))
        action = int(self.agent.act(ours, self.rng)[0])
        if action not in state.legal_actions():
            raise games.IllegalActionError(f"agent chose {action}, not legal in the pyspiel state")
        return action

    def restart_at(self, state):
        pass

    def inform_action(self, state, player_id, action):
        pass

    def provides_policy(self):
        return False


class PettingZooPolicy:
    """``policy(observation_dict) -> action`` for PettingZoo classic envs of the same game.

    Supports the envs that exist as our native games (tictactoe_v3, connect_four_v3) when
    the agent uses no history, since one PettingZoo observation holds no past positions.
    """

    def __init__(self, agent, seed: int = 0):
        name = agent.game.name
        env = {"tic_tac_toe": "tictactoe_v3", "connect_four": "connect_four_v3"}.get(name)
        if name.startswith("pettingzoo:"):
            env = name.split(":", 1)[1]
        if env is None:
            raise ValueError(f"no PettingZoo environment plays {name}")
        if agent.game.history:
            raise ValueError("a PettingZoo observation holds no history; this agent needs one")
        self.agent = agent
        self.adapter = games.make(f"pettingzoo:{env}")
        self.rng = np.random.default_rng(seed)

    def __call__(self, observation: dict) -> int:
        obs = self.adapter._frame_of(observation["observation"])[None]
        mask = np.asarray(observation["action_mask"], bool)[self.adapter._to_env][None]
        from selfplay.network import legal_q

        ours = int(legal_q(self.agent.net, obs, mask).argmax(dim=1)[0])
        return int(self.adapter._to_env[ours])
