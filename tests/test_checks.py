"""Every number is checked once, the same way on the command line and in Python: NaN,
infinities, out-of-range and wrong-type values are refused with one line naming the
option (``--batch-size``) or the argument (``batch_size``), before any work."""

import dataclasses
import math
import os

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import games
from selfplay import checks, config, profiles
from selfplay.cli import Real, Whole, cli
from selfplay.config import NetConfig
from selfplay.players import load_agent

ROOT = os.getcwd()
TTT = f"{ROOT}/checkpoints/tic_tac_toe.pt"
C4 = f"{ROOT}/checkpoints/connect_four.pt"
#: arguments that make each command runnable, so only the option under test can fail
ARGS = {
    "train": [],
    "play": ["--game", "tic_tac_toe", "--checkpoint", TTT],
    "tournament": ["random", "minimax"],
    "match": ["random", "minimax"],
    "eval": [TTT],
    "gtp": ["--checkpoint", f"{ROOT}/checkpoints/openspiel_hex_board_size_5.pt"],
    "serve": [],
}


def _numeric_options():
    for name, cmd in cli.commands.items():
        for p in cmd.params:
            if isinstance(p, click.Option) and isinstance(p.type, (Whole, Real)):
                yield name, p


OPTIONS = list(_numeric_options())


def _bad_values(t) -> list[str]:
    """Values outside an option's range or of the wrong kind."""
    out = ["nan", "inf", "-inf", "abc", ""]
    if t.lo is not None:
        out.append(str(t.lo - 1))
        if isinstance(t, Real) and t.lo_open:
            out.append(str(t.lo))
    if t.hi is not None:
        out += [str(t.hi + 1), str(10**30)]
    if isinstance(t, Whole):
        out.append("1.5")
    return out


def test_every_command_checks_its_numbers_with_the_shared_types():
    """No option of any command takes a bare int or float (which would let NaN, inf or
    a negative count through unchecked)."""
    loose = [
        (name, p.opts[0])
        for name, cmd in cli.commands.items()
        for p in cmd.params
        if isinstance(p, click.Option)
        and p.type in (click.INT, click.FLOAT)
        or isinstance(p.type, (click.IntRange, click.FloatRange))
    ]
    assert not loose, loose
    assert len(OPTIONS) >= 50


@pytest.mark.parametrize("command,option", OPTIONS, ids=[f"{c}{p.opts[0]}" for c, p in OPTIONS])
def test_an_out_of_range_or_mistyped_number_is_one_line_naming_the_option_before_any_work(
    command, option, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    flag = option.opts[0]
    for value in _bad_values(option.type):
        r = CliRunner().invoke(cli, [command, *ARGS[command], flag, value])
        errors = [line for line in r.output.splitlines() if line.startswith("Error")]
        assert r.exit_code == 2, (flag, value, r.output)
        assert len(errors) == 1 and flag in errors[0], (flag, value, r.output)
        assert "Traceback" not in r.output
        assert not any(tmp_path.iterdir()), f"{flag} {value!r} left files behind"


def _config_fields():
    for record in (config.TrainConfig, config.SearchSettings, NetConfig):
        for f in dataclasses.fields(record):
            if f.type in ("int", "float") and "lo" in f.metadata:
                yield record, f


FIELDS = list(_config_fields())

junk = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**40), 10**40), st.text(max_size=4), st.booleans()
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), junk)
def test_a_config_field_takes_only_numbers_in_its_declared_range(field, value):
    record, f = field
    meta = f.metadata
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    fits_type = is_number and (f.type == "float" or isinstance(value, int))
    in_range = (
        fits_type
        and math.isfinite(value)
        and meta["lo"] <= value <= meta["hi"]
        and not (meta.get("lo_open") and value == meta["lo"])
    )
    if in_range:
        checks.check_field(f, value)  # accepted
        return
    with pytest.raises((TypeError, ValueError), match=f.name):
        if record is NetConfig:
            NetConfig(**{f.name: value})
        else:
            profiles.default_config("tic_tac_toe", **{f.name: value})


@given(
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(10**30), 10**30),
        st.booleans(),
        st.text(max_size=3),
    )
)
def test_whole_and_real_accept_exactly_the_finite_numbers_in_range(x):
    ok_int = isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 100
    if ok_int:
        assert checks.whole(x, "n", 0, 100) == x
    else:
        with pytest.raises((TypeError, ValueError), match="^n must"):
            checks.whole(x, "n", 0, 100)
    ok_real = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and 0 < x <= 1
    if ok_real:
        assert checks.real(x, "t", 0, 1, lo_open=True) == float(x)
    else:
        with pytest.raises((TypeError, ValueError), match="^t must"):
            checks.real(x, "t", 0, 1, lo_open=True)


def test_the_python_api_refuses_wrong_types_and_ranges_at_its_boundary():
    with pytest.raises(TypeError, match="checkpoint path"):
        load_agent(123)
    for kw, err in [
        ({"search": "10"}, TypeError),
        ({"search": 0}, ValueError),
        ({"search": 2.5}, TypeError),
        ({"move_time": -1}, ValueError),
        ({"move_time": float("nan")}, ValueError),
        ({"move_time": "1"}, TypeError),
        ({"game": 3}, TypeError),
    ]:
        with pytest.raises(err, match=next(iter(kw))):
            load_agent(C4, **kw)
    agent = load_agent(C4)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="game state"):
        agent.act("state", rng)
    with pytest.raises(ValueError, match="connect_four"):
        agent.act(games.make("tic_tac_toe").init(2), rng)
    g = games.make("connect_four")
    for bad in (2.5, "3", None, True):
        with pytest.raises(TypeError, match="batch_size"):
            g.init(bad)
    with pytest.raises(ValueError, match="batch_size"):
        g.init(-1)
    s = g.init(2)
    with pytest.raises(TypeError, match="integers"):
        g.step(s, np.array([3.0, 3.0]))
    with pytest.raises(TypeError, match="game state"):
        g.step("state", np.array([3, 3]))
    assert agent.act(s, rng).shape == (2,)


def test_the_shared_types_read_whole_numbers_written_in_any_usual_way():
    t = Whole(0, 10**12)
    assert t.convert("1e6", None, None) == 1_000_000 and t.convert("1_000", None, None) == 1000
    with pytest.raises(click.UsageError, match="whole number"):
        t.convert("1.5", None, None)
