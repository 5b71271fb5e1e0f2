"""``selfplay gtp``: every command through a real subprocess, random command lines, and a
client no one here wrote (OpenSpiel's ``GTPBot``) playing full games through it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import games
from selfplay import gtp

ROOT = Path(__file__).resolve().parent.parent
HEX = str(ROOT / "checkpoints" / "openspiel_hex_board_size_5.pt")
ENV = dict(os.environ, PYTHONPATH=str(ROOT))
ENGINE = [sys.executable, "-m", "selfplay", "gtp", "--checkpoint", HEX]


class Client:
    """A line-by-line GTP client over the engine's pipes."""

    def __init__(self, *extra):
        self.proc = subprocess.Popen(
            ENGINE + list(extra),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            bufsize=1,
        )

    def send(self, line: str) -> str:
        """The whole response (up to its empty line) to one command line."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        lines = []
        while True:
            out = self.proc.stdout.readline()
            assert out, f"the engine closed its output after {line!r}"
            if out == "\n":
                if lines:
                    return "".join(lines)
                continue
            lines.append(out)

    def close(self) -> tuple[int, str]:
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        out, err = self.proc.stdout.read(), self.proc.stderr.read()
        assert out == "", f"nothing may follow the last response on stdout: {out!r}"
        return self.proc.returncode, err


WELL_FORMED = re.compile(r"^([=?])(\d*)( [^\n]*)?(\n[^\n]+)*\n$")


@pytest.fixture(scope="module")
def engine():
    c = Client()
    yield c
    c.proc.kill()
    c.proc.wait()


# One session, in order: each answer depends on the commands before it (the board after
# "play b c3", the move that "undo" takes back), so it is one test, not a case per line
# (a case picked alone by -k would meet a board it was not written for).
SESSION = [
    ("protocol_version", "= 2"),
    ("name", "= selfplay"),
    ("7 name", "=7 selfplay"),
    ("known_command genmove", "= true"),
    ("known_command komi", "= true"),  # taken by every game (Quarry sends it), played under by Go
    ("known_command frobnicate", "= false"),
    ("known_command", "? syntax error"),
    ("boardsize 5", "="),
    ("boardsize 9", "? unacceptable size"),
    ("boardsize five", "? syntax error"),
    ("clear_board", "="),
    ("clear_board now", "? syntax error"),
    ("play b c3", "="),
    ("play b c4", "? illegal move"),  # not black's turn
    ("play w c3", "? illegal move"),  # taken
    ("play w z9", "? illegal move"),  # off the board
    ("play w", "? syntax error"),
    ("play green c4", "? syntax error"),
    ("play w c 4", "? syntax error"),
    ("undo", "="),
    ("undo", "? cannot undo"),
    ("genmove", "? syntax error"),
    ("genmove w", "? illegal move"),  # black to move
    ("komi 6.5", "="),  # does not apply to Hex: taken, and standard error says so
    ("komi nan", "? syntax error"),
    ("list_games", "= Hex"),
    ("set_game Othello", "? unsupported game: this engine plays Hex"),
    ("final_score", "? the game is not over"),
    ("time_settings 10 0 0", "="),
    ("time_left b 5 0", "="),
    ("time_left b", "? syntax error"),
    ("frobnicate", "? unknown command"),
    ("12 frobnicate", "?12 unknown command"),
    ("   # only a comment", None),
]


def test_each_command_with_good_and_bad_arguments(engine):
    engine.send("clear_board")
    for line, answer in SESSION:
        if answer is None:  # no command on the line: no response; the next one is answered
            engine.proc.stdin.write(line + "\n")
            assert engine.send("name") == "= selfplay\n", line
            continue
        got = engine.send(line)
        assert WELL_FORMED.match(got), (line, got)
        assert got.rstrip("\n") == answer, (line, got)


def test_genmove_plays_a_legal_move_and_showboard_draws_it(engine):
    engine.send("clear_board")
    move = engine.send("genmove b").strip()[2:]
    g = games.make("openspiel:hex(board_size=5)")
    s = g.init(1)
    legal = {gtp.vertex(g, s, a) for a in np.flatnonzero(s.legal_action_mask[0])}
    assert move in legal
    board = engine.send("showboard")
    assert board.startswith("= \n") and "x" in board and len(board.splitlines()) >= 6
    assert engine.send(f"play b {move}") == "? illegal move\n"  # white to move now
    assert engine.send(f"play w {move}") == "? illegal move\n"  # the cell is taken
    assert engine.send("list_commands").splitlines()[0] == "= protocol_version"
    assert set(engine.send("list_commands")[2:].split()) == set(gtp.COMMANDS)


def test_quit_and_end_of_input_end_the_engine_cleanly_with_logs_on_stderr_only():
    c = Client()
    assert c.send("genmove b").startswith("= ")
    assert c.send("quit") == "=\n"
    code, err = c.close()
    assert code == 0 and "Traceback" not in err and "selfplay gtp:" in err
    c = Client()
    c.proc.stdin.close()
    code, err = c.close()
    assert code == 0 and "Traceback" not in err


def test_a_game_without_gtp_vertices_or_a_bad_checkpoint_is_one_line_before_any_protocol():
    for ckpt, says in (
        (ROOT / "checkpoints" / "connect_four.pt", "not GTP vertices"),
        (ROOT / "nowhere.pt", "no such"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "selfplay", "gtp", "--checkpoint", str(ckpt)],
            input="name\n",
            capture_output=True,
            text=True,
            env=ENV,
            timeout=120,
        )
        assert r.returncode == 2 and r.stdout == "" and says in r.stderr, r.stderr
        assert len([line for line in r.stderr.splitlines() if line.startswith("Error")]) == 1


command_names = st.sampled_from(list(gtp.COMMANDS) + ["foo", "PLAY", "Genmove", "", "99"])
words = st.one_of(
    st.sampled_from(
        [
            "b",
            "w",
            "black",
            "white",
            "c3",
            "a1",
            "e5",
            "z9",
            "pass",
            "5",
            "-1",
            "1e9",
            "nan",
            "#",
            "\t",
            "\x00",
            "\x1b[A",
            "é",
        ]
    ),
    st.text(max_size=6),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 10**6)), command_names, st.lists(words, max_size=3)),
        min_size=1,
        max_size=8,
    )
)
def test_random_command_lines_each_get_one_well_formed_response(engine, commands):
    for ident, name, args in commands:
        if name == "quit":
            continue
        line = " ".join(([str(ident)] if ident is not None else []) + [name] + args)
        line = line.replace("\n", " ").replace("\r", " ")
        engine.proc.stdin.write(line + "\n")
        engine.proc.stdin.write("99999999 name\n")  # a probe: the answer to the line, if any, comes before it
        engine.proc.stdin.flush()
        got = []
        while True:
            response = _read_response(engine)
            if response == "=99999999 selfplay\n":
                break
            got.append(response)
        assert len(got) <= 1, (line, got)
        for response in got:
            assert WELL_FORMED.match(response), (line, response)
            if ident is not None and response[1:2].isdigit():
                assert response[1:].startswith(str(ident)), (line, response)
    assert engine.proc.poll() is None


def _read_response(client) -> str:
    lines = []
    while True:
        out = client.proc.stdout.readline()
        assert out, "the engine closed its output"
        if out == "\n":
            if lines:
                return "".join(lines)
            continue
        lines.append(out)


def test_openspiels_own_gtp_client_plays_full_hex_games_against_mcts_from_both_seats():
    """OpenSpiel's ``GTPBot`` drives ``selfplay gtp`` inside OpenSpiel's own
    ``evaluate_bots``, against its MCTS bot, from each seat; first, its move strings
    (pyspiel's) agree with ours on every cell."""
    import pyspiel
    from open_spiel.python.algorithms import evaluate_bots
    from open_spiel.python.bots.gtp import GTPBot

    game = pyspiel.load_game("hex(board_size=5)")
    ours = games.make("openspiel:hex(board_size=5)")
    s, p = ours.init(1), game.new_initial_state()
    for a in range(game.num_distinct_actions()):
        assert gtp.vertex(ours, s, a) == p.action_to_string(a).lower()
    rng = np.random.RandomState(0)
    results = []
    for seat in (0, 1):
        bot = GTPBot(game, ENGINE + ["--search", "50"])
        try:
            assert bot.name == "selfplay"
            mcts = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, seat), 2.0, 100, 1000, False, seat, False)
            for _ in range(2):
                players = [bot, mcts] if seat == 0 else [mcts, bot]
                returns = evaluate_bots.evaluate_bots(game.new_initial_state(), players, rng)
                results.append(returns[seat])
        finally:
            bot.close()
    assert len(results) == 4 and all(r in (-1.0, 1.0) for r in results)  # full games: hex has no draws
    assert sum(r > 0 for r in results) >= 3, f"the shipped 5x5 agent with search should beat MCTS 100: {results}"


