"""numpy arrays and batched game states as tensors, for ``torch.save`` dicts that load
with ``weights_only=True`` (a leaf: it imports nothing of selfplay)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch


def arrays(d: dict) -> dict:
    """A saved buffer's ``state_dict`` with its tensors back as numpy arrays."""
    return {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in d.items()}


def to_tensor(a: np.ndarray) -> torch.Tensor:
    if a.dtype == np.uint64:
        a = a.view(np.int64)
    return torch.from_numpy(np.ascontiguousarray(a).copy())


def state_to_dict(state) -> dict:
    out = {}
    for f in dataclasses.fields(state):
        a = getattr(state, f.name)
        if a.dtype == object:
            return {}  # adapter games hold engine objects: their batch restarts on resume
        out[f.name] = {"dtype": str(a.dtype), "data": to_tensor(a)}
    return out


def state_from_dict(template, d: dict):
    fields = {}
    for f in dataclasses.fields(template):
        item = d[f.name]
        a = item["data"].numpy()
        if item["dtype"] == "uint64":
            a = a.view(np.uint64)
        fields[f.name] = a.astype(item["dtype"])
    return dataclasses.replace(template, **fields)
