"""A human-vs-agent match in a terminal, driven through ``read``/``write`` callables
(the CLI passes a line reader over standard input and ``click.echo``; the tests drive
the real command through a pseudo-terminal).

Values shown to the human are the agent's Q from the mover's point of view in (-1, 1),
also given as a win estimate ``(q + 1) / 2``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import games
from games.text import MAX_INPUT

#: the shipped checkpoints travel inside the package (checkpoints/ at the top of a source
#: checkout is a link to this folder)
CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"

HELP = """commands:
  <move>        play a move ({notation})
  moves         list the legal moves
  hint          the agent's value of each legal move for you
  undo          take back your last move and the agent's reply
  help          this text
  resign        give up this game (a rematch is offered)
  quit          leave (a game in play counts as lost)"""


def shipped_checkpoint(game_name: str) -> Path:
    """Where the shipped checkpoint for a game lives (it may not exist)."""
    return CHECKPOINT_DIR / f"{games.slug(game_name)}.pt"


def describe_value(q: float) -> str:
    if q > 0.5:
        word = "winning"
    elif q > 0.15:
        word = "better"
    elif q >= -0.15:
        word = "about even"
    elif q >= -0.5:
        word = "worse"
    else:
        word = "losing"
    return f"{word}: {q:+.2f}"


#: moves a hint lists by name (Hex has up to 121): the rest as a range of values
HINT_MOVES = 10


class EndOfInput(Exception):
    """The human closed the input (Ctrl-D) or interrupted (Ctrl-C)."""


class Session:
    """One or more games between a human and an agent."""

    def __init__(self, game, agent, read, write, human_seat: int = 0, color: bool = False, seed: int = 0, exact=None):
        self.game, self.agent, self.read, self.write = game, agent, read, write
        #: optional ``state -> int[A]`` of exact move values (+1/0/-1, other = unknown) for hints
        self.exact = exact
        self.human_seat = human_seat
        self.color = color
        self.rng = np.random.default_rng(seed)

    # -------------------------------------------------------------- helpers
    def _ask(self, prompt: str) -> str:
        try:
            line = self.read(prompt)
        except (EOFError, KeyboardInterrupt, RuntimeError, OSError):  # Ctrl-D, Ctrl-C, a lost terminal
            raise EndOfInput from None
        if line is None:
            raise EndOfInput
        return line

    def _yes(self, prompt: str) -> bool:
        """A y/n answer (an empty line is no); anything else asks again."""
        while True:
            answer = self._ask(prompt).strip().lower()
            if answer in ("y", "yes"):
                return True
            if answer in ("", "n", "no"):
                return False
            self.write("please answer y or n")

    def _show(self, state) -> None:
        self.write("")
        self.write(self.game.render(state, 0, color=self.color))

    def _agent_value(self, state) -> float | None:
        if not hasattr(self.agent, "q_values"):
            return None
        q = self.agent.q_values(state)[0]
        return float(q[np.isfinite(q)].max())

    def _hint(self, state) -> None:
        if not hasattr(self.agent, "q_values"):
            self.write("this opponent gives no hints")
            return
        q = self.agent.q_values(state)[0]
        rows = sorted(
            ((float(q[a]), self.game.action_to_string(state, int(a))) for a in np.flatnonzero(np.isfinite(q))),
            reverse=True,
        )
        shown = rows[:HINT_MOVES]
        self.write(
            "agent's value of each move for you (win estimate)"
            + (f", the best {len(shown)} of {len(rows)}:" if len(rows) > len(shown) else ":")
        )
        self.write("  " + "  ".join(f"{m}: {v:+.2f} ({(v + 1) / 2:.0%})" for v, m in shown))
        if len(rows) > len(shown):
            self.write(
                f"  the other {len(rows) - len(shown)}: from {rows[len(shown)][0]:+.2f} down to {rows[-1][0]:+.2f}"
            )
        if self.exact is not None:
            vals = self.exact(state)
            words = {1: "wins", 0: "draws", -1: "loses"}
            legal = np.flatnonzero(state.legal_action_mask[0])
            if not any(int(vals[a]) in words for a in legal):
                self.write("with perfect play from here: not settled yet (too early for the exact solver's budget)")
                return
            if len(legal) > HINT_MOVES:  # a long list by outcome: the winning moves first
                by = {
                    w: [self.game.action_to_string(state, int(a)) for a in legal if words.get(int(vals[a])) == w]
                    for w in ("wins", "draws", "loses")
                }
                self.write(
                    "with perfect play from here (exact solver): "
                    + "; ".join(f"{w}: {' '.join(ms)}" for w, ms in by.items() if ms)
                )
                return
            self.write(
                "with perfect play from here (exact solver): "
                + "  ".join(
                    f"{self.game.action_to_string(state, int(a))} {words.get(int(vals[a]), 'unsolved')}" for a in legal
                )
            )

    def _moves(self, state) -> str:
        listed = getattr(self.game, "legal_moves_text", None)
        if listed:
            return " ".join(listed(state, 0))
        return " ".join(self.game.action_to_string(state, int(a)) for a in np.flatnonzero(state.legal_action_mask[0]))

    def _agent_move(self, state):
        """The agent moves; show the board and its move with its own evaluation."""
        action = int(self.agent.act(state, self.rng)[0])
        value = self._agent_value(state)
        said = f"agent plays {self.game.action_to_string(state, action)}"
        state = self.game.step(state, np.array([action]))
        self._show(state)
        if value is not None:
            said += f"  (agent thinks it is {describe_value(value)})"
        self.write(said)
        return state

    # -------------------------------------------------------------- one game
    def play_game(self) -> str:
        """Play one game; return 'win', 'loss', 'draw' or 'resigned' (human's view)."""
        g = self.game
        names = getattr(g, "player_names", None)  # adapters draw their own symbols: say the seat
        you = names[self.human_seat] if names else f"player {self.human_seat + 1}"
        self.write(
            f"\nYou are {you} and move {'first' if self.human_seat == 0 else 'second'}. "
            f"Moves: {g.move_notation()}. Type 'help' for commands."
        )
        state = g.init(1)
        history = [state]  # positions at which it was the human's turn (for undo)
        returns = np.zeros(2)
        self._show(state)
        while not state.terminated[0]:
            if state.current_player[0] != self.human_seat:
                state = self._agent_move(state)
                returns += state.rewards[0]
                continue
            line = self._ask(f"your move ({you}) > ")
            if len(line) > MAX_INPUT:
                self.write(f"that line is too long ({len(line)} characters); type a move or 'help'")
                continue
            if any(not c.isprintable() for c in line):
                self.write("that line holds control characters; type a move or 'help'")
                continue
            cmd = line.strip().lower()
            if cmd == "resign":
                self.write("you resign.")
                return "resigned"
            if cmd in ("quit", "exit", "q"):
                return "quit"
            if cmd in ("help", "?", "h"):
                self.write(HELP.format(notation=g.move_notation()))
                continue
            if cmd == "hint":
                self._hint(state)
                continue
            if cmd == "moves":
                self.write("legal moves: " + self._moves(state))
                continue
            if cmd == "undo":
                if len(history) < 2:
                    self.write("nothing to undo")
                    continue
                history.pop()
                state = history[-1]
                returns[:] = 0
                self.write("took back your last move and the agent's reply")
                self._show(state)
                continue
            try:
                action = g.parse_action(state, line, 0)
            except ValueError as e:  # IllegalActionError is a ValueError
                self.write(str(e))
                continue
            state = g.step(state, np.array([action]))
            returns += state.rewards[0]
            self._show(state)
            if not state.terminated[0]:
                # the agent replies before the human's next turn; remember that turn for undo
                state = self._agent_move(state)
                returns += state.rewards[0]
                history.append(state)
        mine = returns[self.human_seat]
        result = "win" if mine > 0 else "loss" if mine < 0 else "draw"
        self.write({"win": "You win!", "loss": "The agent wins.", "draw": "It's a draw."}[result])
        return result

    def run(self, rematch: bool = True) -> list[str]:
        """Play games until the human declines a rematch or input ends."""
        results = []
        try:
            while True:
                results.append(self.play_game())
                if results[-1] == "quit" or not rematch or not self._yes("rematch with sides swapped? [y/N] "):
                    break
                self.human_seat = 1 - self.human_seat
        except (EndOfInput, KeyboardInterrupt):  # Ctrl-D, or Ctrl-C at any moment (the agent thinking, a hint)
            self.write("\ninput closed: match abandoned.")
            results.append("abandoned")
        wins, draws = results.count("win"), results.count("draw")
        losses = results.count("loss") + results.count("resigned") + results.count("quit")
        self.write(f"Thanks for playing. You: {wins} won, {losses} lost, {draws} drawn.")
        return results
