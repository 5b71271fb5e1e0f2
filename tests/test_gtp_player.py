"""Engines over GTP as players (selfplay.gtp_player): real GRhino and GnuGo refereed by our
rules, and a misbehaving engine (tests/fake_gtp.py) whose every failure ends its game with
a recorded reason while the match goes on.

GRhino and GnuGo come from Debian (``scripts/install_engines``, which ``.ci/run`` runs);
a test that needs one fails when it is missing, it does not skip."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import games
from selfplay import arena, gtp, players, profiles
from selfplay import tournament as T
from selfplay.agents import RandomAgent
from selfplay.gtp_player import EngineFailure, EngineSpec, GtpAgent, Process, find_program, parse_spec

FAKE = Path(__file__).with_name("fake_gtp.py")
GRHINO = "/usr/games/gtp-rhino"
GNUGO = "/usr/games/gnugo"


def fake(game: str, mode: str, after: int = 0) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))} {game} {shlex.quote(mode)} {after}"


def need(program: str) -> None:
    assert Path(program).exists(), f"{program} is missing: install the engines with scripts/install_engines"


def told(spec: str, game, moves: list[int], command: str) -> str:
    """A fresh engine told ``moves`` (passes skipped: GRhino refuses them), asked ``command``."""
    p = Process(EngineSpec(spec))
    try:
        s = game.init(1)
        size = gtp.board_size(game)
        assert p.send(f"boardsize {size}")[0] and p.send("clear_board")[0]
        if gtp.komi(game) is not None:
            assert p.send(f"komi {gtp.komi(game):g}")[0]
        for a in moves:
            v = gtp.vertex(game, s, a)
            if v != "pass" or "gnugo" in spec:
                ok, msg = p.send(f"play {'bw'[int(s.current_player[0])]} {v}")
                assert ok, msg
            s = game.step(s, np.array([a]))
        ok, answer = p.send(command)
        assert ok, answer
        return answer
    finally:
        p.close()


def winner_of(score: str) -> int | None:
    """``B+12`` -> 0, ``W+3`` -> 1, ``0`` -> None (GTP final_score)."""
    score = score.strip().upper()
    return None if score in ("0", "DRAW") else "BW".index(score[0])


def test_grhino_level_1_plays_both_colours_with_forced_passes_and_agrees_on_every_result():
    need(GRHINO)
    game = games.make("othello")
    engine = GtpAgent(EngineSpec(f"{GRHINO} -l 1"), game, label="grhino")
    planned = profiles.schedule("othello", 24, seed=3, plies=4)
    try:
        res = arena.play_planned(game, engine, RandomAgent(), planned, np.random.default_rng(3))
    finally:
        engine.close()
    assert res.endings == [""] * len(planned)  # every game ended by the rules
    assert set(res.a_seat) == {0, 1}
    passes = sum(m.count(64) for m in res.moves)
    assert passes > 0, "no game had a forced pass: pick other openings"
    for moves, seat, score in zip(res.moves, res.a_seat, res.scores):
        w = winner_of(told(f"{GRHINO} -l 1", game, moves, "final_score"))
        ours = None if score == 0.5 else (seat if score == 1.0 else 1 - seat)
        assert w == ours, (moves, w, ours)
    assert res.scores.mean() > 0.8  # a 2-ply search beats random


def test_gnugo_plays_go_through_the_openspiel_adapter_to_two_passes_and_the_score_agrees():
    need(GNUGO)
    name = "openspiel:go(board_size=9)"
    game = games.make(name)
    cmd = f"{GNUGO} --mode gtp --level 1 --chinese-rules --capture-all-dead"
    a = GtpAgent(EngineSpec(cmd), game, label="gnugo a")
    b = GtpAgent(EngineSpec(cmd), game, label="gnugo b")
    planned = profiles.schedule(name, 2, seed=0)
    try:
        res = arena.play_planned(game, a, b, planned, np.random.default_rng(0))
    finally:
        a.close()
        b.close()
    for moves, seat, score, how in zip(res.moves, res.a_seat, res.scores, res.endings):
        assert how in ("", "resign")
        if how == "":
            assert moves[-2:] == [81, 81]  # two passes end a Go game
            w = winner_of(told(cmd, game, moves, "final_score"))
            assert w == (seat if score == 1.0 else 1 - seat)


# ------------------------------------------------------------------ a misbehaving engine
FAILURES = {
    "illegal": "forfeit: illegal or unparsable move 'z1'",
    "garbage": "forfeit: illegal or unparsable move 'zz99'",
    "notgtp": "forfeit: not GTP (answered 'hello there'",
    "binary": "forfeit: not GTP (binary output)",
    "huge": "forfeit: not GTP (an answer of over",
    "hang": "forfeit: no answer within 1.5 s",
    "die": "forfeit: the engine closed its output (exit code 3)",
    "close": "forfeit: the engine closed its output",
    "refuse": "forfeit: refused genmove",
    "boardsize": "forfeit: refused 'boardsize 5'",
    "play": "forfeit: refused play",
    "resign": "resign",
}


@pytest.mark.parametrize("mode", sorted(FAILURES))
def test_each_failure_ends_only_that_game_with_its_reason_and_the_engine_losing(mode):
    game = games.make("hex_5x5")
    lines: list[str] = []
    engine = GtpAgent(EngineSpec(fake("hex_5x5", mode, 1)), game, label="fake", move_wait=1.5, warn=lines.append)
    planned = profiles.schedule("hex_5x5", 4, seed=0)
    try:
        res = arena.play_planned(game, engine, RandomAgent(), planned, np.random.default_rng(0))
    finally:
        engine.close()
    assert len(res.endings) == 4
    for how, score in zip(res.endings, res.scores):
        assert how.startswith(FAILURES[mode]), how
        assert score == 0.0  # the engine lost the game it broke
    if mode == "resign":
        assert lines == []
    else:
        assert len(lines) == 4
        assert all("\n" not in line and line.startswith("fake: forfeits the game:") for line in lines)
        assert all("its log: " in line for line in lines)


def test_an_engine_that_dies_is_restarted_for_the_next_game_and_leaves_no_process():
    game = games.make("hex_5x5")
    engine = GtpAgent(EngineSpec(fake("hex_5x5", "die", 2)), game, label="fake", warn=lambda m: None)
    planned = profiles.schedule("hex_5x5", 4, seed=1)
    ends: list[str] = []
    try:
        scores = arena.match(game, engine, RandomAgent(), planned, np.random.default_rng(1), batch=1, endings=ends)
    finally:
        engine.close()
    assert len(scores) == 4 and ends == ["forfeit: the engine closed its output (exit code 3)"] * 4
    assert engine.sessions == []


def test_a_well_behaved_fake_engine_plays_whole_games_by_the_rules():
    game = games.make("hex_5x5")
    engine = GtpAgent(EngineSpec(fake("hex_5x5", "legal")), game, pool=2)
    planned = profiles.schedule("hex_5x5", 6, seed=2)
    try:
        res = arena.play_planned(game, engine, RandomAgent(), planned, np.random.default_rng(2))
    finally:
        engine.close()
    assert res.endings == [""] * 6
    # the engine always plays the first legal cell: replaying its games checks the referee told it every move
    for moves, seat in zip(res.moves, res.a_seat):
        s = game.init(1)
        for ply, a in enumerate(moves):
            if ply >= 2 and int(s.current_player[0]) == seat:
                assert a == int(np.flatnonzero(s.legal_action_mask[0])[0])
            s = game.step(s, np.array([a]))


def test_a_tournament_stores_every_game_with_how_it_ended_and_a_rerun_plays_none(tmp_path):
    spec = "gtp:" + fake("hex_5x5", "garbage", 2)
    plist = players.resolve([spec, "random"], "hex_5x5")
    gtp_player = next(p for p in plist if p.kind == "gtp")
    assert gtp_player.label.startswith("fake-garbage 1") and gtp_player.ident.startswith("gtp:")
    store = T.Store(tmp_path / "t.db")
    assert T.run("hex_5x5", plist, 6, store) == 6
    ended = store.endings("hex_5x5")
    assert len(ended) == 6
    assert all(how.startswith("forfeit: illegal or unparsable move 'zz99'") for _, _, how, _ in ended)
    assert T.run("hex_5x5", plist, 6, store) == 0
    # another engine answering its name differently is another player
    other = players.resolve(["gtp:" + fake("hex_5x5", "legal", 2), "random"], "hex_5x5")
    assert {p.ident for p in other} != {p.ident for p in plist}


def test_a_version_2_results_file_is_read_and_its_games_count_as_ended_by_the_rules(tmp_path):
    import sqlite3

    path = tmp_path / "v2.db"
    db = sqlite3.connect(path)
    db.executescript(
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE players (ident TEXT PRIMARY KEY, label TEXT, spec TEXT);
        CREATE TABLE games (game TEXT, a TEXT, b TEXT, opening TEXT, a_first INTEGER, round INTEGER,
            moves TEXT, score_a REAL, created REAL, PRIMARY KEY (game, a, b, opening, a_first, round));
        INSERT INTO meta VALUES ('format', 'selfplay-tournament'), ('version', '2');
        INSERT INTO games VALUES ('hex_5x5', 'x', 'y', '[]', 1, 0, '[1]', 1.0, 0);"""
    )
    db.commit()
    db.close()
    store = T.Store(path)
    assert store.done_keys("hex_5x5") == {("x", "y", "[]", True, 0)}
    assert store.endings("hex_5x5") == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=st.one_of(st.binary(max_size=60), st.text(max_size=30).map(lambda t: ("= " + t + "\n\n").encode())))
