"""``python -m selfplay`` and the ``selfplay`` console script: a Ctrl-C while the program
is still importing its libraries ends it with one line, like one at any later moment."""


def main() -> None:
    from selfplay.errors import exit_interrupted, interrupts_held

    try:
        with interrupts_held():  # most of the start-up: torch, then the command line
            # every command but --help loads torch, whose import calls back into Python
            # across pybind11: a Ctrl-C inside it aborts the process (interrupts_held)
            import torch  # noqa: F401

            from selfplay.cli import main as cli_main
    except KeyboardInterrupt:
        exit_interrupted("\ninterrupted: nothing was saved")
    cli_main()


if __name__ == "__main__":
    main()
