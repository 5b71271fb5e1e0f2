"""The `selfplay` command: each command parses its options, calls the library, and prints.

``base`` holds the command group, the option types and the helpers commands share; each
other module holds commands (``train``, ``play`` and ``gtp``, ``rank``: ``tournament`` and
``match``, ``report``: ``eval``, ``web``: ``serve``), registered on the group when imported.
"""

from selfplay.cli import play, rank, report, train, web  # noqa: F401  (registers the commands)
from selfplay.cli.base import Real, Whole, cli, main

__all__ = ["Real", "Whole", "cli", "main"]
