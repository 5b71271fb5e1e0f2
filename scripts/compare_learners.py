"""Train learner configurations for the same wall-clock budget (one CPU core each where
there are cores enough; the table says when not), then compare them: head-to-head
Bradley-Terry Elo with 95% intervals (both seats, seeded openings), the labelled connect
four positions where the greedy move keeps the best outcome (all and non-trivial), and
points against OpenSpiel's MCTS.

    python scripts/compare_learners.py --game connect_four --minutes 15 \\
        --config dqn: --config mcts:--mcts --games 200 --out runs/compare

Each ``--config NAME:OPTIONS`` is a ``selfplay train`` run with those extra options (split
on spaces). Runs go side by side (``--parallel``, default: as many as there are configs,
at most the CPU count), each with ``--threads 1 --workers 0``. A run folder that already holds a
finished run is reused, so the evaluation can be redone without training again.
Prints a markdown table for docs/benchmarks.md or docs/experiments.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _sharing(args, runs: int) -> str:
    """How the runs shared the machine: one core each, or more processes than cores."""
    cores = os.cpu_count() or 1
    side_by_side = min(args.parallel or min(runs, cores), runs)
    return "one core each" if side_by_side <= cores else f"{side_by_side} processes side by side on {cores} cores"


def train_all(args, configs: list[tuple[str, list[str]]]) -> None:
    pending = [(n, o) for n, o in configs if not (args.out / n / "latest.pt").exists()]
    procs: list[tuple[str, subprocess.Popen]] = []
    parallel = args.parallel or min(len(pending), os.cpu_count() or 1)
    while pending or procs:
        while pending and len(procs) < parallel:
            name, opts = pending.pop(0)
            cmd = [
                sys.executable,
                "-m",
                "selfplay.cli",
                "train",
                "--game",
                args.game,
                "--out",
                str(args.out / name),
                "--minutes",
                str(args.minutes),
                "--steps",
                str(10**9),
                "--eval-every",
                "0",
                "--threads",
                "1",
                "--workers",
                "0",
                "--seed",
                str(args.seed),
                *opts,
            ]
            log = open(args.out / f"{name}.log", "w")
            print(f"[{time.strftime('%H:%M:%S')}] training {name}: {shlex.join(cmd[3:])}", flush=True)
            procs.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
        time.sleep(2)
        for name, p in list(procs):
            if p.poll() is not None:
                procs.remove((name, p))
                print(f"[{time.strftime('%H:%M:%S')}] {name} finished (exit {p.returncode})", flush=True)
                if p.returncode != 0:
                    raise SystemExit(f"training {name} failed: see {args.out / (name + '.log')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--game", default="connect_four")
    ap.add_argument("--minutes", type=float, default=15.0, help="training wall clock per configuration")
    ap.add_argument(
        "--config",
        action="append",
        default=None,
        help="NAME:OPTIONS for selfplay train (repeatable) [default: dqn: and mcts:--mcts]",
    )
    ap.add_argument("--games", type=int, default=200, help="head-to-head games per pair (both seats)")
    ap.add_argument("--mcts-sims", type=int, default=1000, help="OpenSpiel MCTS opponent's simulations")
    ap.add_argument("--mcts-games", type=int, default=50, help="games per seat against each reference opponent")
    ap.add_argument(
        "--opponent",
        action="append",
        default=None,
        help="a reference opponent as the player registry names it (repeatable): 'gtp:gtp-rhino -l 1', "
        "mcts:N, random [default: mcts:--mcts-sims]",
    )
    ap.add_argument(
        "--opening-plies", type=int, default=None, help="random plies of each opening [default: the game's]"
    )
    ap.add_argument("--parallel", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/compare"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    import games
    from selfplay import arena, evaluate, profiles, ratings
    from selfplay.checkpoint import load
    from selfplay.players import load_agent

    configs = [
        (c.split(":", 1)[0], shlex.split(c.split(":", 1)[1]) if ":" in c else [])
        for c in (args.config or ["dqn:", "mcts:--mcts"])
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    train_all(args, configs)

    names = [n for n, _ in configs]
    agents = {n: load_agent(args.out / n / "latest.pt", name=n) for n in names}
    info = {}
    for n in names:
        c = load(args.out / n / "latest.pt")["counters"]
        info[n] = {"moves": int(c["moves"]), "updates": int(c["updates"]), "seconds": float(c["wall_time"])}
    game = games.make(args.game)
    planned = profiles.schedule(args.game, args.games, args.seed, args.opening_plies)
    opponents = args.opponent or [f"mcts:{args.mcts_sims}"]
    results = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            res = arena.play_planned(
                game, agents[names[i]], agents[names[j]], planned, np.random.default_rng(args.seed)
            )
            results += [(i, j, float(s)) for s in res.scores]
            print(f"{names[i]} vs {names[j]}: {res.summary()}", flush=True)
    rat = ratings.fit(names, results, anchor=0)
    rows = []
    for k, n in enumerate(names):
        row = {"name": n, "elo": rat[k].elo, "ci95": rat[k].ci95, **info[n]}
        exact = profiles.profile(args.game).exact_eval
        if exact is not None:
            ex = exact(agents[n], np.random.default_rng(args.seed), args.mcts_games)
            row.update(
                kept=ex["kept"],
                kept_nontrivial=ex["kept_nontrivial"],
            )
        if args.mcts_games:
            row["vs"] = {}
            for opp in opponents:
                m = evaluate.versus(
                    agents[n],
                    args.game,
                    opp,
                    games_per_seat=args.mcts_games,
                    seed=args.seed,
                    opening_plies=args.opening_plies,
                )
                row["vs"][opp] = [m["score"], m["seat0"]["score"], m["seat1"]["score"]]
            first = row["vs"][opponents[0]]
            row.update(vs_mcts=first[0], vs_mcts_seats=first[1:])
        rows.append(row)
        print(json.dumps(row), flush=True)
    (args.out / "compare.json").write_text(
        json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "configs": configs, "rows": rows}, indent=2)
    )
    print(
        f"\n{args.game}, {args.minutes:g} min of training each, {_sharing(args, len(configs))}; "
        f"head to head {args.games} games per pair, Elo relative to {names[0]}\n"
    )
    print(
        f"| learner | options | moves | updates | Elo (95%) | best kept: all / non-trivial "
        f"| vs {opponents[0]} (as first / as second) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (n, opts), r in zip(configs, rows):
        kept = f"{r['kept']:.1%} / {r['kept_nontrivial']:.1%}" if "kept" in r else "n/a"
        vs = (
            f"{r['vs_mcts']:.1%} ({r['vs_mcts_seats'][0]:.0%} / {r['vs_mcts_seats'][1]:.0%})"
            if "vs_mcts" in r
            else "n/a"
        )
        print(
            f"| {n} | `{shlex.join(opts) or '(defaults)'}` | {r['moves']:,} | {r['updates']:,} | "
            f"{r['elo']:+.0f} ± {r['ci95']:.0f} | {kept} | {vs} |"
        )


if __name__ == "__main__":
    main()
