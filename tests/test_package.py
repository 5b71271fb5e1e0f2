"""The package as a user installs it: a wheel, not this source checkout."""

import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The project installed from a built wheel (no editable link) into its own folder."""
    target = tmp_path_factory.mktemp("site")
    root = os.getcwd()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--target",
            str(target),
            root,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return target


def test_a_non_editable_install_plays_the_shipped_connect_four_agent_from_another_folder(installed, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(installed), NO_COLOR="1")
    code = (
        "import selfplay, sys; from selfplay import human; p = human.shipped_checkpoint('connect_four'); "
        "print(p); assert str(p).startswith(sys.argv[1]), p; assert p.exists()"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(installed)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr
    # a whole game against the shipped agent: quit at once, then decline the rematch
    r = subprocess.run(
        [sys.executable, "-m", "selfplay", "play", "--game", "connect_four"],
        cwd=tmp_path,
        env=env,
        input="4\nquit\nn\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "agent plays" in r.stdout and "Thanks for playing. You: 0 won, 1 lost, 0 drawn." in r.stdout
    assert str(installed) in r.stdout  # the header names the installed checkpoint
