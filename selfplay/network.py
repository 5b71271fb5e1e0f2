"""Q-networks: observation planes ``float32[B, C, H, W]`` in, one Q value per action out.

Values are from the point of view of the player to move and lie in (-1, 1): the head
ends in ``tanh`` (win +1, draw 0, loss -1). Illegal actions are masked to ``-inf`` by
:func:`masked` before any max or argmax.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from selfplay.config import NetConfig


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
        return self.body(obs).float()  # float32 Q under a bfloat16 autocast too


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
            nn.Conv2d(c, 4, 1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(4 * h * w, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, num_actions),
            nn.Tanh(),
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(obs))).float()  # float32 Q under a bfloat16 autocast too


class Canonical(nn.Module):
    """A Q-network that sees every position from the first player's side. Where the last
    plane (the mover plane) says the second player moves, it moves every plane's cells by
    the game's goal-swapping symmetry (``NativeGame.canonical_frame``) and sets the mover
    plane, asks the inner network, and moves the Q values back to the real actions. The
    same weights then play both colours; the map is a permutation, so gradients pass
    through it and the replay memory keeps real positions and real actions."""

    def __init__(self, inner: nn.Module, obs_shape, cells, actions):
        super().__init__()
        self.inner = inner
        c, h, w = obs_shape
        cells = torch.as_tensor(cells, dtype=torch.long)
        # one gather over the flattened planes: plane k's new cell j is old cell argsort(cells)[j];
        # the mover plane reads a column of ones appended after the planes
        image = (torch.arange(c)[:, None] * (h * w) + torch.argsort(cells)[None, :]).reshape(-1)
        image[(c - 1) * h * w :] = c * h * w
        self.register_buffer("image_index", image, persistent=False)
        self.register_buffer("same_index", torch.arange(c * h * w), persistent=False)
        self.register_buffer("actions", torch.as_tensor(actions, dtype=torch.long), persistent=False)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        b = obs.shape[0]
        flat = obs.reshape(b, -1)
        swap = flat[:, -1] < 0.5  # the mover plane (last) is ones where the first player moves
        index = torch.where(swap[:, None], self.image_index[None], self.same_index[None])
        x = torch.gather(torch.cat([flat, flat.new_ones(b, 1)], 1), 1, index).reshape(obs.shape)
        q = self.inner(x)
        return torch.where(swap[:, None], q[:, self.actions], q)


class SymmetryMean(nn.Module):
    """A Q-network whose Q is the mean over the board's symmetries (test-time
    augmentation): each position is asked in every symmetric image at once, in one batch
    of S x B, and each image's Q values are moved back to the real actions before the
    mean. Training augments with the same symmetries, so the images should agree; where
    the network is unsure they differ, and their mean tends to err less (measured in
    docs/experiments.md).
    ``cells``/``actions``/``channels`` as ``NativeGame.symmetries`` and
    ``symmetry_channels`` give them; row 0 is the identity. For play, not for training."""

    def __init__(self, inner: nn.Module, obs_shape, cells, actions, channels):
        super().__init__()
        import numpy as np

        from selfplay.replay import transform_planes

        self.inner = inner
        s = len(cells)
        # the images augmentation makes, of an observation whose every entry is its own index:
        # image k's entry i is the original's entry image_index[k, i]
        ids = np.broadcast_to(np.arange(math.prod(obs_shape)).reshape(1, *obs_shape), (s, *obs_shape))
        index = transform_planes(ids, np.asarray(cells), np.asarray(channels), np.arange(s)).reshape(s, -1)
        self.register_buffer("image_index", torch.as_tensor(index, dtype=torch.long), persistent=False)
        self.register_buffer("actions", torch.as_tensor(actions, dtype=torch.long), persistent=False)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        b, s = obs.shape[0], self.image_index.shape[0]
        images = obs.reshape(b, -1)[:, self.image_index]  # [B, S, C*H*W]
        q = self.inner(images.reshape(b * s, *obs.shape[1:])).reshape(b, s, -1)
        # in image k, action a of the original is action actions[k, a]
        back = torch.gather(q, 2, self.actions[None].expand(b, -1, -1))
        return back.mean(dim=1)


def symmetry_mean(net: nn.Module, game) -> nn.Module:
    """``net`` averaged over ``game``'s board symmetries (:class:`SymmetryMean`); ``net``
    itself for a game that declares none (the adapters) or only the identity."""
    symmetries = getattr(game, "symmetries", None)
    if symmetries is None:
        return net
    cells, actions = symmetries()
    if len(cells) < 2:
        return net
    return SymmetryMean(net, game.obs_shape, cells, actions, game.symmetry_channels()).eval()


def build(
    cfg: NetConfig, obs_shape: tuple[int, int, int], num_actions: int, frame=None, game_name: str = "this game"
) -> nn.Module:
    """The Q-network for a game's observation shape and action count; ``frame`` is the
    game's ``canonical_frame()``, needed when ``cfg.canonical`` (:func:`build_for`)."""
    cls = MLPQ if cfg.kind == "mlp" else ResNetQ
    net = cls(tuple(obs_shape), int(num_actions), cfg)
    if not cfg.canonical:
        return net
    if frame is None:
        from games.hex import SIZES

        raise ValueError(
            f"canonical must be off for {game_name}: it has no symmetry that swaps the players' goals "
            f"(the native Hex engines have one: hex_{SIZES[0]}x{SIZES[0]} to hex_{SIZES[-1]}x{SIZES[-1]})"
        )
    return Canonical(net, obs_shape, *frame)


def build_for(cfg: NetConfig, game) -> nn.Module:
    """The Q-network for a game (its shapes, and its canonical frame where it has one)."""
    frame_of = getattr(game, "canonical_frame", None)  # the adapters have none
    return build(cfg, game.obs_shape, game.num_actions, frame_of() if frame_of else None, game.name)


def native_bf16() -> bool:
    """Whether this CPU does bfloat16 matrix products natively (AMX or AVX-512 BF16, as
    oneDNN sees it); elsewhere ``--precision bf16`` runs slower than float32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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