def test_any_answer_to_genmove_is_a_legal_move_or_a_forfeit_never_an_exception(answer):
    game = games.make("hex_5x5")
    engine = GtpAgent(EngineSpec(fake("hex_5x5", "hex:" + answer.hex())), game, move_wait=3, warn=lambda m: None)
    state = game.init(1)
    try:
        actions, ends_ = engine.act_or_end(state, np.random.default_rng(0), histories=[[]])
    finally:
        engine.close()
    if ends_:
        assert ends_[0][0] == 0.0 and ends_[0][1].startswith(("forfeit: ", "resign"))
    else:
        assert state.legal_action_mask[0, actions[0]]
    assert engine.sessions == []


# ------------------------------------------------------------------ player strings
@pytest.mark.parametrize(
    "spec, says",
    [
        ("gtp:", "no command after gtp:"),
        ("gtp:   ", "no command after gtp:"),
        ("gtp:'unclosed", "cannot split the command line"),
        ("gtp:no-such-engine-here", "no program 'no-such-engine-here' on PATH"),
        ("gtp:x; genmove b", "is not a setting"),
        ("gtp:x; time_settings 1 2", "expected time_settings MAIN BYO_YOMI STONES"),
        ("gtp:x; time_settings a b c", "expected time_settings MAIN BYO_YOMI STONES"),
        ("gtp:x; time_settings nan 1 1", "expected time_settings MAIN BYO_YOMI STONES"),
    ],
)
def test_a_bad_engine_string_is_one_line_before_any_game(spec, says):
    with pytest.raises(players.PlayerError) as e:
        players.parse(spec)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_an_engine_that_refuses_the_board_size_or_a_game_without_vertices_is_refused_before_any_game():
    with pytest.raises(players.PlayerError, match="refuses boardsize 5"):
        players.resolve(["gtp:" + fake("hex_5x5", "boardsize"), "random"], "hex_5x5")
    with pytest.raises(players.PlayerError, match="cannot play connect_four"):
        players.resolve(["gtp:" + fake("hex_5x5", "legal"), "random"], "connect_four")


