"""Is network size what holds a connect four agent's greedy play back? Distil a searching
teacher into fresh networks of several sizes, and score each student's greedy move on the
shipped labelled positions (``selfplay.exact``), beside the teacher's own two scores.

Positions come from batches of games where each move is the teacher's greedy move, or with
probability epsilon (drawn per game from 0.1 to 0.6, as ``make_c4_positions.py`` draws it)
a random one; every position before the end is kept, except any whose board is one of the
labelled positions (so the score is on positions no student saw). The labels are the
teacher searching ``--search`` simulations from each position, every root move visited
first as MCTS mode visits them, turned into Q targets and weights the way connect four's
training turns them (``--target``, default mixed). Each
student is a fresh network trained on them by weighted squared error, with a tenth of the
positions held out to show how well it fits.

The reading: a student of the teacher's own shape that keeps the best outcome far more
often than the teacher's greedy network did has room the self-play run left unused (the
method, not capacity, is the limit); a student that stays near the teacher's greedy score
while a wider one climbs says the size is the limit.

    python scripts/c4_capacity.py checkpoints/connect_four.pt --games 3000 --widths 256 512
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

import numpy as np
import torch

import games
from selfplay import load_agent
from selfplay.agents import QAgent
from selfplay.config import NetConfig
from selfplay.exact import POSITIONS, exact_connect_four, load_c4_positions, states_from_moves
from selfplay.mcts import NetworkEvaluator, SearchConfig, auto_lanes, search
from selfplay.network import build_for, masked
from selfplay.sources import search_loss
from selfplay.targets import SEARCH_TARGETS


def board_keys(game, states) -> np.ndarray:
    """One bytes key per position: its observation planes (stones and the mover)."""
    obs = (game.observe(states) > 0.5).reshape(states.batch_size, -1)
    return np.array([r.tobytes() for r in np.packbits(obs, axis=1)])


def positions(teacher, n_games: int, batch: int, rng, exclude: set) -> tuple:
    """``(states, seen, left_out)``: one copy of every board before the end of ``n_games``
    epsilon-greedy games, less those in ``exclude``; how many positions were seen, and how
    many distinct boards ``exclude`` took out."""
    game, kept = teacher.game, []
    for start in range(0, n_games, batch):
        b = min(batch, n_games - start)
        eps = rng.uniform(0.1, 0.6, b)
        s = game.init(b)
        while not s.terminated.all():
            live = np.flatnonzero(~s.terminated)
            kept.append(games.take(s, live))
            s = game.step(s, games.explore(s, teacher.act(s, rng), eps, rng))  # eps: one per game
    states = games.concat(kept)
    keys = board_keys(game, states)
    _, first = np.unique(keys, return_index=True)  # one copy of each board
    first = np.sort(first)
    fresh = first[~np.isin(keys[first], list(exclude))]
    return games.take(states, fresh), len(keys), len(first) - len(fresh)


def labels(teacher, states, sims: int, target: str, batch: int, rng) -> tuple[np.ndarray, np.ndarray]:
    q_all, w_all = [], []
    evaluator = NetworkEvaluator(teacher.game, teacher.net)
    for start in range(0, states.batch_size, batch):
        s = games.take(states, np.arange(start, min(start + batch, states.batch_size)))
        cfg = SearchConfig(simulations=sims, lanes=auto_lanes(s.batch_size), root_all=True)  # as MCTS mode searches
        res = search(teacher.game, s, evaluator, cfg, rng)
        q, w = SEARCH_TARGETS[target](res, s.legal_action_mask)
        q_all.append(q)
        w_all.append(w)
    return np.concatenate(q_all), np.concatenate(w_all)


def train_student(net, obs, q, w, legal, epochs: int, lr: float, seed: int):
    """Train ``net`` on the labels, a tenth held out: ``(net, agreement on train, held out)``."""
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    n = len(obs)
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[: n // 10], order[n // 10 :]
    x, y, wt = (torch.from_numpy(a) for a in (obs, q, w))
    steps = epochs * (len(train) // 512)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = rng.permutation(train)
        for i in range(0, len(perm) - 511, 512):
            idx = torch.from_numpy(perm[i : i + 512])
            loss = search_loss(net(x[idx]), y[idx], wt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()

    def agree(rows):  # share of positions whose greedy move is the labels' best move
        with torch.no_grad():
            pred = masked(net(x[rows]), torch.from_numpy(legal[rows])).argmax(1).numpy()
        best = np.where(legal[rows], q[rows], -9).argmax(1)
        return float((pred == best).mean())

    return net, agree(train), agree(test)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("teacher", help="a connect four checkpoint")
    ap.add_argument("--games", type=int, default=3000)
    ap.add_argument("--search", type=int, default=200, help="the teacher's simulations per labelled position")
    ap.add_argument("--target", default="mixed", choices=sorted(SEARCH_TARGETS))
    ap.add_argument("--widths", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--finetune", action="store_true", help="also train a copy of the teacher itself on the labels, at lr / 10"
    )
    ap.add_argument("--cache", help="an .npz keeping the labelled positions: read if it exists, else written")
    ap.add_argument("--out", help="write the figures here as JSON (a new file; --force replaces one)")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    if args.out:  # checked before hours of work: never onto a file it did not make, nor onto its inputs
        from selfplay.checks import TargetError, writable_target

        try:
            writable_target(
                args.out, name="--out", force=args.force, sources=[args.teacher, args.cache or args.teacher]
            )
        except TargetError as e:
            raise SystemExit(f"error: {e}") from None
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    teacher = load_agent(args.teacher, game="connect_four")
    game = teacher.game
    t0 = time.time()

    if args.cache and os.path.exists(args.cache):
        with np.load(args.cache) as d:
            obs, q, w, legal = d["obs"], d["q"], d["w"], d["legal"]
        print(f"{len(obs):,} labelled positions from {args.cache}", flush=True)
    else:
        data = load_c4_positions(POSITIONS)
        exclude = set(board_keys(game, states_from_moves(game, data["moves"].astype(np.int64))))
        states, seen, dropped = positions(teacher, args.games, 256, rng, exclude)
        print(
            f"{states.batch_size:,} positions ({seen:,} seen, {dropped:,} labelled ones left out) "
            f"in {time.time() - t0:.0f} s",
            flush=True,
        )
        t1 = time.time()
        q, w = labels(teacher, states, args.search, args.target, 256, rng)
        print(f"labels: search {args.search}, {args.target} targets, {time.time() - t1:.0f} s", flush=True)
        obs, legal = game.observe(states), states.legal_action_mask
        if args.cache:
            np.savez(args.cache, obs=obs, q=q, w=w, legal=legal)

    def score(agent):
        return exact_connect_four(agent, np.random.default_rng(0))["kept_nontrivial"]

    out = {
        "teacher": args.teacher,
        "positions": len(obs),
        "search": args.search,
        "target": args.target,
        "teacher_greedy": score(teacher),
        "teacher_search": score(QAgent(game, teacher.net, search=args.search)),
        "students": [],
    }
    print(f"teacher greedy {out['teacher_greedy']:.1%}, searching {out['teacher_search']:.1%}", flush=True)
    runs = [(f"student {w_}x{args.layers}", w_, args.lr) for w_ in args.widths]
    if args.finetune:
        runs.append(("the teacher, fine-tuned", None, args.lr / 10))
    for name, width, lr in runs:
        torch.manual_seed(args.seed)
        if width is None:
            start = copy.deepcopy(teacher.net)
        else:
            start = build_for(NetConfig(kind="mlp", hidden=width, layers=args.layers), game)
        t2 = time.time()
        net, fit, held = train_student(start, obs, q, w, legal, args.epochs, lr, args.seed)
        row = {
            "name": name,
            "width": width,
            "parameters": sum(p.numel() for p in net.parameters()),
            "agree_train": fit,
            "agree_held_out": held,
            "greedy": score(QAgent(game, net)),
            "seconds": round(time.time() - t2),
        }
        out["students"].append(row)
        print(
            f"{name}: {row['parameters']:,} weights; best move agrees with the labels on "
            f"{fit:.1%} of its positions, {held:.1%} held out; greedy keeps the best outcome in "
            f"{row['greedy']:.1%} of the non-trivial labelled positions ({row['seconds']} s)",
            flush=True,
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
