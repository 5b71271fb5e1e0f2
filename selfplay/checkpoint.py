"""Checkpoints: versioned, written atomically, loaded safely.

A checkpoint is a ``torch.save`` dict of tensors, numbers, strings, lists and dicts only,
read back with ``torch.load(weights_only=True)``: a file that carries code to execute is
refused, not run. Keys:

    format, format_version        "selfplay-checkpoint", FORMAT_VERSION
    game, history, derived        what games.make needs to rebuild the game (derived: the
                                  level of derived planes; true or false in files from
                                  before levels, absent in older ones: read as 1, 0, 0)
    obs_shape, num_actions        checked against the game on load
    net_config, train_config      dataclass fields as dicts
    weights, frozen_weights       state dicts of the online network and the frozen copy
    optimizer                     Adam's state dict
    counters                      moves, updates, episodes, wall_time (seconds of training)
    rng                           numpy generator state (JSON) and torch's RNG state
    selfplay                      the in-flight batch of games (native games) and seats
    replay                        the replay memory (only when asked for)
    last_eval                     the latest evaluation (JSON)
    averaged                      a play-only file whose weights are the mean of several
                                  checkpoints' (:func:`average`): their names and moves (JSON)

Writes go to a temporary file in the same folder, are flushed to disk, then renamed
over the target: an interrupted write never leaves a broken checkpoint behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import torch

FORMAT = "selfplay-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message is one line."""


def atomic_save(obj, path: str | os.PathLike) -> None:
    """torch.save to ``path`` via a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                torch.save(obj, f)
            except RuntimeError:  # torch's zip writer reports a failed write (a full disk) this way
                error = _write_error(f, path)
                if error is None:
                    raise  # not a failed write
                raise error from None
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; checkpoints are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_error(f, path: Path) -> OSError | None:
    """The OSError behind a failed ``torch.save`` (whose RuntimeError names no errno): one
    more write to the same file tells it (no space left, on a full disk); None when that
    write works, so the RuntimeError was not about writing."""
    try:
        os.write(f.fileno(), b"\0")
    except OSError as probe:
        return OSError(probe.errno, probe.strerror, str(path))
    return None


def learner_to_dict(learner, with_replay: bool = False) -> dict:
    """The checkpoint of ``learner``: what describes its game and network, then the
    learner's own state (:meth:`selfplay.dqn.Learner.state_dict`)."""
    cfg = learner.cfg
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "game": cfg.game,
        "history": cfg.history,
        "derived": cfg.derived,
        "obs_shape": list(learner.game.obs_shape),
        "num_actions": int(learner.game.num_actions),
        "net_config": dataclasses.asdict(cfg.net),
        "train_config": json.dumps(cfg.to_dict()),
        **learner.state_dict(with_replay),
    }


def save_learner(learner, path, with_replay: bool = False) -> None:
    atomic_save(learner_to_dict(learner, with_replay), path)


def slim(d: dict) -> dict:
    """A checkpoint for playing only: the network and what describes it, no optimizer,
    frozen copy, RNG or in-flight games (a few MB instead of four times that)."""
    keep = (
        "format",
        "format_version",
        "game",
        "history",
        "derived",
        "obs_shape",
        "num_actions",
        "net_config",
        "train_config",
        "weights",
        "counters",
        "last_eval",
        "averaged",
    )
    return {k: d[k] for k in keep if k in d}


#: what must be equal for two checkpoints' weights to be averaged: the same network on the
#: same observation of the same game
_SAME_NET = ("game", "history", "derived", "obs_shape", "num_actions", "net_config")


def average(paths) -> dict:
    """A play-only checkpoint whose weights are the element-wise mean of the online
    networks of ``paths`` (checkpoints of one run: the same game, planes and network), as
    KataGo averages its snapshots before a release (stochastic weight averaging). The
    greedy policy of a self-play run swings from one checkpoint to the next; the mean of
    a few late ones plays more steadily (docs/experiments.md). Everything but the weights
    comes from the file with the most moves; ``averaged`` records the files and their
    moves. Raise CheckpointError with one line when a file is unreadable or its network
    differs from the others'."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise CheckpointError("nothing to average: no checkpoint files given")
    ds = [load(p) for p in paths]
    for p, d in zip(paths[1:], ds[1:]):
        for key in _SAME_NET:
            if d.get(key) != ds[0].get(key):
                raise CheckpointError(
                    f"{p}: cannot be averaged with {paths[0]}: "
                    f"its {key} differs ({d.get(key)!r} against {ds[0].get(key)!r})"
                )
    moves = [int((d.get("counters") or {}).get("moves", 0)) for d in ds]
    newest = ds[max(range(len(ds)), key=lambda i: moves[i])]
    out = slim(newest)
    weights = {}
    for k, w in newest["weights"].items():
        if w.is_floating_point():
            weights[k] = (sum(d["weights"][k].double() for d in ds) / len(ds)).to(w.dtype)
        else:  # counters such as a batch norm's batches seen: the newest file's
            weights[k] = w.clone()
    out["weights"] = weights
    out["averaged"] = json.dumps({"files": [{"file": p.name, "moves": m} for p, m in zip(paths, moves)]})
    return out


def load(path: str | os.PathLike, game: str | None = None) -> dict:
    """Read and check a checkpoint, its weights against the network it describes
    included; raise CheckpointError with a one-line message."""
    d = _read(path, game)
    build_net(d, path)  # the weights must fit the network the file describes
    return d


def _read(path: str | os.PathLike, game: str | None = None) -> dict:
    """Every check of :func:`load` but building the network."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():  # a pipe, socket or device: reading it could wait forever
        raise CheckpointError(f"{path}: not a regular file (a pipe, socket or device), not a checkpoint")
    try:
        with warnings.catch_warnings():  # junk files make torch warn before it fails
            warnings.simplefilter("ignore")
            d = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" in str(e).lower():  # weights_only met a class or function to import: code
            raise CheckpointError(
                f"{path}: refused: it holds objects that safe loading does not allow (not a selfplay checkpoint)"
            ) from None
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt, truncated or not a torch file)") from None
    except Exception:  # torch's unpickler raises many kinds on junk (IndexError, EOFError, ...)
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt, truncated or not a torch file)") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a selfplay checkpoint")
    version = d.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{path}: malformed checkpoint (no valid format version)")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: written by a newer selfplay (format {version}); this one reads format {FORMAT_VERSION}"
        )
    missing = [k for k in ("game", "history", "net_config", "weights", "obs_shape", "num_actions") if k not in d]
    if missing:
        raise CheckpointError(f"{path}: incomplete checkpoint (missing {', '.join(missing)})")
    _check_fields(d, path)
    if game is not None and d["game"] != game:
        raise CheckpointError(f"{path}: is a checkpoint for {d['game']}, not {game}")
    return d


