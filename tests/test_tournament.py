"""Tournaments: refusals before play, exact resume after a real kill, stored results."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from selfplay import tournament as T

TTT = "checkpoints/tic_tac_toe.pt"


def test_players_for_another_game_or_broken_checkpoints_are_refused(tmp_path):
    with pytest.raises(T.PlayerError, match="tic_tac_toe, not connect_four"):
        T.resolve([TTT, "random"], "connect_four")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(T.PlayerError, match="not a readable checkpoint"):
        T.resolve([str(bad), "random"], "tic_tac_toe")
    with pytest.raises(T.PlayerError, match="minimax plays only"):
        T.resolve(["minimax", "random"], "connect_four")
    with pytest.raises(T.PlayerError, match="mcts:N"):
        T.resolve(["mcts:lots", "random"], "connect_four")
    with pytest.raises(T.PlayerError, match="at least two"):
        T.resolve(["random", "random"], "connect_four")
    with pytest.raises(T.PlayerError, match="not a file"):
        T.resolve(["nowhere.pt", "random"], "connect_four")


def test_round_robin_plays_each_planned_game_once_and_a_rerun_adds_only_missing(tmp_path):
    store = T.Store(tmp_path / "t.db")
    players = T.resolve([TTT, "random", "minimax"], "tic_tac_toe")
    assert T.run("tic_tac_toe", players, 6, store) == 18
    assert T.run("tic_tac_toe", players, 6, store) == 0
    more = T.resolve([TTT, "random", "minimax", "mcts:20"], "tic_tac_toe")
    assert T.run("tic_tac_toe", more, 6, store) == 18  # only the new player's three pairs
    st = T.standings("tic_tac_toe", more, store)
    assert sum(g for row in st.cross for _, g in row) == 2 * 36
    # seats are balanced: every player moved first in half its games
    for (_, first), (_, second) in st.seat:
        assert first == second
    # the perfect player never loses; the agent at exact play never loses either
    labels = [p.label for p in more]
    mm, agent = labels.index("minimax"), labels.index("checkpoints/tic_tac_toe")
    for i in (mm, agent):
        for j in range(4):
            if i != j and st.cross[i][j][1]:
                assert st.cross[i][j][0] >= st.cross[i][j][1] / 2
    assert st.ratings[labels.index("random")].elo == 0


def test_openings_are_seeded_distinct_and_balanced_for_tic_tac_toe():
    from selfplay.minimax import _value
    import games
    import numpy as np

    ops = T.openings("tic_tac_toe", 5, 2, seed=3)
    assert ops == T.openings("tic_tac_toe", 5, 2, seed=3)
    assert len({tuple(o) for o in ops}) == 5
    g = games.make("tic_tac_toe")
    for o in ops:
        s = g.init(1)
        for a in o:
            s = g.step(s, np.array([a]))
        x, y = int(s.stones[0, 0]), int(s.stones[0, 1])
        assert _value(x, y) == 0  # X to move after 2 plies: a draw with perfect play


def test_a_killed_tournament_resumes_with_exactly_the_planned_games(tmp_path):
    db = tmp_path / "kill.db"
    cmd = [sys.executable, "-m", "selfplay.cli", "tournament", "--game", "connect_four", "random", "mcts:300",
           "mcts:600", "--games", "40", "--db", str(db)]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    count = 0
    while time.time() < deadline:
        time.sleep(0.05)
        if db.exists():
            try:
                count = sqlite3.connect(db).execute("SELECT COUNT(*) FROM games").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0
            if count >= 8:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < count < 120, "the kill must land mid-tournament"
    done = subprocess.run(cmd + ["--json"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = sqlite3.connect(db).execute("SELECT a, b, opening, a_first FROM games").fetchall()
    assert len(rows) == 3 * 40 and len(set(rows)) == len(rows)
    out = json.loads(done.stdout)
    assert sum(r["games"] for r in out["ratings"]) == 2 * 120


def test_openspiel_mcts_player_checks_both_engines_agree_on_the_rules():
    import numpy as np

    import games
    from selfplay.agents import OpenSpielMCTSAgent

    g = games.make("connect_four")
    bot = OpenSpielMCTSAgent(g, 20)
    s = g.init(1)
    for m in (3, 3, 3):
        s = g.step(s, np.array([m]))
    rng = np.random.default_rng(0)
    assert s.legal_action_mask[0, bot.act(s, rng, histories=[[3, 3, 3]])[0]]
    # a history that reaches another position than our state: refused, not played
    full = g.init(1)
    for m in (0,) * 6:
        full = g.step(full, np.array([m]))
    with pytest.raises(games.IllegalActionError, match="disagree"):
        bot.act(full, rng, histories=[[1] * 6])
