"""Replay memory: a fixed-capacity ring buffer of transitions stored compactly.

A transition is (obs, action, reward, next_obs, done, next_legal_mask) seen from the
mover at ``obs``; ``next_obs`` is from the point of view of the player to move next.
Binary observations are bit-packed (one bit per plane cell) and legal masks too, so a
connect four transition (2 planes x 42 cells) takes 11 + 11 bytes of boards, 1 byte of
mask, 2 bytes of action, 2 of reward (float16) and 1 of done: 28 bytes.
Non-binary observations are stored as float16.
"""

from __future__ import annotations

import numpy as np


def transform_planes(obs: np.ndarray, cells: np.ndarray, channels: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Observations ``[N, C, H, W]`` under board symmetry ``k[i]`` each: every plane's cells
    moved by ``cells[k]`` (new position j holds old cell ``argsort(cells)[j]``), then the
    planes reordered by ``channels[k]`` (``NativeGame.symmetry_channels``)."""
    n, c, h, w = obs.shape
    inv_cells = np.argsort(cells, axis=1)[k]
    moved = np.take_along_axis(obs.reshape(n, c, h * w), inv_cells[:, None, :], axis=2)
    if not (channels == np.arange(c)).all():
        moved = np.take_along_axis(moved, channels[k][:, :, None], axis=1)
    return moved.reshape(n, c, h, w)


class Replay:
    def __init__(self, capacity: int, obs_shape: tuple[int, ...], num_actions: int, binary: bool):
        if capacity < 1:
            raise ValueError("replay capacity must be >= 1")
        self.capacity = int(capacity)
        self.obs_shape = tuple(obs_shape)
        self.num_actions = int(num_actions)
        self.binary = bool(binary)
        n_cells = int(np.prod(obs_shape))
        if self.binary:
            obs_store = ((capacity, (n_cells + 7) // 8), np.uint8)
        else:
            obs_store = ((capacity, n_cells), np.float16)
        self.obs = np.zeros(*obs_store)
        self.next_obs = np.zeros(*obs_store)
        self.action = np.zeros(capacity, np.int16 if num_actions < 2**15 else np.int32)
        self.reward = np.zeros(capacity, np.float16)
        self.done = np.zeros(capacity, bool)
        self.next_mask = np.zeros((capacity, (num_actions + 7) // 8), np.uint8)
        self.size = 0
        self.pos = 0

    @property
    def bytes_per_transition(self) -> int:
        return sum(
            a.itemsize * int(np.prod(a.shape[1:]))
            for a in (self.obs, self.next_obs, self.action, self.reward, self.done, self.next_mask)
        )

    def _pack(self, obs: np.ndarray) -> np.ndarray:
        flat = obs.reshape(len(obs), -1)
        return np.packbits(flat.astype(bool), axis=1) if self.binary else flat.astype(np.float16)

    def _unpack(self, stored: np.ndarray) -> np.ndarray:
        n_cells = int(np.prod(self.obs_shape))
        if self.binary:
            flat = np.unpackbits(stored, axis=1, count=n_cells).astype(np.float32)
        else:
            flat = stored.astype(np.float32)
        return flat.reshape(len(stored), *self.obs_shape)

    def add(self, obs, action, reward, next_obs, done, next_mask) -> None:
        """Add a batch of N transitions (arrays with a leading axis N)."""
        n = len(action)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx] = self._pack(obs)
        self.next_obs[idx] = self._pack(next_obs)
        self.action[idx] = action
        self.reward[idx] = reward
        self.done[idx] = done
        self.next_mask[idx] = np.packbits(next_mask, axis=1)
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A uniform random minibatch (with replacement) of unpacked transitions."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay memory")
        idx = rng.integers(0, self.size, batch_size)
        return {
            "obs": self._unpack(self.obs[idx]),
            "action": self.action[idx].astype(np.int64),
            "reward": self.reward[idx].astype(np.float32),
            "next_obs": self._unpack(self.next_obs[idx]),
            "done": self.done[idx],
            "next_mask": np.unpackbits(self.next_mask[idx], axis=1, count=self.num_actions).astype(bool),
        }

    def augment(
        self,
        batch: dict[str, np.ndarray],
        cells: np.ndarray,
        actions: np.ndarray,
        channels: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, np.ndarray]:
        """Apply one random board symmetry per sample (in place of the sample).

        ``cells[k]``/``actions[k]`` map old cell/action ids to new ones and ``channels[k]``
        says which old plane each new one is (see ``NativeGame.symmetries`` and
        ``symmetry_channels``); the planes, the action and the next legal mask move
        together, so the transition stays a true transition of the game."""
        n = len(batch["action"])
        k = rng.integers(0, len(cells), n)
        inv_actions = np.argsort(actions, axis=1)[k]
        out = dict(batch)
        for key in ("obs", "next_obs"):
            out[key] = transform_planes(batch[key], cells, channels, k)
        out["action"] = actions[k, batch["action"]]
        out["next_mask"] = np.take_along_axis(batch["next_mask"], inv_actions, axis=1)
        return out

    def state_dict(self) -> dict:
        n = self.size
        return {
            k: getattr(self, k)[:n].copy() for k in ("obs", "next_obs", "action", "reward", "done", "next_mask")
        } | {"size": n, "pos": self.pos}

    def extend(self, d: dict) -> None:
        """Append the rows of another memory's ``state_dict()`` (stored form, no unpacking):
        how a learner takes in what its actors played."""
        n = int(d["size"])
        idx = (self.pos + np.arange(n)) % self.capacity
        for k in ("obs", "next_obs", "action", "reward", "done", "next_mask"):
            getattr(self, k)[idx] = np.asarray(d[k])[:n]
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def clear(self) -> None:
        self.size = self.pos = 0

    def load_state_dict(self, d: dict) -> None:
        n = int(d["size"])
        if n > self.capacity:
            raise ValueError("saved replay memory is larger than this one's capacity")
        for k in ("obs", "next_obs", "action", "reward", "done", "next_mask"):
            getattr(self, k)[:n] = np.asarray(d[k])
        self.size, self.pos = n, int(d["pos"]) % self.capacity


class SearchTargets:
    """Ring buffer of searched positions for MCTS training: the observation, a target Q
    for every action and the weight of each action in the regression (a row sums to 1;
    see :mod:`selfplay.targets` for how a search fills them)."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], num_actions: int):
        self.capacity = int(capacity)
        self.obs = np.zeros((capacity, *obs_shape), np.float16)
        self.q = np.zeros((capacity, num_actions), np.float16)
        self.weight = np.zeros((capacity, num_actions), np.float16)
        self.size = 0
        self.pos = 0

    def add(self, obs: np.ndarray, q: np.ndarray, weight: np.ndarray) -> None:
        n = len(obs)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx] = obs
        self.q[idx] = q
        self.weight[idx] = weight
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def state_dict(self) -> dict:
        n = self.size
        return {
            "obs": self.obs[:n].copy(),
            "q": self.q[:n].copy(),
            "weight": self.weight[:n].copy(),
            "size": n,
            "pos": self.pos,
        }

    def extend(self, d: dict) -> None:
        """Append the rows of another buffer's ``state_dict()``."""
        self.add(np.asarray(d["obs"]), np.asarray(d["q"]), np.asarray(d["weight"]))

    def clear(self) -> None:
        self.size = self.pos = 0

    def load_state_dict(self, d: dict) -> None:
        n = int(d["size"])
        if n > self.capacity:
            raise ValueError("saved search targets are more than this buffer's capacity")
        for k in ("obs", "q", "weight"):
            getattr(self, k)[:n] = np.asarray(d[k])
        self.size, self.pos = n, int(d["pos"]) % self.capacity

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        idx = rng.integers(0, self.size, batch_size)
        return {
            "obs": self.obs[idx].astype(np.float32),
            "q": self.q[idx].astype(np.float32),
            "weight": self.weight[idx].astype(np.float32),
        }

    @staticmethod
    def augment(
        batch: dict[str, np.ndarray],
        cells: np.ndarray,
        actions: np.ndarray,
        channels: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, np.ndarray]:
        """One random board symmetry per sample: the planes, and the target and weight of
        every action, move together (see ``Replay.augment``)."""
        n = len(batch["obs"])
        k = rng.integers(0, len(cells), n)
        inv_actions = np.argsort(actions, axis=1)[k]
        return {
            "obs": transform_planes(batch["obs"], cells, channels, k),
            "q": np.take_along_axis(batch["q"], inv_actions, axis=1),
            "weight": np.take_along_axis(batch["weight"], inv_actions, axis=1),
        }


