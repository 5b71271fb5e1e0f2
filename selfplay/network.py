"""Q-networks: observation planes ``float32[B, C, H, W]`` in, one Q value per action out.

Values are from the point of view of the player to move and lie in (-1, 1): the head
ends in ``tanh`` (win +1, draw 0, loss -1). Illegal actions are masked to ``-inf`` by
:func:`masked` before any max or argmax.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn


def opt(default, help: str):
    """A config field with its one line of help, declared together; the CLI reads the
    help from the field to declare the option."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """Network shape; saved in every checkpoint."""

    kind: str = opt("mlp", "\"mlp\" (small boards) or \"resnet\" (a small residual CNN for larger boards).")
    hidden: int = opt(256, "MLP: width of each hidden layer.")
    layers: int = opt(2, "MLP: number of hidden layers.")
    channels: int = opt(64, "resnet: channels of every convolution.")
    blocks: int = opt(4, "resnet: number of residual blocks.")

    def __post_init__(self):
        if self.kind not in ("mlp", "resnet"):
            raise ValueError(f"network kind must be 'mlp' or 'resnet', not {self.kind!r}")
        for f, most in (("hidden", 65_536), ("layers", 64), ("channels", 4_096), ("blocks", 128)):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= most:
                raise ValueError(f"network {f} must be a whole number from 1 to {most:,}, not {v!r}")


class MLPQ(nn.Module):
    def __init__(self, obs_shape, num_actions, cfg: NetConfig):
        super().__init__()
        n_in = 1
        for d in obs_shape:
            n_in *= d
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(cfg.layers):
            layers += [nn.Linear(n_in if i == 0 else cfg.hidden, cfg.hidden), nn.ReLU()]
        layers += [nn.Linear(cfg.hidden, num_actions), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.body(obs)


class _Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.b1(self.c1(x)))
        return torch.relu(x + self.b2(self.c2(y)))


class ResNetQ(nn.Module):
    def __init__(self, obs_shape, num_actions, cfg: NetConfig):
        super().__init__()
        c_in, h, w = obs_shape
        c = cfg.channels
        self.stem = nn.Sequential(nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.blocks = nn.Sequential(*[_Block(c) for _ in range(cfg.blocks)])
        self.head = nn.Sequential(
            nn.Conv2d(c, 4, 1), nn.ReLU(), nn.Flatten(),
            nn.Linear(4 * h * w, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, num_actions), nn.Tanh(),
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(obs)))


def build(cfg: NetConfig, obs_shape: tuple[int, int, int], num_actions: int) -> nn.Module:
    """The Q-network for a game's observation shape and action count."""
    cls = MLPQ if cfg.kind == "mlp" else ResNetQ
    return cls(tuple(obs_shape), int(num_actions), cfg)


def masked(q: torch.Tensor, legal_mask: torch.Tensor) -> torch.Tensor:
    """Q with illegal actions set to -inf, so they never win a max or argmax."""
    return q.masked_fill(~legal_mask, float("-inf"))


@torch.no_grad()
def legal_q(net: nn.Module, obs, legal_mask) -> torch.Tensor:
    """Q of every action for a batch of numpy observations ``float32[B, C, H, W]`` and
    legal masks ``bool[B, A]``, illegal actions at -inf, no gradient (acting, not learning)."""
    device = next(net.parameters()).device
    q = masked(net(torch.from_numpy(obs).to(device)), torch.from_numpy(legal_mask).to(device))
    return q.cpu()
