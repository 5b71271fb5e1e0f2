"""Training settings: the records and their checks, nothing else (a leaf of the house).

:class:`TrainConfig` (with the network's :class:`NetConfig` and MCTS mode's
:class:`SearchSettings` inside) is the whole description of a run, saved in every
checkpoint. Each field declares its default, help and range once
(:func:`selfplay.checks.opt`); the CLI's options and the checks of the Python API are
derived from those declarations. :func:`selfplay.profiles.default_config` layers a game's
own defaults, MCTS mode's and a preset's.
"""

from __future__ import annotations

import dataclasses

from selfplay.checks import SEED_MAX, check_fields, opt

#: how a search becomes regression targets (``SearchSettings.search_target``), by name: the
#: option's choices and help; :mod:`selfplay.targets` computes each
SEARCH_TARGETS: dict[str, str] = {
    "visits": "the visited root actions' empirical Q, weighted by visit counts",
    "completed": "every legal root action: empirical Q where visited, else the root value; equal weights",
    "mixed": "completed Q's targets, weighted half by visit shares and half equally",
}

#: the most of anything counted in moves (steps, schedules): enough for weeks of play
MOVES_MAX = 10**12


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """Network shape; saved in every checkpoint."""

    kind: str = opt(
        "mlp", '"mlp" (small boards) or "resnet" (a small residual CNN for larger boards).', choices=("mlp", "resnet")
    )
    hidden: int = opt(256, "MLP: width of each hidden layer.", lo=1, hi=65_536)
    layers: int = opt(2, "MLP: number of hidden layers.", lo=1, hi=64)
    channels: int = opt(64, "resnet: channels of every convolution.", lo=1, hi=4_096)
    blocks: int = opt(4, "resnet: number of residual blocks.", lo=1, hi=128)
    canonical: bool = opt(
        False,
        "play every position in the first player's frame through the game's goal-swapping "
        "symmetry (Hex: the transpose when O moves), so both colours share one network.",
    )

    def __post_init__(self):
        check_fields(self)


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """MCTS mode's settings (``TrainConfig.search``); used when ``TrainConfig.mcts``."""

    simulations: int = opt(64, "simulations per move", lo=1, hi=1_000_000)
    leaf: str = opt(
        "network",
        'leaf evaluation, "network" (max legal Q) or "rollout" (random playouts)',
        choices=("network", "rollout"),
    )
    rollouts: int = opt(1, 'random playouts per leaf with leaf="rollout"', lo=1, hi=10_000)
    iteration_episodes: int = opt(
        64, "finished episodes per iteration (then a batch of gradient steps)", lo=1, hi=10**9
    )
    iteration_updates: int = opt(200, "gradient steps after each iteration", lo=0, hi=100_000)
    td_weight: float = opt(
        0.5, "weight of the plain TD loss mixed into each step (0 = search targets only)", lo=0, hi=1_000
    )
    temperature_moves: int = opt(
        8, "moves of each game chosen in proportion to visit counts, then greedily", lo=0, hi=100_000
    )
    dirichlet_alpha: float = opt(0.5, "Dirichlet noise concentration at the learner's roots", lo=0, hi=1_000)
    search_target: str = opt(
        "visits",
        "how a search becomes targets: " + "; ".join(f'"{name}": {doc}' for name, doc in SEARCH_TARGETS.items()),
        choices=tuple(SEARCH_TARGETS),
    )
    root_all: bool = opt(False, "visit every legal root action once before PUCT chooses")
    root_selection: str = opt(
        "puct",
        'how the learner\'s root chooses what to visit and which move to play: "puct" (with '
        'Dirichlet noise, root_all and temperature_moves) or "gumbel" (Gumbel top-k with '
        "sequential halving over considered_actions, the move sampled by its Gumbel noise)",
        choices=("puct", "gumbel"),
    )
    considered_actions: int = opt(16, 'root actions a "gumbel" search considers', lo=1, hi=4096)
    prior_temperature: float = opt(
        0.25,
        "temperature of the softmax over Q that gives the learner's searches their priors",
        lo=0,
        hi=100,
        lo_open=True,
    )
    opponent_search: bool = opt(
        True, "the frozen opponent searches too (else it plays its greedy move, epsilon-greedy)"
    )
    symmetric_search: bool = opt(
        False,
        "the searches ask the network's mean over the board's symmetries for their leaf values "
        "and priors, as trained agents play (one network call per symmetry)",
    )
    outcome_mix: float = opt(
        0.0,
        "share of the game's discounted outcome in the target of each searched move taken "
        "(Willemsen et al. 2021); 0 = search values only",
        lo=0,
        hi=1,
    )
    endgame_targets: int = opt(
        0,
        "searched positions with at most this many empty cells take the exact outcome of every "
        "legal move as its target, from the game's endgame solver (Othello's); 0 = off",
        lo=0,
        hi=20,
    )

    def __post_init__(self):
        check_fields(self)

    @property
    def gumbel_considered(self) -> int:
        """The learner's root actions a Gumbel search considers; 0 with PUCT at the root."""
        return self.considered_actions if self.root_selection == "gumbel" else 0


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; saved in every checkpoint."""

    game: str = opt("tic_tac_toe", "game name as given to games.make")
    history: int = opt(0, "number of earlier positions stacked into the observation", lo=0, hi=64)
    derived: int = opt(
        0,
        "add the engine's derived planes to the observation, up to this level: 0 none; 1 "
        "Hex's stones each group joins to an edge and its winning cells, connect four's cells "
        "that would complete four, Othello's legal moves; 2 adds Hex's empty cells on each "
        "player's shortest connection, and connect four's playable cells and the cells that "
        "would make three in a line free of the opponent's stones; 3 adds Hex's shortest "
        "connections with bridges and edge templates held, and the cells that save a bridge "
        "the other side has entered",
        lo=0,
        hi=3,
    )
    net: NetConfig = opt(NetConfig(), "network shape")
    steps: int = opt(200_000, "total moves to play (all parallel games together)", lo=1, hi=MOVES_MAX)
    num_envs: int = opt(64, "games played in lockstep; each move is one batched forward pass", lo=1, hi=100_000)
    batch_size: int = opt(256, "minibatch size of each gradient step", lo=1, hi=65_536)
    lr: float = opt(1e-3, "Adam learning rate", lo=0, hi=10, lo_open=True)
    lr_final: float = opt(
        0.0, "Adam's rate from --lr-final-at minutes of the run's clock on (0: --lr throughout)", lo=0, hi=10
    )
    lr_final_at: float = opt(
        0.0,
        "the minute of the run's own clock (resumes included) from which Adam's rate is --lr-final",
        lo=0,
        hi=1_000_000,
    )
    gamma: float = opt(0.99, "discount of the opponent's negated value", lo=0, hi=1)
    loss: str = opt("huber", '"huber" or "mse" on Q(s, a) of the action taken', choices=("huber", "mse"))
    double: bool = opt(False, "double DQN: argmax by the online net, value by the frozen one")
    n_step: int = opt(
        1,
        "plies per TD return over the alternating-sign trajectory: y = sum_k (-gamma)^k r_t+k "
        "+ (-gamma)^n max Q_frozen(s_t+n); 1 = one step",
        lo=1,
        hi=64,
    )
    augment: bool = opt(True, "train on random board symmetries of sampled transitions (native games)")
    target_update: int = opt(
        500, "gradient steps between the frozen copy's catch-ups (hard copy when tau == 1)", lo=1, hi=10**9
    )
    tau: float = opt(
        1.0, "1.0 = hard copy every target_update steps; < 1 = Polyak averaging at every step", lo=0, hi=1, lo_open=True
    )
    replay_capacity: int = opt(100_000, "replay memory capacity in transitions", lo=1, hi=10**9)
    learning_starts: int = opt(2_000, "transitions collected before the first gradient step", lo=0, hi=10**9)
    updates_per_step: int = opt(
        1, "gradient steps after each batched move of all parallel games (replay ratio)", lo=0, hi=10_000
    )
    eps_start: float = opt(1.0, "epsilon at the start of the schedule", lo=0, hi=1)
    eps_end: float = opt(0.05, "epsilon at the end of the schedule", lo=0, hi=1)
    eps_steps: int = opt(50_000, "moves over which epsilon is annealed", lo=0, hi=MOVES_MAX)
    eps_schedule: str = opt("linear", '"linear" or "exp" annealing', choices=("linear", "exp"))
    mcts: bool = opt(
        False,
        "MCTS mode: each self-play move is chosen by a search whose empirical root Q values "
        "become regression targets after every iteration of episodes",
    )
    search: SearchSettings = opt(SearchSettings(), "MCTS mode's settings (their own record)")
    eval_every: int = opt(20_000, "moves between evaluations (0 = only at the end)", lo=0, hi=MOVES_MAX)
    eval_games: int = opt(100, "games per seat in each evaluation against random and the frozen copy", lo=1, hi=100_000)
    ladder_games: int = opt(
        10,
        "games per seat against each rung of the evaluation ladder (the game's fixed opponents and "
        "--eval-opponents), whose Bradley-Terry Elo the curve plots; 0 = no ladder",
        lo=0,
        hi=100_000,
    )
    eval_opponents: str = opt(
        "", "more rungs for the evaluation ladder, comma-separated players (e.g. 'mcts:5000,gtp:gnugo --mode gtp')"
    )
    checkpoint_every: int = opt(50_000, "moves between checkpoints (0 = only at the end)", lo=0, hi=MOVES_MAX)
    seed: int = opt(0, "random seed (numpy and torch)", lo=0, hi=SEED_MAX)
    precision: str = opt(
        "fp32",
        'the network\'s arithmetic in self-play and the gradient steps: "fp32", or "bf16" '
        "(bfloat16 autocast; the weights, the optimizer and evaluation stay float32); bf16 "
        "pays on CPUs with AMX or AVX-512 BF16 and on GPUs, and is slower elsewhere",
        choices=("fp32", "bf16"),
    )

    def __post_init__(self):
        if isinstance(self.net, dict):
            object.__setattr__(self, "net", NetConfig(**self.net))
        if isinstance(self.search, dict):
            object.__setattr__(self, "search", SearchSettings(**self.search))
        check_fields(self)
        # the checks that tie fields together (each field's own range is declared above)
        checks = [
            (self.eps_end <= self.eps_start, f"eps_end ({self.eps_end:g}) must be <= eps_start ({self.eps_start:g})"),
            (
                self.num_envs <= self.steps,
                f"steps ({self.steps:,}) must be at least num_envs ({self.num_envs:,}): "
                "one batched move plays a move in every parallel game",
            ),
            (
                self.learning_starts <= self.replay_capacity,
                f"learning_starts ({self.learning_starts:,}) must be <= replay_capacity ({self.replay_capacity:,}): "
                "the replay memory never holds more, so no gradient step would ever run",
            ),
            (
                self.lr_final == 0 or self.lr_final_at > 0,
                f"lr_final ({self.lr_final:g}) needs lr_final_at (the minute of the run's clock it starts) above 0",
            ),
            (
                self.lr_final > 0 or self.lr_final_at == 0,
                f"lr_final_at ({self.lr_final_at:g}) needs lr_final (the rate from that minute on)",
            ),
            (
                self.mcts or self.learning_starts < self.steps,
                f"learning_starts ({self.learning_starts:,}) must be below steps ({self.steps:,}): "
                "no gradient step would run",
            ),
        ]
        _require(checks)

    def lr_at(self, seconds: float) -> float:
        """Adam's rate at ``seconds`` of the run's own clock: ``lr``, then ``lr_final`` from
        minute ``lr_final_at`` on (where it is set)."""
        return self.lr_final if self.lr_final and seconds >= 60 * self.lr_final_at else self.lr

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        d["net"] = NetConfig(**d["net"])
        if isinstance(d.get("derived"), bool):  # configs saved before derived had levels
            d["derived"] = int(d["derived"])
        search = dict(d.get("search") or {})
        for k in SEARCH_FIELDS & d.keys():  # configs saved before the search settings had a record
            search[k] = d.pop(k)
        for k, no_op in REMOVED_SEARCH_FIELDS.items():  # measured, did not pay, removed
            if k in search and search[k] == no_op:
                del search[k]
        d["search"] = SearchSettings(**search)
        return cls(**d)


#: search settings that were tried and removed, with the value that turned them off: a
#: config saved with that value loads (playout-cap randomisation, ``full_share``)
REMOVED_SEARCH_FIELDS = {"full_share": 1.0}


def _require(checks: list[tuple[bool, str]]) -> None:
    """Raise ValueError with the message of the first check that fails."""
    for ok, msg in checks:
        if not ok:
            raise ValueError(msg)


#: the names of SearchSettings' fields (accepted flat by default_config and old configs)
SEARCH_FIELDS = frozenset(f.name for f in dataclasses.fields(SearchSettings))
