"""`selfplay tournament` and `selfplay match`: players of the registry, standings, exports."""

from __future__ import annotations

import sys

import click

import games
from selfplay.checks import SEED_MAX
from selfplay.cli.base import (
    GameName,
    Real,
    Whole,
    _check_workers,
    _console,
    _games_bar,
    _schedule_or_fail,
    cli,
    game_workers,
    opening_plies_option,
    results_option,
)

# ------------------------------------------------------------------ tournament


def _players_or_fail(specs, game_name, at_least=2):
    """The players, and the game: given, or read from the first checkpoint among them."""
    from selfplay import players

    try:
        if game_name is None:
            game_name = players.infer_game(list(specs)) or "connect_four"
        return players.resolve(list(specs), game_name, at_least), game_name
    except (players.PlayerError, games.UnknownGameError) as e:
        raise click.UsageError(str(e)) from None


def _print_standings(st, as_json: bool) -> None:
    import json

    from rich.table import Table

    if as_json:
        click.echo(
            json.dumps(
                {
                    "ratings": [
                        {
                            "player": r.name,
                            "ident": p.ident,
                            "elo": round(r.elo, 1),
                            "ci95": round(r.ci95, 1),
                            "games": r.games,
                            "score": round(r.score, 4),
                        }
                        for r, p in zip(st.ratings, st.players)
                    ],
                    "cross": {
                        p.label: {
                            q.label: {"points": st.cross[i][j][0], "games": st.cross[i][j][1]}
                            for j, q in enumerate(st.players)
                            if i != j
                        }
                        for i, p in enumerate(st.players)
                    },
                },
                indent=2,
            )
        )
        return
    console = _console()
    n = len(st.players)
    cross = Table(title="cross table: points of the row player / games")
    cross.add_column("player", no_wrap=True)
    for k in range(n):
        cross.add_column(str(k + 1), justify="right")
    for i, p in enumerate(st.players):
        cells = [
            "-" if i == j else (f"{st.cross[i][j][0]:g}/{st.cross[i][j][1]}" if st.cross[i][j][1] else "")
            for j in range(n)
        ]
        cross.add_row(f"{i + 1}. {p.label}", *cells)
    console.print(cross)
    table = Table(title="ratings (Bradley-Terry, Elo units, 95% interval)")
    for col, just in (
        ("rank", "right"),
        ("player", "left"),
        ("Elo", "right"),
        ("+-95%", "right"),
        ("games", "right"),
        ("score", "right"),
        ("as first", "right"),
        ("as second", "right"),
    ):
        table.add_column(col, justify=just, no_wrap=col == "player")
    order = sorted(range(n), key=lambda k: -st.ratings[k].elo) if st.ratings else range(n)
    for rank, k in enumerate(order, 1):
        r = st.ratings[k]
        (f_pts, f_n), (s_pts, s_n) = st.seat[k]
        table.add_row(
            str(rank),
            r.name,
            f"{r.elo:.0f}",
            f"{r.ci95:.0f}",
            str(r.games),
            f"{r.score:.1%}",
            f"{f_pts / f_n:.1%}" if f_n else "",
            f"{s_pts / s_n:.1%}" if s_n else "",
        )
    console.print(table)


def _check_export(path: str | None, game_name: str, force: bool, db: str) -> None:
    """One line, before any game, for an --export path that cannot be written, names a
    form the game has not, or is a file already there (unless --force)."""
    from selfplay import sgf
    from selfplay.checks import TargetError, writable_target

    if path is None:
        return
    try:
        p = writable_target(path, name="--export", force=force, sources=[db])
    except TargetError as e:
        raise click.UsageError(str(e)) from None
    if p.suffix not in (".csv", ".sgf", ".txt"):
        raise click.UsageError(f"--export {path}: name a .csv, .sgf or .txt file (the suffix picks the form)")
    if p.suffix == ".sgf" and sgf.suffix(game_name) != ".sgf":
        raise click.UsageError(f"--export {path}: SGF has no game number for {game_name}: name a .txt file")


#: --game of the commands that rank players: the checkpoints' game unless given
_checkpoints_game = click.option(
    "--game",
    "game_name",
    type=GameName(),
    default=None,
    help="game [default: the checkpoints' game, else connect_four]",
)