class PendingTargets:
    """Search targets of games still in play (MCTS mode with ``outcome_mix``), held per
    game until it ends, so that its outcome can be mixed into the target of each move
    taken: ``q[a] <- (1 - mix) * q[a] + mix * gamma^k * R``, with R the game's result for
    that move's mover and k the plies after the move (Willemsen et al. 2021 average the
    game's outcome and the search value). Rows are kept per game in arrays that double
    their length when a game outgrows them."""

    _FIELDS = ("obs", "q", "weight", "action", "mover", "ply")

    def __init__(self, num_envs: int, obs_shape: tuple[int, ...], num_actions: int, length: int = 16):
        self.obs = np.zeros((num_envs, length, *obs_shape), np.float16)
        self.q = np.zeros((num_envs, length, num_actions), np.float32)
        self.weight = np.zeros((num_envs, length, num_actions), np.float16)
        self.action = np.zeros((num_envs, length), np.int64)
        self.mover = np.zeros((num_envs, length), np.int64)
        self.ply = np.zeros((num_envs, length), np.int64)
        self.count = np.zeros(num_envs, np.int64)

    def _grow(self, length: int) -> None:
        for k in self._FIELDS:
            old = getattr(self, k)
            new = np.zeros((old.shape[0], length, *old.shape[2:]), old.dtype)
            new[:, : old.shape[1]] = old
            setattr(self, k, new)

    def add(self, envs, obs, q, weight, action, mover, ply) -> None:
        """One searched move in each game of ``envs``."""
        if len(envs) and self.count[envs].max() >= self.obs.shape[1]:
            self._grow(2 * self.obs.shape[1])
        c = self.count[envs]
        for k, v in zip(self._FIELDS, (obs, q, weight, action, mover, ply)):
            getattr(self, k)[envs, c] = v
        self.count[envs] += 1

    def finish(self, envs, rewards, plies, gamma: float, mix: float):
        """The rows of the games in ``envs``, which just ended after ``plies`` moves with
        ``rewards[i, player]``, as (obs, q, weight) with the outcome mixed in, game by game
        in ``envs`` order; those games start empty again."""
        envs = np.asarray(envs)
        # (game, slot) of every stored row, game by game in ``envs`` order
        game, slot = np.nonzero(np.arange(self.obs.shape[1])[None, :] < self.count[envs][:, None])
        at = (envs[game], slot)
        obs, q, weight = self.obs[at], self.q[at], self.weight[at]
        action, mover, ply = self.action[at], self.mover[at], self.ply[at]
        z = np.asarray(rewards, np.float64)[game, mover] * gamma ** (np.asarray(plies)[game] - 1 - ply)
        rows = np.arange(len(q))
        q[rows, action] = (1 - mix) * q[rows, action] + mix * z
        self.count[envs] = 0
        return obs, q.astype(np.float32), weight

    def state_dict(self) -> dict:
        n = int(self.count.max(initial=0))
        return {"count": self.count.copy(), **{k: getattr(self, k)[:, :n].copy() for k in self._FIELDS}}

    def load_state_dict(self, d: dict) -> None:
        count = np.asarray(d["count"], np.int64)
        if count.shape != self.count.shape:
            raise ValueError("saved pending search targets are for another number of games")
        n = int(np.asarray(d["obs"]).shape[1])
        if n > self.obs.shape[1]:
            self._grow(n)
        for k in self._FIELDS:
            getattr(self, k)[:, :n] = np.asarray(d[k])
        self.count = count