def test_time_settings_set_the_wait_for_a_move():
    assert parse_spec("e; time_settings 0 5 1").move_wait == 20
    assert parse_spec("e; time_settings 0 30 10").move_wait == 16
    assert parse_spec("e").move_wait == 600


def test_engines_are_found_in_usr_games_and_their_stderr_goes_to_a_log_not_the_terminal(capfd):
    assert find_program("sh") is not None
    p = Process(EngineSpec(f"{shlex.quote(sys.executable)} -c 'import sys; sys.stderr.write(\"noise\\n\"); input()'"))
    log = p.log_path
    with pytest.raises(EngineFailure, match="closed its output"):
        p.send("name", wait=5)
    assert log.read_text() == "noise\n"  # kept: the engine failed
    assert "noise" not in capfd.readouterr().err


def test_the_match_command_plays_an_engine_and_says_how_games_ended(tmp_path):
    env = {**os.environ, "COLUMNS": "200"}
    r = subprocess.run(
        [sys.executable, "-m", "selfplay", "match", "gtp:" + fake("hex_5x5", "resign", 1), "random"]
        + ["--game", "hex_5x5", "--games", "4"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "fake-resign 1" in r.stdout and "+0 =0 -4" in r.stdout
    assert "games not ended by the rules: resign 4 (A won 0)" in r.stdout


# ------------------------------------------------------------------ games people can open elsewhere
def test_go_games_export_as_sgf_that_sgfmill_reads_back_to_our_final_board_and_gnugos_score(tmp_path):
    from sgfmill import boards, sgf

    from selfplay import sgf as S

    need(GNUGO)
    name = "openspiel:go(board_size=9)"
    cmd = f"{GNUGO} --mode gtp --level 0 --chinese-rules --capture-all-dead"
    plist = players.resolve(["gtp:" + cmd, f"gtp:{cmd.replace('--level 0', '--level 1')}"], name)
    store = T.Store(tmp_path / "go.db")
    T.run(name, plist, 2, store)
    path = tmp_path / "go.sgf"
    labels = {p.ident: p.label for p in plist}
    rows = store.stored(name, list(labels))
    assert S.export(str(path), name, rows, labels) == 2
    game = games.make(name)
    for text, (a, b, _op, a_first, mv, _score, how) in zip(path.read_text().splitlines(), rows):
        g = sgf.Sgf_game.from_string(text)
        assert g.get_size() == 9 and g.get_komi() == 7.5
        assert g.get_player_name("b") == labels[a if a_first else b]
        board = boards.Board(9)
        for node in g.get_main_sequence()[1:]:
            colour, point = node.get_move()
            if point is not None:
                board.play(point[0], point[1], colour)
        s = game.init(1)
        for m in json.loads(mv):
            s = game.step(s, np.array([m]))
        planes = np.array(s.handles[0].observation_tensor(0)).reshape(game.pyspiel_game.observation_tensor_shape())
        # sgfmill's board (row 0 at the bottom, as GTP's row 1) is our final board
        for colour, plane in (("b", planes[0]), ("w", planes[1])):
            assert all((board.get(r, c) == colour) == bool(plane[r, c]) for r in range(9) for c in range(9))
        if not how:
            assert g.get_root().get("RE") == told(cmd, game, json.loads(mv), "final_score").upper()


def test_othello_and_hex_export_as_sgf_and_connect_four_as_move_lists(tmp_path):
    from selfplay import sgf as S

    moves_o = [19, 18, 17]  # d3 c3 b3
    text = S.game_text("othello", moves_o, "x", "y", 1.0)
    assert text.startswith("(;FF[4]GM[2]") and "SZ[8]" in text and text.endswith(";B[dc];W[cc];B[bc])")
    text = S.game_text("hex_5x5", [0, 6], "x", "y", 0.0, "resign")
    assert "GM[11]" in text and "RE[W+R]" in text and "C[resign]" in text and text.endswith(";B[a1];W[b2])")
    assert S.game_text("connect_four", [3, 3, 4], "x", "y", 0.5) == "x vs y: 4 4 5 1/2-1/2"
    assert S.suffix("connect_four") == ".txt" and S.suffix("hex_9x9") == ".sgf"


def test_tournament_export_refuses_a_file_that_is_there_and_a_form_the_game_has_not(tmp_path):
    from click.testing import CliRunner

    from selfplay.cli import cli

    there = tmp_path / "games.sgf"
    there.write_text("mine")
    base = ["tournament", "random", "mcts:2", "--games", "2", "--db", str(tmp_path / "t.db")]
    for extra, says in (
        (["--game", "hex_5x5", "--export", str(there)], "the file is there already; --force overwrites it"),
        (["--game", "connect_four", "--export", str(tmp_path / "c4.sgf")], "SGF has no game number for connect_four"),
        (["--game", "hex_5x5", "--export", str(tmp_path / "g.json")], "name a .csv, .sgf or .txt file"),
        (["--game", "hex_5x5", "--export", str(tmp_path / "t.db")], "is the file being read"),
    ):
        r = CliRunner().invoke(cli, base + extra)
        assert r.exit_code == 2 and says in r.output, r.output
    assert there.read_text() == "mine" and not (tmp_path / "t.db").exists()
    r = CliRunner().invoke(cli, base + ["--game", "hex_5x5", "--export", str(there), "--force"])
    assert r.exit_code == 0, r.output
    assert there.read_text().count("(;FF[4]GM[11]") == 2