@cli.command()
@click.argument("players", nargs=-1, required=True)
@_checkpoints_game
@click.option(
    "--games",
    "games_per_pair",
    type=Whole(1, 100_000),
    default=20,
    show_default=True,
    help="games per pair (each opening twice, seats swapped)",
)
@results_option("tournament.db")
@game_workers
@click.option("--anchor", default="random", show_default=True, help="player whose rating is fixed")
@click.option("--anchor-elo", type=Real(-1e5, 1e5), default=0.0, show_default=True)
@opening_plies_option
@click.option("--seed", type=Whole(0, SEED_MAX), default=0, show_default=True, help="seed of the openings")
@click.option(
    "--export",
    "export_csv",
    type=click.Path(dir_okay=False),
    default=None,
    help="write the stored games: .csv (a row each), .sgf (Go, Othello, Hex: an SGF collection), "
    ".txt (a line of moves each)",
)
@click.option("--force", is_flag=True, help="let --export overwrite a file that is there")
@click.option("--json", "as_json", is_flag=True, help="print ratings and cross table as JSON")
def tournament(
    players,
    game_name,
    games_per_pair,
    db,
    workers,
    ray_address,
    anchor,
    anchor_elo,
    opening_plies,
    seed,
    export_csv,
    force,
    as_json,
):
    """Round robin between checkpoints, folders of checkpoints and bots, with ratings.

    PLAYERS: checkpoint files, folders, PATH@search=N, PATH@sym=0, random, minimax, perfect, mcts:N,
    gtp:COMMAND (an engine over GTP).
    """

    from selfplay import profiles
    from selfplay import tournament as T

    plist, game_name = _players_or_fail(players, game_name)
    _check_export(export_csv, game_name, force, db)
    _check_workers(workers, ray_address)
    from selfplay.raytasks import DistributedError  # Ray itself only with --workers

    try:
        if anchor != "random" and not any(anchor in (p.label, p.ident, p.path) for p in plist):
            raise T.PlayerError(f"anchor {anchor!r} is not one of the players")
        profiles.schedule(game_name, games_per_pair, seed, opening_plies)  # refuses openings no game survives
        store = T.Store(db)
        missing, total = T.pending(game_name, plist, games_per_pair, store, seed, opening_plies)
    except ValueError as e:  # a player, the results file, or --opening-plies that no game survives
        raise click.UsageError(str(e).replace("opening plies", "--opening-plies")) from None
    if not as_json:
        click.echo(f"{game_name}: {len(plist)} players, {games_per_pair} games per pair, results in {db}")
        if not missing:
            click.echo(f"all {total} games already stored")
    if missing:
        with _games_bar("games", disable=as_json) as progress:
            task = progress.add_task("games", total=total)

            def on_progress(done, total):
                progress.update(task, completed=done, total=total)

            try:
                T.run(
                    game_name,
                    plist,
                    games_per_pair,
                    store,
                    workers=workers,
                    seed=seed,
                    opening_plies=opening_plies,
                    on_progress=on_progress,
                    ray_address=ray_address,
                )
            except KeyboardInterrupt:
                progress.stop()
                click.echo("\ninterrupted: finished games are saved; run the same command again to resume.")
                sys.exit(130)
            except (T.StoreError, DistributedError) as e:
                progress.stop()
                raise click.ClickException(str(e)) from None
    st = T.standings(game_name, plist, store, anchor=anchor, anchor_elo=anchor_elo)
    _print_standings(st, as_json)
    idents = {p.ident: p.label for p in plist}
    ended = [(a, b, how, sc) for a, b, how, sc in store.endings(game_name) if a in idents and b in idents]
    if ended and not as_json:
        from collections import Counter

        counts = Counter((idents[b] if sc == 1.0 else idents[a], how) for a, b, how, sc in ended)
        click.echo("games not ended by the rules (the player who lost them, how):")
        for (who, how), n in counts.most_common():
            click.echo(f"  {who}: {how} x{n}")
    if export_csv:
        _export(export_csv, game_name, plist, store, db)