def _untrained(tmp_path, game: str) -> str:
    from selfplay import checkpoint, dqn, profiles
    from selfplay.config import NetConfig

    cfg = profiles.default_config(
        game, replay_capacity=1000, learning_starts=0, net=NetConfig(kind="mlp", hidden=8, layers=1)
    )
    path = tmp_path / f"{games.slug(game)}.pt"
    checkpoint.save_learner(dqn.Learner(cfg), path)
    return str(path)


def test_othello_and_go_through_the_adapter_pass_and_komi(tmp_path):
    for game, size, first in (("openspiel:othello", 8, "d3"), ("openspiel:go(board_size=5)", 5, "c3")):
        path = _untrained(tmp_path, game)
        proc = subprocess.Popen(
            [sys.executable, "-m", "selfplay", "gtp", "--checkpoint", path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        is_go = game.startswith("openspiel:go")
        script = [
            f"boardsize {size}",
            f"play b {first}",
            "genmove w",
            "known_command komi",
            "komi 7.5" if is_go else "name",
            "komi 6.5" if is_go else "name",
            "play b pass",
            "showboard",
            "quit",
        ]
        out, err = proc.communicate("\n".join(script) + "\n", timeout=120)
        answers = [a for a in out.split("\n\n") if a]
        assert proc.returncode == 0 and len(answers) == len(script), (game, out, err)
        assert answers[0] == "=" and answers[1] == "=", (game, answers)
        assert re.fullmatch(r"= ([a-h][1-8]|pass)", answers[2]), answers[2]
        assert answers[3] == "= true"
        if is_go:
            assert answers[4] == "=" and answers[5] == "=", "komi is taken, and Go played under it"
            assert "playing under komi 6.5; the agent was trained with 7.5" in err
            assert answers[6] == "=", "passing is a move in Go"
        else:
            assert answers[6] == "? illegal move", "in Othello a pass is legal only with no other move"


def test_the_readmes_engine_command_line_runs_as_written():
    import shlex

    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("selfplay gtp --checkpoint"))
    argv = shlex.split(line)
    # the command the GTPBot test runs: the same options, the same shipped checkpoint
    assert argv[:3] == ["selfplay", "gtp", "--checkpoint"] and (ROOT / argv[3]).resolve() == Path(HEX).resolve()
    assert argv[4:] == ["--search", "50"]
    r = subprocess.run(
        [sys.executable, "-m", "selfplay", *argv[1:]],
        input="boardsize 5\ngenmove b\nquit\n",
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
        cwd=ROOT,
    )
    assert r.returncode == 0 and re.fullmatch(r"=\n\n= [a-e][1-5]\n\n=\n\n", r.stdout), r.stdout


# ------------------------------------------------------------------ driven as Quarry and GRhino drive it
OTHELLO = str(ROOT / "checkpoints" / "othello.pt")


def _othello_game_with_passes(seed: int) -> list[int]:
    """A random Othello game that has at least one forced pass."""
    from selfplay.agents import RandomAgent

    g = games.make("othello")
    for k in range(200):
        rng = np.random.default_rng(seed + k)
        s, moves = g.init(1), []
        while not s.terminated[0]:
            a = RandomAgent().act(s, rng)
            moves.append(int(a[0]))
            s = g.step(s, a)
        if 64 in moves:
            return moves
    raise AssertionError("no random game with a pass")


def test_a_controller_that_never_sends_passes_plays_a_whole_othello_game_and_the_score_is_grhinos():
    """GRhino and Quarry skip a side with no move: our engine takes the pass as played."""
    from selfplay.gtp_player import EngineSpec, Process

    moves = _othello_game_with_passes(0)
    g = games.make("othello")
    ours = Process(EngineSpec(f"{sys.executable} -m selfplay gtp --checkpoint {OTHELLO}"))
    rhino = Process(EngineSpec("/usr/games/gtp-rhino -l 1"))
    try:
        assert ours.send("list_games") == (True, "Othello")
        assert ours.send("set_game Othello") == (True, "")
        assert ours.send("set_game Go")[0] is False
        assert ours.send("komi 6.5") == (True, "")  # Quarry's default: taken, does not apply
        for p in (ours, rhino):
            assert p.send("boardsize 8")[0] and p.send("clear_board")[0]
        s = g.init(1)
        for a in moves:
            v = gtp.vertex(g, s, a)
            if v != "pass":
                color = "bw"[int(s.current_player[0])]
                assert ours.send(f"play {color} {v}") == (True, ""), (color, v)
                assert rhino.send(f"play {color} {v}") == (True, ""), (color, v)
            s = g.step(s, np.array([a]))
        ok, score = ours.send("final_score")
        assert ok and score == rhino.send("final_score")[1].upper()
        assert "game over" in ours.send("showboard")[1] and "moves:" not in ours.send("showboard")[1]
    finally:
        ours.close()
        rhino.close()


def test_final_score_waits_for_the_end_and_time_settings_hold_a_searching_agent_within_the_clock():
    from selfplay.players import load_agent

    agent = load_agent(OTHELLO, search=100_000)
    e = gtp.Engine(agent, log=lambda m: None)
    assert e.handle("final_score")[0] == "? the game is not over\n\n"
    assert e.handle("time_settings 0 1 1")[0] == "=\n\n"
    assert e.handle("time_settings 1 x 1")[0] == "? syntax error\n\n"
    assert e.handle("time_left b nan 0")[0] == "? syntax error\n\n"
    assert e.handle("genmove b")[0].startswith("= ")
    assert agent.move_time == pytest.approx(0.9)  # the byo-yomi period, less a tenth
    assert e.handle("time_left w 30 0")[0] == "=\n\n"
    e.handle("genmove w")
    assert agent.move_time == pytest.approx(0.9 * (30 / gtp.MOVES_AHEAD + 1))  # main time spread, plus a period


def test_area_score_counts_stones_and_regions_of_one_colour():
    black = np.zeros((3, 3), bool)
    white = np.zeros((3, 3), bool)
    black[:, 0] = True
    white[:, 2] = True
    assert gtp.area_score(black, white) == 0  # the middle column touches both
    white[:, 2] = False
    assert gtp.area_score(black, white) == 9


def test_komi_plays_go_under_the_new_value_and_says_the_agent_was_trained_with_another():
    from selfplay.agents import RandomAgent

    class Agent(RandomAgent):
        game = games.make("openspiel:go(board_size=5)")

    said: list[str] = []
    e = gtp.Engine(Agent(), log=said.append)
    e.handle("play b c3")
    assert e.handle("komi 0.5")[0] == "=\n\n"
    assert any("trained with 7.5" in m for m in said)
    assert gtp.komi(e.game) == 0.5 and e.moves == [12] and e.state.legal_action_mask[0, 12] == 0
    for v in ("pass", "pass"):
        e.handle(f"play {'w' if len(e.moves) % 2 else 'b'} {v}")
    # black's one stone owns the board: 25 points, less komi 0.5
    assert e.handle("final_score")[0] == "= B+24.5\n\n"
