"""``python -m selfplay`` and the ``selfplay`` console script: a Ctrl-C while the program
is still importing its libraries ends it with one line, like one at any later moment."""
import sys


def main() -> None:
    try:
        from selfplay.cli import main as cli_main
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was saved", file=sys.stderr)
        sys.exit(130)
    cli_main()


if __name__ == "__main__":
    main()