def _export(path: str, game_name: str, plist, store, db: str) -> None:
    """The stored games of these players into ``path`` (its suffix picks the form), written
    whole or not at all: a temporary file beside it, renamed over it at the end."""
    import csv
    import os
    import tempfile
    from pathlib import Path

    from selfplay import sgf

    labels = {p.ident: p.label for p in plist}
    rows = store.stored(game_name, list(labels))
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        if target.suffix == ".csv":
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["game", "player_a", "player_b", "a_first", "opening", "moves", "score_a", "ending"])
                for a, b, op, a_first, mv, sc, how in rows:
                    w.writerow([game_name, labels[a], labels[b], int(a_first), op, mv, sc, how])
        else:
            sgf.export(tmp, game_name, rows, labels)
        os.replace(tmp, target)
    except OSError as e:
        raise click.ClickException(f"--export {path}: {e.strerror or e}; the games stay in {db}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@cli.command()
@click.argument("player_a")
@click.argument("player_b")
@_checkpoints_game
@click.option(
    "--games",
    "num_games",
    type=Whole(2, 1_000_000),
    default=100,
    show_default=True,
    help="games to play (the most, with --sprt)",
)
@click.option("--sprt", is_flag=True, help="stop as soon as a sequential probability ratio test decides")
@click.option(
    "--elo0", type=Real(-2000, 2000), default=0.0, show_default=True, help="SPRT: H0, A is not stronger than this"
)
@click.option("--elo1", type=Real(-2000, 2000), default=20.0, show_default=True, help="SPRT: H1, A is stronger by this")
@click.option("--alpha", type=Real(0.001, 0.5), default=0.05, show_default=True)
@click.option("--beta", type=Real(0.001, 0.5), default=0.05, show_default=True)
@click.option("--seed", type=Whole(0, SEED_MAX), default=0, show_default=True)
@opening_plies_option
def match(player_a, player_b, game_name, num_games, sprt, elo0, elo1, alpha, beta, seed, opening_plies):
    """Play A against B (seats alternating, varied openings); optionally gate by SPRT.

    A and B: checkpoints, PATH@search=N, random, mcts:N, gtp:COMMAND (an engine over GTP)."""
    import time

    import numpy as np

    from selfplay import arena, players, ratings

    if sprt and elo1 <= elo0:
        raise click.UsageError("--elo1 must be larger than --elo0")
    plist, game_name = _players_or_fail([player_a, player_b], game_name)
    planned = _schedule_or_fail(game_name, num_games, seed, opening_plies)
    game = games.make(game_name)
    a, b = players.make_agent(plist[0], game_name, seed), players.make_agent(plist[1], game_name, seed + 1)
    lo, hi = ratings.sprt_bounds(alpha, beta)

    t0 = time.perf_counter()

    def report(scores):
        llr = ratings.sprt_llr(scores, elo0, elo1)
        left = (time.perf_counter() - t0) / len(scores) * (len(planned) - len(scores))
        eta = f" (eta {time.strftime('%H:%M:%S', time.gmtime(left))})" if len(scores) < len(planned) else ""
        click.echo(
            f"{len(scores)} of {len(planned)} games{eta}: A scores {np.mean(scores):.1%}"
            + (f"  LLR {llr:+.2f} [{lo:.2f}, {hi:.2f}]" if sprt else "")
        )

    stop = (lambda scores: ratings.sprt_decision(scores, elo0, elo1, alpha, beta) is not None) if sprt else None
    endings: list[str] = []
    try:
        scores = arena.match(
            game, a, b, planned, np.random.default_rng(seed), stop=stop, on_batch=report, endings=endings
        )
    finally:
        for agent in (a, b):
            if hasattr(agent, "close"):
                agent.close()
    r = ratings.fit(["B", "A"], [(1, 0, s) for s in scores], anchor=0)[1]
    w, d, l_ = scores.count(1.0), scores.count(0.5), scores.count(0.0)
    click.echo(
        f"{plist[0].label} vs {plist[1].label} ({game_name}): +{w} ={d} -{l_}  score {np.mean(scores):.1%}  "
        f"Elo {r.elo:+.0f} +- {r.ci95:.0f}"
    )
    if any(endings):
        click.echo("games not ended by the rules: " + _endings_text(endings, scores))
    if sprt:
        decision = ratings.sprt_decision(scores, elo0, elo1, alpha, beta)
        verdict = {
            "H1": f"H1 accepted: A is stronger (elo1={elo1:g})",
            "H0": f"H0 accepted: A is not stronger than elo0={elo0:g}",
            None: "no decision within --games",
        }[decision]
        click.echo(f"SPRT: {verdict}")


def _endings_text(endings: list[str], scores: list[float]) -> str:
    """``"resign 3 (A won 3), forfeit: no answer within 600 s 1 (A won 1)"``."""
    from collections import Counter

    counts = Counter(e for e in endings if e)
    won = Counter(e for e, s in zip(endings, scores) if e and s == 1.0)
    return ", ".join(f"{how} {n} (A won {won[how]})" for how, n in counts.most_common())
