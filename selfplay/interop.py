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
    twin = getattr(game, "pyspiel_game", None)  # an OpenSpiel adapter replays in pyspiel itself
    if twin is not None:
        s = twin.new_initial_state()
        for a in history:
            s.apply_action(a)
        return game.from_pyspiel([s])
    state = game.init(1)
    for a in history:
        state = game.step(state, np.array([a]))
    return state


class OpenSpielBot(pyspiel.Bot):
    """A pyspiel.Bot that plays our agent's move; its policy is the agent's (a softmax
    over Q, or the search's visit counts when it searches)."""

    def __init__(self, agent, seed: int = 0):
        pyspiel.Bot.__init__(self)
        self.agent = agent
        self.rng = np.random.default_rng(seed)

    def step_with_policy(self, state):
        ours = state_from_history(self.agent.game, list(state.history()))
        probs, actions = self.agent.policy(ours, self.rng)
        action = int(actions[0])
        if action not in state.legal_actions():
            raise games.IllegalActionError(f"agent chose {action}, not legal in the pyspiel state")
        return [(int(a), float(probs[0, a])) for a in state.legal_actions()], action

    def step(self, state):
        return self.step_with_policy(state)[1]

    def restart_at(self, state):
        pass

    def inform_action(self, state, player_id, action):
        pass

    def provides_policy(self):
        return True


class PettingZooPolicy:
    """``policy(observation_dict[, agent_name]) -> action`` for PettingZoo classic envs of
    the same game, in PettingZoo's numbering.

    For the envs that exist as our native games (tictactoe_v3, connect_four_v3) the
    position is rebuilt from the observation, so the agent plays exactly as it does
    anywhere else, searching if it searches. For other envs (``pettingzoo:<env>`` games)
    it plays its greedy move from the observation. One PettingZoo observation holds no
    past positions, so agents that need a history are refused.
    """

    def __init__(self, agent, seed: int = 0):
        name = agent.game.name
        env = getattr(agent.game, "pettingzoo_name", None)
        if name.startswith("pettingzoo:"):
            env = name.split(":", 1)[1]
        if env is None:
            raise ValueError(f"no PettingZoo environment plays {name}")
        if agent.game.history:
            raise ValueError("a PettingZoo observation holds no history; this agent needs one")
        self.agent = agent
        self.adapter = games.make(f"pettingzoo:{env}")
        self.native = getattr(agent.game, "from_cells", None) is not None
        self.rng = np.random.default_rng(seed)

    def __call__(self, observation: dict, agent_name: str | None = None) -> int:
        if not isinstance(observation, dict) or "observation" not in observation or "action_mask" not in observation:
            raise ValueError("expected a PettingZoo observation dict with 'observation' and 'action_mask'")
        frame = self.adapter.frame_of(observation["observation"])
        mask_env = np.asarray(observation["action_mask"], bool)
        if frame.shape != tuple(self.adapter.obs_shape) or mask_env.shape != (self.adapter.num_actions,):
            raise ValueError(
                f"an observation of shape {np.shape(observation['observation'])} does not fit "
                f"{self.adapter.name} (this agent plays {self.agent.game.name})"
            )
        mask = mask_env[self.adapter.to_env]
        if self.native:
            own, opp = frame[0].astype(bool), frame[1].astype(bool)
            first_to_move = own.sum() == opp.sum()
            cells = np.where(own, 1 if first_to_move else 2, np.where(opp, 2 if first_to_move else 1, 0))
            state = self.agent.game.from_cells(cells[None].astype(np.int8))
            if not np.array_equal(state.legal_action_mask[0], mask):
                raise ValueError("the observation's action mask does not match the position it shows")
            ours = int(self.agent.act(state, self.rng)[0])
        else:
            from selfplay.network import legal_q

            ours = int(legal_q(self.agent.net, frame[None], mask[None]).argmax(dim=1)[0])
        return int(self.adapter.to_env[ours])
