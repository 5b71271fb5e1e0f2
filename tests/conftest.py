import os

import pytest
import torch

import games

torch.set_num_threads(1)
os.environ.setdefault("NO_COLOR", "1")

# the games the conformance suite runs: every registered native engine (a new one joins
# by registering), and adapters on small, quick instances
ALL_GAMES = [n for n in games.registered() if ":" not in n] + [
    "openspiel:tic_tac_toe",
    "openspiel:connect_four",
    "openspiel:hex(board_size=4)",
    "openspiel:breakthrough(rows=5,columns=5)",
    "openspiel:clobber(rows=4,columns=4)",
    "pettingzoo:tictactoe_v3",
    "pettingzoo:connect_four_v3",
    "pettingzoo:go_v5(board_size=5)",
]


@pytest.fixture(autouse=True)
def one_torch_thread(request, monkeypatch):
    """Every test's torch work takes one thread: ``selfplay train`` run in this process
    (CliRunner) resolves ``--threads auto`` to one thread too (``AUTO_THREADS``; a test
    marked ``auto_threads`` keeps the real rule). Two threads on a 2-core machine with
    another job on it made the tests' tiny networks 5 to 10 times slower; one thread
    takes the same time loaded or not."""
    if request.node.get_closest_marker("auto_threads") is None:
        from selfplay import distributed

        monkeypatch.setattr(distributed, "AUTO_THREADS", 1)
    yield
    torch.set_num_threads(1)


_before_session: dict = {}


def _sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM: the test run stops here")


def pytest_sessionstart(session):
    """A SIGTERM (from CI, from ``timeout``) stops the run at once as Ctrl-C does: pytest
    reports what ran and what failed, and exits. The handler lives as long as the session."""
    import signal

    _before_session[signal.SIGTERM] = signal.signal(signal.SIGTERM, _sigterm)


def pytest_sessionfinish(session, exitstatus):
    import signal

    for s, handler in _before_session.items():
        signal.signal(s, handler)


@pytest.fixture(autouse=True)
def signal_handlers_restored():
    """A test that starts Ray in this process (``ray.init``) gets Ray's SIGTERM handler,
    which would turn a SIGTERM from CI into ``SystemExit`` inside a later test: the
    handlers are put back after every test, so a SIGTERM ends the run at once."""
    import signal

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        if signal.getsignal(s) is not handler and handler is not None:
            signal.signal(s, handler)


@pytest.fixture(params=ALL_GAMES)
def game_name(request):
    return request.param
