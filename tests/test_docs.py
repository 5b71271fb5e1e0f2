"""The docs' code is true: the worked example of docs/new_game.md is a working engine."""

import importlib.util
import inspect
import re
from pathlib import Path

import pytest
import test_games_conformance as conformance
import test_games_lockstep as lockstep

import games
from games import core

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture
def four_in_a_row(tmp_path):
    """The engine of docs/new_game.md, loaded from the page (registered for this test only)."""
    text = (DOCS / "new_game.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    path = tmp_path / "four_in_a_row.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("four_in_a_row", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    yield "four_in_a_row"
    core._REGISTRY.pop("four_in_a_row", None)


def test_new_game_example_passes_the_lockstep_and_conformance_suites(four_in_a_row):
    g = games.make(four_in_a_row)
    assert g.num_actions == 25
    assert lockstep._lockstep_with_pyspiel(four_in_a_row, 2000, seed=3) > 2000 * 8
    ran = []
    for name, test in vars(conformance).items():
        params = inspect.signature(test).parameters if name.startswith("test_") else {}
        if "game_name" in params or "name" in params:
            test(four_in_a_row)
            ran.append(name)
    assert len(ran) >= 8


def test_a_game_added_by_the_guide_is_listed_by_selfplay_games(four_in_a_row):
    from click.testing import CliRunner

    from selfplay.cli import cli

    r = CliRunner().invoke(cli, ["games"])
    assert r.exit_code == 0 and "four_in_a_row" in r.output
    names = [line.split()[0] for line in r.output.splitlines()[1:] if line and ":" not in line.split()[0]]
    assert names.index("hex_5x5") < names.index("hex_10x10")  # sizes in order
