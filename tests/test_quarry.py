"""Quarry, a Debian GUI for Go and Othello, plays whole Othello games with our engine under Xvfb.

Driven as a user would: an engine list and a new-game choice in Quarry's configuration file,
then its New Game dialog through the keyboard (xdotool). Each engine runs behind
``gtp_tee.py``, which writes the conversation as it happens, so the test knows when the game is
over; then Quarry saves the game as SGF (Ctrl+S), and the file is checked move by move against
our rules and our own SGF export. Needs ``quarry``, ``Xvfb`` and ``xdotool`` (scripts/install_engines
puts them in place); it fails, not skips, without them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import games
from games.othello import _popcount
from selfplay import gtp
from selfplay import sgf as S

ROOT = Path(__file__).resolve().parents[1]
OTHELLO = ROOT / "checkpoints" / "othello.pt"
TEE = Path(__file__).with_name("gtp_tee.py")
QUARRY, RHINO = "/usr/games/quarry", "/usr/games/gtp-rhino"


class Display:
    """An Xvfb server on a display number no other server holds, and xdotool on it."""

    def __init__(self):
        for tool in ("Xvfb", "xdotool"):
            assert shutil.which(tool), f"{tool} is missing: run scripts/install_engines"
        number = next(n for n in range(100 + os.getpid() % 500, 1000) if not Path(f"/tmp/.X{n}-lock").exists())
        self.server = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"], stderr=subprocess.DEVNULL
        )
        self.env = dict(os.environ, DISPLAY=f":{number}")
        for _ in range(200):
            if subprocess.run(["xdotool", "getmouselocation"], env=self.env, capture_output=True).returncode == 0:
                break
            assert self.server.poll() is None, f"Xvfb :{number} did not start"
            time.sleep(0.05)

    def xdo(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"xdotool {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout

    def keys(self, window_name: str, *keys: str) -> None:
        """Focus the newest visible window whose name matches, and type ``keys`` into it."""
        window = self.xdo("search", "--sync", "--onlyvisible", "--name", window_name).split()[-1]
        self.xdo("windowfocus", "--sync", window)
        for key in keys:
            self.xdo("key", "--clearmodifiers", key)

    def close(self):
        self.server.terminate()
        self.server.wait(timeout=10)


def _engine(name: str, log: Path, command: str) -> str:
    # Quarry names an engine by its screen name: "%n" alone, so no version needs guessing.
    return (
        f'[GTP Engine "{name}"]\nScreen name format\t= "%n"\nName\t\t\t= "{name}"\n'
        f'Command line\t\t= "{sys.executable} {TEE} {log} {command}"\nSupported games\t\t= "Reversi"\n\n'
    )


def _moves(log: Path, game) -> tuple[list[int], object]:
    """The moves of the game so far, read from one engine's conversation (each ``play`` it
    was told and each move it chose), with the state they reach; Othello's passes implicit."""
    s, moves = game.init(1), []
    said = re.findall(r"> play ([bw])\S* (\S+)\n< =|> genmove ([bw])\S*\n< = (\S+)", log.read_text(), re.I)
    for color, point in [(m[0] or m[2], (m[1] or m[3]).lower()) for m in said]:
        while "bw".index(color.lower()) != int(s.current_player[0]) and not s.terminated[0]:
            moves.append(64)  # the side to move had none: the controller skipped it
            s = game.step(s, np.array([64]))
        legal = {gtp.vertex(game, s, int(a)): int(a) for a in np.flatnonzero(s.legal_action_mask[0])}
        assert point in legal, f"{color} {point} is not legal after {moves}"
        moves.append(legal[point])
        s = game.step(s, np.array([legal[point]]))
    return moves, s


@pytest.mark.parametrize(
    "white, black",
    [("selfplay", "GRhino"), ("GRhino", "selfplay"), ("selfplay", "selfplay")],
)
def test_quarry_plays_a_whole_othello_game_with_our_engine_and_saves_what_our_rules_replay(tmp_path, white, black):
    assert Path(QUARRY).exists() and Path(RHINO).exists(), "quarry or grhino is missing: run scripts/install_engines"
    ours = f"{sys.executable} -m selfplay gtp --checkpoint {OTHELLO}"
    logs = {"white": tmp_path / "white.gtp", "black": tmp_path / "black.gtp"}
    commands = {"selfplay": ours, "GRhino": RHINO}
    names = {"white": f"{white} (white)", "black": f"{black} (black)"}
    home = tmp_path / "home"
    home.mkdir()
    (home / ".quarry").write_text(
        _engine(names["white"], logs["white"], commands[white])
        + _engine(names["black"], logs["black"], commands[black])
        + '[New Game Parameters]\nGame\t\t\t= "Reversi"\n'
        + f'White player name\t= "White"\nWhite is computer\t= true\nEngine playing white\t= "{names["white"]}"\n'
        + f'Black player name\t= "Black"\nBlack is computer\t= true\nEngine playing black\t= "{names["black"]}"\n'
    )
    display = Display()
    env = dict(display.env, HOME=str(home))
    display.env = env
    quarry = subprocess.Popen([QUARRY], env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "quarry.err", "w"))
    game = games.make("othello")
    try:
        display.keys("Quarry Control Center", "alt+n")  # New Game
        display.keys("New Game", "alt+f")  # Forward: the players, as configured
        display.keys("New Game", "alt+p")  # Play: 8x8, no time limit
        deadline = time.monotonic() + 300
        while True:
            assert quarry.poll() is None, f"quarry exited: {(tmp_path / 'quarry.err').read_text()[-500:]}"
            moves, s = _moves(logs["white"], game) if logs["white"].exists() else ([], game.init(1))
            if s.terminated[0]:
                break
            assert time.monotonic() < deadline, f"no end after 300 s; moves {moves}"
            time.sleep(1)
        time.sleep(1)  # Quarry marks the end
        saved = tmp_path / "game.sgf"
        display.keys("selfplay|GRhino|Quarry", "ctrl+s")
        display.keys("Save", "ctrl+a")
        display.xdo("type", "--delay", "20", str(saved))
        display.xdo("key", "Return")
        for _ in range(60):
            if saved.exists() and saved.read_text().rstrip().endswith(")"):
                break
            time.sleep(0.5)
        text = saved.read_text()
    finally:
        quarry.terminate()
        quarry.wait(timeout=10)
        display.close()
    for side in ("white", "black"):
        talk = logs[side].read_text()
        assert "< ?" not in talk, f"{side} refused or failed a command:\n{talk[-2000:]}"
    assert _moves(logs["black"], game)[0] == moves  # both engines saw the same game
    black_discs, white_discs = (int(x) for x in _popcount(s.stones[0]))
    score_black = 1.0 if black_discs > white_discs else 0.5 if black_discs == white_discs else 0.0
    ours_text = S.game_text("othello", moves, names["black"], names["white"], score_black)
    nodes = lambda t: re.findall(r";([BW])\[([a-h]{2})\]", t)  # noqa: E731
    assert nodes(text) == nodes(ours_text) and len(nodes(text)) == sum(a != 64 for a in moves)
    assert re.search(r"RE\[([^\]]*)\]", text).group(1) == re.search(r"RE\[([^\]]*)\]", ours_text).group(1)
