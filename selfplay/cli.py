"""The `selfplay` command: parses options and calls library functions, nothing more."""
from __future__ import annotations

import sys

import click

import games


class GameName(click.ParamType):
    """A registered game name; an unknown one is a one-line usage error."""

    name = "game"

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            try:
                games.make(value)
            except (games.UnknownGameError, ValueError) as e:
                self.fail(str(e), param, ctx)
        return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Teach a network to play board games by self-play; play it; rank checkpoints."""


@cli.command("games")
def games_cmd() -> None:
    """List the registered games with their action counts and observation shapes."""
    examples = [
        "tic_tac_toe",
        "connect_four",
        "openspiel:tic_tac_toe",
        "openspiel:connect_four",
        "openspiel:hex(board_size=5)",
        "openspiel:breakthrough(rows=6,columns=6)",
        "openspiel:othello",
        "openspiel:clobber",
        "pettingzoo:tictactoe_v3",
        "pettingzoo:connect_four_v3",
        "pettingzoo:go_v5(board_size=9)",
    ]
    click.echo(f"{'game':44s} {'actions':>7s}  observation")
    for name in examples:
        g = games.make(name)
        kind = "native" if ":" not in name else "adapter"
        click.echo(f"{name:44s} {g.num_actions:7d}  {'x'.join(map(str, g.obs_shape))}  ({kind})")
    click.echo("\nAny 2-player, zero-sum, deterministic, perfect-information pyspiel game works as "
               "openspiel:<name>(params); PettingZoo classic envs as pettingzoo:<env>.")


def main() -> None:
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning, module="pettingzoo")
    warnings.filterwarnings("ignore", message=".*old environment creation API.*")
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("\ninterrupted", err=True)
        sys.exit(130)
