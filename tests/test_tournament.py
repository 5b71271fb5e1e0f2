"""Tournaments: refusals before play, exact resume after a real kill, stored results."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from selfplay import players as P
from selfplay import tournament as T

TTT = "checkpoints/tic_tac_toe.pt"


def test_players_for_another_game_or_broken_checkpoints_are_refused(tmp_path):
    with pytest.raises(P.PlayerError, match="tic_tac_toe, not connect_four"):
        P.resolve([TTT, "random"], "connect_four")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(P.PlayerError, match="not a readable checkpoint"):
        P.resolve([str(bad), "random"], "tic_tac_toe")
    with pytest.raises(P.PlayerError, match="minimax plays only"):
        P.resolve(["minimax", "random"], "connect_four")
    with pytest.raises(P.PlayerError, match="mcts:N"):
        P.resolve(["mcts:lots", "random"], "connect_four")
    with pytest.raises(P.PlayerError, match="at least two"):
        P.resolve(["random", "random"], "connect_four")
    with pytest.raises(P.PlayerError, match="not a file"):
        P.resolve(["nowhere.pt", "random"], "connect_four")


def test_round_robin_plays_each_planned_game_once_and_a_rerun_adds_only_missing(tmp_path):
    store = T.Store(tmp_path / "t.db")
    players = P.resolve([TTT, "random", "minimax"], "tic_tac_toe")
    assert T.run("tic_tac_toe", players, 6, store) == 18
    assert T.run("tic_tac_toe", players, 6, store) == 0
    more = P.resolve([TTT, "random", "minimax", "mcts:20"], "tic_tac_toe")
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
    import numpy as np

    import games
    from selfplay.minimax import position_values
    from selfplay.profiles import openings

    ops = openings("tic_tac_toe", 5, seed=3, plies=2)
    assert ops == openings("tic_tac_toe", 5, seed=3, plies=2)
    assert len({tuple(o) for o in ops}) == 5
    g = games.make("tic_tac_toe")
    for o in ops:
        s = g.init(1)
        for a in o:
            s = g.step(s, np.array([a]))
        assert position_values(s)[0] == 0  # X to move after 2 plies: a draw with perfect play


def test_a_killed_tournament_resumes_with_exactly_the_planned_games(tmp_path):
    db = tmp_path / "kill.db"
    cmd = [
        sys.executable,
        "-m",
        "selfplay",
        "tournament",
        "--game",
        "connect_four",
        "random",
        "mcts:300",
        "mcts:600",
        "--games",
        "40",
        "--db",
        str(db),
    ]
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
    rows = sqlite3.connect(db).execute("SELECT a, b, opening, a_first, round FROM games").fetchall()
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


# ---------------------------------------------------------------- exact counts, unordered pairs
@pytest.mark.parametrize("n", [1, 7, 18, 40])
def test_a_pair_plays_exactly_the_games_asked_for_even_past_the_distinct_openings(tmp_path, n):
    store = T.Store(tmp_path / "t.db")
    plist = P.resolve(["random", "minimax"], "tic_tac_toe")
    assert T.run("tic_tac_toe", plist, n, store) == n  # tic-tac-toe has 9 balanced one-move openings
    st = T.standings("tic_tac_toe", plist, store)
    assert st.cross[0][1][1] == n
    firsts = [row[3] for row in st.rows]  # (a, b, opening, a_first, moves, score)
    assert abs(sum(firsts) - n / 2) <= 0.5


def test_a_pair_is_unordered_and_a_rerun_says_everything_is_stored(tmp_path):
    from click.testing import CliRunner

    from selfplay.cli import cli

    db = str(tmp_path / "t.db")
    r = CliRunner().invoke(
        cli, ["tournament", "--game", "tic_tac_toe", "random", "minimax", "--games", "10", "--db", db]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        cli, ["tournament", "--game", "tic_tac_toe", "minimax", "random", "--games", "10", "--db", db]
    )
    assert r.exit_code == 0 and "all 10 games already stored" in r.output, r.output
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM games").fetchone()[0] == 10


def test_match_and_tournament_take_the_game_from_the_checkpoints(tmp_path):
    from click.testing import CliRunner

    from selfplay.cli import cli

    r = CliRunner().invoke(cli, ["match", TTT, "minimax", "--games", "4"])
    assert r.exit_code == 0 and "(tic_tac_toe)" in r.output, r.output
    r = CliRunner().invoke(cli, ["tournament", TTT, "random", "--games", "4", "--db", str(tmp_path / "t.db")])
    assert r.exit_code == 0 and r.output.startswith("tic_tac_toe:"), r.output


# ---------------------------------------------------------------- files that are not ours, or broken
def _good_db(path):
    store = T.Store(path)
    plist = P.resolve(["random", "minimax"], "tic_tac_toe")
    T.run("tic_tac_toe", plist, 12, store)
    store.db.close()
    return path.read_bytes()


def _broken_files(tmp_path):
    good = _good_db(tmp_path / "good.db")
    rng = __import__("numpy").random.default_rng(0)
    cases = {"junk": rng.bytes(5000), "text": b"hello, not a database\n" * 20}
    for cut in (100, 1024, 4096, len(good) - 1000):  # truncated at assorted points
        cases[f"cut{cut}"] = good[:cut]
    for k in range(4):  # a page overwritten with noise
        b = bytearray(good)
        start = 4096 * (1 + k % max(1, len(good) // 4096 - 1))
        b[start : start + 512] = rng.bytes(512)
        cases[f"noise{k}"] = bytes(b)
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE invoices (id INTEGER, amount REAL)")
    db.execute("INSERT INTO invoices VALUES (1, 9.5)")
    db.commit()
    db.close()
    cases["foreign"] = foreign.read_bytes()
    return cases


def test_corrupt_truncated_and_foreign_files_are_refused_with_one_line_and_left_untouched(tmp_path):
    from click.testing import CliRunner

    from selfplay.cli import cli

    for name, data in _broken_files(tmp_path).items():
        path = tmp_path / f"{name}.db"
        path.write_bytes(data)
        r = CliRunner().invoke(
            cli, ["tournament", "--game", "tic_tac_toe", "random", "minimax", "--games", "4", "--db", str(path)]
        )
        errors = [line for line in r.output.splitlines() if line.startswith("Error")]
        if r.exit_code == 0:  # noise that happened to land in free space: the file is still intact
            assert name.startswith("noise"), (name, r.output)
            continue
        assert r.exit_code == 2 and len(errors) == 1 and str(path) in errors[0], (name, r.output)
        assert "Traceback" not in r.output
        assert path.read_bytes() == data, name  # nothing written


def test_a_full_disk_mid_run_is_one_line_and_the_stored_games_stay(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from selfplay.cli import cli

    db = tmp_path / "t.db"
    real, calls = T.Store.add_games, []

    def add_games(self, game_name, rows):
        calls.append(1)
        if len(calls) == 3:
            with self._writing():
                raise sqlite3.OperationalError("database or disk is full")
        return real(self, game_name, rows)

    monkeypatch.setattr(T.Store, "add_games", add_games)
    args = ["tournament", "--game", "tic_tac_toe", "random", "minimax", "--games", "40", "--db", str(db)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "disk is full" in r.output and "Traceback" not in r.output, r.output
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM games").fetchone()[0] == 16
    monkeypatch.setattr(T.Store, "add_games", real)
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0 and sqlite3.connect(db).execute("SELECT COUNT(*) FROM games").fetchone()[0] == 40


def test_a_full_disk_at_the_start_leaves_no_file_and_export_is_checked_first(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from selfplay.cli import cli

    real = sqlite3.connect

    class FullDb:
        def __init__(self, db):
            self.db = db

        def __getattr__(self, name):
            return getattr(self.db, name)

        def executescript(self, script):
            raise sqlite3.OperationalError("database or disk is full")

        def __enter__(self):
            return self.db.__enter__()

        def __exit__(self, *exc):
            return self.db.__exit__(*exc)

    monkeypatch.setattr(T.sqlite3, "connect", lambda *a, **k: FullDb(real(*a, **k)))
    db = tmp_path / "new.db"
    r = CliRunner().invoke(cli, ["tournament", "--game", "tic_tac_toe", "random", "minimax", "--db", str(db)])
    assert r.exit_code == 2 and "disk is full" in r.output and not db.exists(), r.output
    monkeypatch.setattr(T.sqlite3, "connect", real)
    r = CliRunner().invoke(
        cli,
        [
            "tournament",
            "--game",
            "tic_tac_toe",
            "random",
            "minimax",
            "--db",
            str(db),
            "--export",
            str(tmp_path / "missing" / "out.csv"),
        ],
    )
    assert r.exit_code == 2 and "does not exist" in r.output and not db.exists(), r.output