def _check_fields(d: dict, path) -> None:
    """Every field of the right type, so nothing downstream meets a surprise."""
    bad = []
    if not isinstance(d["game"], str):
        bad.append("game is not a string")
    if not isinstance(d["history"], int) or isinstance(d["history"], bool) or not 0 <= d["history"] <= 64:
        bad.append("history is not a small whole number")
    if not isinstance(d.get("derived", 0), int) or not 0 <= d.get("derived", 0) <= 8:
        bad.append("derived is not a level from 0 to 8")
    if not isinstance(d["net_config"], dict):
        bad.append("net_config is not a record")
    if not isinstance(d["weights"], dict) or not all(isinstance(v, torch.Tensor) for v in d["weights"].values()):
        bad.append("weights are not tensors")
    if not isinstance(d["obs_shape"], list) or not isinstance(d["num_actions"], int):
        bad.append("obs_shape/num_actions malformed")
    for key in ("last_eval", "train_config", "averaged"):
        if key in d:
            try:
                if not isinstance(d[key], str) or not isinstance(json.loads(d[key]), dict):
                    raise ValueError
            except ValueError:
                bad.append(f"{key} is not a JSON record")
    if "counters" in d and not isinstance(d["counters"], dict):
        bad.append("counters is not a record")
    if bad:
        raise CheckpointError(f"{path}: malformed checkpoint ({'; '.join(bad)})")


def check_resumable(d: dict, path):
    """The :class:`~selfplay.config.TrainConfig` a checkpoint resumes with; refuse, with one
    line naming the file, a checkpoint that cannot restart training."""
    from selfplay.config import TrainConfig

    missing = [k for k in ("train_config", "optimizer", "frozen_weights", "counters", "rng") if k not in d]
    if missing:
        raise CheckpointError(f"{path}: holds no training state to resume from (missing {', '.join(missing)})")
    try:
        cfg = TrainConfig.from_dict(json.loads(d["train_config"]))
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path}: its training config is not valid ({e})") from None
    c = d["counters"]
    if not all(isinstance(c.get(k), int) and c[k] >= 0 for k in ("moves", "updates", "episodes")):
        raise CheckpointError(f"{path}: its counters (moves, updates, episodes) are malformed")
    rng = d["rng"]
    if (
        not isinstance(rng, dict)
        or not isinstance(rng.get("numpy"), str)
        or not isinstance(rng.get("torch"), torch.Tensor)
    ):
        raise CheckpointError(f"{path}: its random-number state is malformed")
    return cfg


def build_net(d: dict, path="checkpoint"):
    """The online network of a loaded checkpoint dict, weights in place, in eval mode."""
    import games
    from selfplay.config import NetConfig
    from selfplay.network import build_for

    try:
        g = games.make(d["game"], history=int(d["history"]), derived=d.get("derived", 0))
    except (games.UnknownGameError, ValueError) as e:
        raise CheckpointError(f"{path}: {e}") from None
    if list(g.obs_shape) != list(d["obs_shape"]) or g.num_actions != d["num_actions"]:
        raise CheckpointError(
            f"{path}: network shapes do not match game {d['game']} (it reads observations "
            f"{list(d['obs_shape'])} and scores {d['num_actions']} actions; the game gives "
            f"{list(g.obs_shape)} and {g.num_actions}: a checkpoint from before a change of its planes?)"
        )
    try:
        net = build_for(NetConfig(**d["net_config"]), g)
        net.load_state_dict(d["weights"])
    except (TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            f"{path}: weights do not fit the network config ({str(e).splitlines()[0][:120]})"
        ) from None
    return g, net.eval()


def read_net(path: str | os.PathLike, game: str | None = None):
    """A checkpoint, read and checked, with the network it describes built once:
    ``(d, game, net)``; CheckpointError with a one-line message."""
    d = _read(path, game)
    g, net = build_net(d, path)
    return d, g, net
