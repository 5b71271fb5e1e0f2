"""`selfplay play` driven through a pseudo-terminal, as a person would."""

import os
import re
import signal
import sys
from pathlib import Path

import numpy as np
import pexpect
import pytest

import games

ROOT = Path(__file__).resolve().parents[1]

TTT = "checkpoints/tic_tac_toe.pt"
PROMPT = r"your move \([XO]\) > "
END = r"You win!|The agent wins\.|It's a draw\."


def spawn(*args, timeout=60):
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=os.getcwd(), COLUMNS="100")
    # Ctrl-C as on a terminal, however this test run was started (a background job
    # inherits SIGINT ignored, and so would the child)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "selfplay", "play", *args],
        env=env,
        encoding="utf-8",
        timeout=timeout,
        dimensions=(50, 120),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    return child


def play_to_end(child):
    """Play the first legal move each turn (read from `moves`) until the game ends."""
    while True:
        i = child.expect([PROMPT, END])
        if i == 1:
            return child.match.group(0)
        child.sendline("moves")
        child.expect(r"legal moves: ([^\r\n]+)")
        first = child.match.group(1).split()[0]
        child.expect(PROMPT)
        child.sendline(first)


@pytest.mark.parametrize("side", ["--first", "--second"])
def test_full_tic_tac_toe_game_against_exact_agent_from_both_sides(side):
    child = spawn("--game", "tic_tac_toe", "--checkpoint", TTT, side, "--seed", "1")
    child.expect("a1..c3")
    result = play_to_end(child)
    assert result in ("The agent wins.", "It's a draw.")  # exact play never loses
    child.expect(r"rematch with sides swapped\? \[y/N\] ")
    child.sendline("n")
    child.expect("Thanks for playing")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_bad_input_gets_one_line_and_the_same_prompt():
    child = spawn("--game", "tic_tac_toe", "--checkpoint", TTT, "--first", "--seed", "0")
    child.expect(PROMPT)
    for typed, message in [
        ("", "empty move"),
        ("hello", "is not a move"),
        ("0", "is not a move"),
        ("d4", "is not a move"),
        ("x" * 5000, "too long"),
        ("99999999999", "is not a move"),
    ]:
        child.sendline(typed)
        child.expect(message)
        child.expect(PROMPT)
        assert "Traceback" not in child.before
    child.sendline("5")  # centre
    child.expect("agent plays")
    child.expect(PROMPT)
    child.sendline("b2")  # the same cell in the other notation: occupied
    child.expect("is taken")
    child.expect(PROMPT)
    child.sendline("resign")
    child.expect("you resign")
    child.expect(r"\[y/N\]")
    child.sendline("")
    child.expect(pexpect.EOF)


