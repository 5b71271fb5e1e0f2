"""Every shipped agent: it loads safely for the game its file is named after, its card sits
beside it and gives the `selfplay train` command that made it, and it has learned something
that could fail: it beats the uniformly random player from both seats."""

import numpy as np
import pytest

import games
from selfplay import arena, human
from selfplay.agents import RandomAgent
from selfplay.checkpoint import load_agent

SHIPPED = sorted(human.CHECKPOINT_DIR.glob("*.pt"))


def test_the_new_games_ship_agents():
    names = {p.stem for p in SHIPPED}
    assert {"tic_tac_toe", "connect_four", "othello", "hex_9x9"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_agent_has_its_card_and_beats_random_from_both_seats(path):
    agent = load_agent(path)
    game_name = agent.info["game"]
    assert games.slug(game_name) == path.stem  # play --game X finds it by its slug
    assert human.shipped_checkpoint(game_name) == path
    card = path.with_suffix(".md").read_text()
    assert "selfplay train" in card and "## Evaluation" in card
    game = games.make(game_name)
    result = arena.play(game, agent, RandomAgent(), arena.both_seats(40), np.random.default_rng(0), opening_plies=2)
    summary = result.summary()
    for seat in ("seat0", "seat1"):
        assert summary[seat]["score"] >= 0.85, summary
