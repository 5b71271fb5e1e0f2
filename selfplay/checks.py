"""Numbers and choices checked once: the config fields declare their ranges, and every
command-line option and public function checks its numbers with the same two helpers.

    opt(default, help, lo=, hi=, choices=)   a config field with its help and its range
    whole(value, name, lo, hi)               an int in [lo, hi], or TypeError / ValueError
    real(value, name, lo, hi, lo_open)       a finite float in [lo, hi] (lo excluded with lo_open)
    check_fields(record)                     every declared field of a dataclass instance

A refusal is one line naming the number as the caller knows it: ``name`` is the option
(``--batch-size``) on the command line and the field or argument (``batch_size``) in
Python. Booleans are not numbers here, and NaN and infinities are never in range.
This module imports nothing of selfplay, so every other module may use it.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

#: the seeds every command and config accepts (numpy and torch both take them, with room
#: for the offsets that derive per-game and per-worker seeds)
SEED_MAX = 2**31 - 1


def opt(default, help: str, lo=None, hi=None, choices=None, lo_open: bool = False):
    """A config field with its one line of help and, for numbers, its range (``lo``,
    ``hi``; ``lo_open`` excludes ``lo``) or, for strings, its ``choices``: the CLI builds
    the option's type from them and :func:`check_fields` validates from them."""
    meta = {"help": help}
    if lo is not None or hi is not None:
        meta.update(lo=lo, hi=hi, lo_open=lo_open)
    if choices is not None:
        meta["choices"] = tuple(choices)
    return dataclasses.field(default=default, metadata=meta)


def _fmt(x) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:g}"


def whole(value, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int within [lo, hi]; TypeError for a non-integer, ValueError out
    of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    value = int(value)
    _in_range(value, name, lo, hi, False)
    return value


def real(value, name: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> float:
    """``value`` as a finite float within [lo, hi] (``lo`` itself refused with
    ``lo_open``); TypeError for a non-number, ValueError for NaN, inf or out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, not {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value}")
    _in_range(value, name, lo, hi, lo_open)
    return value


def _in_range(value, name, lo, hi, lo_open) -> None:
    low_bad = lo is not None and (value <= lo if lo_open else value < lo)
    high_bad = hi is not None and value > hi
    if not (low_bad or high_bad):
        return
    if lo is not None and hi is not None:
        span = f"in ({_fmt(lo)}, {_fmt(hi)}]" if lo_open else f"from {_fmt(lo)} to {_fmt(hi)}"
    elif lo is not None:
        span = f"> {_fmt(lo)}" if lo_open else f">= {_fmt(lo)}"
    else:
        span = f"<= {_fmt(hi)}"
    raise ValueError(f"{name} must be {span}, not {_fmt(value)}")


def check_field(fld: dataclasses.Field, value, name: str | None = None):
    """One declared field's value, checked by its metadata (and its annotated type)."""
    meta, name = fld.metadata, name or fld.name
    kind = fld.type if isinstance(fld.type, str) else getattr(fld.type, "__name__", "")
    if "choices" in meta:
        if value not in meta["choices"]:
            raise ValueError(f"{name} must be one of {', '.join(map(str, meta['choices']))}, not {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be true or false, not {value!r}")
        return value
    if kind == "int":
        return whole(value, name, meta.get("lo"), meta.get("hi"))
    if kind == "float":
        return real(value, name, meta.get("lo"), meta.get("hi"), meta.get("lo_open", False))
    return value


def check_fields(record) -> None:
    """Check every field of a dataclass instance that declares a range, choices or a
    number type; ints given for float fields are stored as floats."""
    for fld in dataclasses.fields(record):
        value = check_field(fld, getattr(record, fld.name))
        if fld.type == "float" and value is not getattr(record, fld.name):
            object.__setattr__(record, fld.name, value)


class TargetError(ValueError):
    """A file that may not be written where the user asked; one-line message."""


def writable_target(path, *, name: str, force: bool = False, sources=()):
    """``path`` as a :class:`pathlib.Path` when a new file may be written there, else
    TargetError naming ``name`` (the option or argument): a folder, a missing parent, a
    place that cannot be written, a file that is there already (unless ``force``), or one
    of ``sources`` (the files being read: never written over, ``force`` or not)."""
    import os
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        raise TargetError(f"{name} {path}: is a folder; name a file")
    for src in sources:
        try:
            same = p.exists() and Path(src).exists() and os.path.samefile(p, src)
        except OSError:
            same = False
        if same or p.resolve() == Path(src).resolve():
            raise TargetError(f"{name} {path}: is the file being read; name another")
    folder = p.parent
    if not folder.is_dir():
        raise TargetError(f"{name} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise TargetError(f"{name} {path}: cannot write there (read-only)")
    if p.exists() and not force:
        raise TargetError(f"{name} {path}: the file is there already; --force overwrites it")
    return p