def test_quit_leaves_at_once_without_offering_a_rematch():
    child = spawn("--game", "tic_tac_toe", "--checkpoint", TTT, "--first", "--seed", "0")
    child.expect(PROMPT)
    child.sendline("5")
    child.expect(PROMPT)
    child.sendline("quit")
    child.expect("Thanks for playing. You: 0 won, 1 lost, 0 drawn.")
    assert "[y/N]" not in child.before
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_hint_and_undo():
    child = spawn("--game", "tic_tac_toe", "--checkpoint", TTT, "--first", "--seed", "0")
    child.expect(PROMPT)
    child.sendline("hint")
    child.expect(r"win estimate\):\r?\n\s+(.+)\r?\n")
    hints = child.match.group(1)
    assert len(re.findall(r"[abc][123]: [+-]\d\.\d\d \(\d+%\)", hints)) == 9
    child.expect(r"exact solver\): ([^\r\n]+)")
    assert child.match.group(1).split() == [w for c in ("a1 b1 c1 a2 b2 c2 a3 b3 c3".split()) for w in (c, "draws")]
    child.expect(PROMPT)
    child.sendline("1")
    child.expect(r"agent plays (\w\d)")
    board_after = child.before  # the boards after our move and after the agent's reply
    child.expect(PROMPT)
    child.sendline("undo")
    child.expect("took back")
    child.expect(PROMPT)
    # the board is empty again: no X or O on it
    assert "X" not in child.before.split("took back")[-1] and "O" not in child.before.split("took back")[-1]
    assert "[O]" in board_after and "X" in board_after  # the agent's last move is marked
    child.sendline("undo")
    child.expect("nothing to undo")
    child.sendline("resign")
    child.expect(r"\[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)


def _ends_cleanly(child):
    """The match is abandoned with a message, the command exits 0, no traceback."""
    child.expect("match abandoned")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in child.before


def test_ctrl_c_mid_game_ends_cleanly():
    child = spawn("--game", "tic_tac_toe", "--checkpoint", TTT, "--first")
    child.expect(PROMPT)
    child.sendintr()
    _ends_cleanly(child)


def test_end_of_input_mid_game_ends_cleanly():
    child = spawn("--game", "tic_tac_toe", "--checkpoint", TTT, "--first")
    child.expect(PROMPT)
    child.sendline("5")
    child.expect(PROMPT)
    child.sendeof()
    _ends_cleanly(child)


def _column_one_lover(path):
    """A real connect four checkpoint whose network prefers column 1, then 2, and so on."""
    import torch

    from selfplay import checkpoint, dqn, profiles
    from selfplay.config import NetConfig

    cfg = profiles.default_config("connect_four", net=NetConfig(kind="mlp", hidden=8, layers=1))
    learner = dqn.Learner(cfg)
    with torch.no_grad():
        for p in learner.online.parameters():
            p.zero_()
        learner.online.body[-2].bias.copy_(torch.tensor([0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]))
    checkpoint.atomic_save(checkpoint.slim(checkpoint.learner_to_dict(learner)), path)


def test_full_connect_four_game_and_a_full_column(tmp_path):
    ckpt = tmp_path / "c4.pt"
    _column_one_lover(ckpt)
    # the crafted network prefers column 1; averaged with its mirror image it would not
    child = spawn("--game", "connect_four", "--checkpoint", str(ckpt), "--first", "--seed", "0", "--no-symmetric")
    child.expect("column 1-7")
    child.expect(PROMPT)
    child.sendline("8")
    child.expect("out of range")
    child.expect(PROMPT)
    for _ in range(3):  # X, O, X, O, X, O: column 1 fills with no four
        child.sendline("1")
        child.expect("agent plays 1")
        child.expect(PROMPT)
    child.sendline("1")
    child.expect("column 1 is full")
    child.expect(PROMPT)
    child.sendline("moves")
    child.expect(r"legal moves: ([^\r\n]+)")
    assert child.match.group(1).split() == ["2", "3", "4", "5", "6", "7"]
    result = play_to_end(child)
    assert result in ("You win!", "The agent wins.", "It's a draw.")
    child.expect(r"\[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)


def test_wrong_or_corrupt_checkpoint_is_one_line_before_the_board(tmp_path):
    bad = tmp_path / "x.pt"
    bad.write_bytes(b"\x00" * 100)
    for args, msg in [
        (["--checkpoint", str(bad)], "not a readable checkpoint"),
        (["--checkpoint", TTT, "--game", "connect_four"], "not connect_four"),
    ]:
        child = spawn(*args)
        child.expect(pexpect.EOF)
        out = child.before
        child.close()
        assert child.exitstatus == 2
        assert msg in out and "Traceback" not in out and "your move" not in out


def test_control_characters_and_bad_rematch_answers_get_one_line_and_ask_again():
    child = spawn("--game", "tic_tac_toe", "--checkpoint", TTT, "--first", "--seed", "0")
    child.expect(PROMPT)
    for typed in ["5\x00", "\x00", "a\x01b", "\x1b[A", "\x7f"]:
        child.sendline(typed)
        child.expect("control characters|is not a move|empty move")
        child.expect(PROMPT)
        assert "Traceback" not in child.before
    child.sendline("resign")
    child.expect(r"\[y/N\] ")
    for answer in ["maybe", "yess", "0"]:
        child.sendline(answer)
        child.expect("please answer y or n")
        child.expect(r"\[y/N\] ")
    child.sendline("n")
    child.expect("Thanks for playing. You: 0 won, 1 lost, 0 drawn.")
    child.expect(pexpect.EOF)


def test_ctrl_c_while_the_agent_thinks_ends_the_match_with_the_score():
    child = spawn("--game", "connect_four", "--second", "--move-time", "20", "--seed", "0")
    child.expect("move second")
    import time

    time.sleep(2)  # the agent is searching its first move
    child.sendintr()
    child.expect("match abandoned")
    child.expect("Thanks for playing. You: 0 won, 0 lost, 0 drawn.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "Traceback" not in child.before and "Aborted" not in child.before


def test_a_closed_stdout_ends_quietly_without_a_traceback():
    import subprocess

    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=os.getcwd())
    r = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m selfplay play --game tic_tac_toe --checkpoint {TTT} >&-"],
        input="5\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "Traceback" not in r.stderr and "AttributeError" not in r.stderr, r.stderr
    assert r.returncode == 1 and r.stderr.strip() == "Error: play needs an open standard input and output (a terminal)"


def test_a_hex_hint_names_the_best_ten_and_the_range_of_the_rest_and_othellos_endgame_is_exact():
    from selfplay.human import HINT_MOVES, Session
    from selfplay.othello_solver import empties
    from selfplay.players import load_agent
    from selfplay.profiles import profile

    out: list[str] = []
    agent = load_agent(str(ROOT / "checkpoints" / "hex_9x9.pt"))
    Session(agent.game, agent, read=None, write=out.append)._hint(agent.game.init(1))
    assert "the best 10 of 81" in out[0] and len(re.findall(r"[a-i]\d: [+-]\d\.\d\d", out[1])) == HINT_MOVES
    assert out[2].startswith("  the other 71: from ")
    othello = load_agent(str(ROOT / "checkpoints" / "othello.pt"))
    g, rng, s = othello.game, np.random.default_rng(0), othello.game.init(1)
    while empties(s) > 10:
        s = g.step(s, othello.act(s, rng))
    out.clear()
    Session(g, othello, read=None, write=out.append, exact=profile("othello").hints())._hint(s)
    assert out[-1].startswith("with perfect play from here (exact solver): ")
    assert re.search(r"(wins|draws|loses)", out[-1]) and "unsolved" not in out[-1]


def test_a_won_hex_board_marks_the_winning_chain():
    g = games.make("hex_5x5")
    s = g.init(1)
    for a in (0, 1, 5, 2, 10, 3, 15, 4, 20):  # X plays a1..a5 down the first column
        s = g.step(s, np.array([a]))
    assert s.terminated[0]
    board = g.render(s)
    assert board.count("<X>") == 5 and "<O>" not in board
