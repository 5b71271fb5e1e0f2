"""`selfplay serve`: the web app."""

from __future__ import annotations

import click

from selfplay.cli.base import Whole, cli


# ------------------------------------------------------------------ serve
@cli.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="address to listen on (this machine only by default)"
)
@click.option("--port", type=Whole(1, 65535), default=8000, show_default=True)
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    help="a checkpoint the page may play (repeat; the shipped agents are always there)",
)
@click.option("--db", "dbs", multiple=True, help="a tournament file the page may show (repeat)")
@click.option("--run", "runs", multiple=True, help="a run folder whose curve the page may plot (repeat)")
@click.option(
    "--player",
    "others",
    multiple=True,
    help="a bot or engine the page may pick, as match names it (mcts:1000, 'gtp:gtp-rhino -l 1'; repeat)",
)
def serve(host, port, checkpoints, dbs, runs, others):
    """Play, watch and rank in the browser: a local web app over the named files."""
    import socket

    from selfplay import serve as S

    try:
        sources = S.Sources.from_paths(checkpoints=checkpoints, dbs=dbs, runs=runs, players=others)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    try:  # a port in use is one line, before the server starts
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as e:
        raise click.UsageError(f"--host {host} --port {port}: cannot listen there ({e.strerror or e})") from None
    import uvicorn

    shown = f"[{host}]" if ":" in host else host
    click.echo(f"selfplay serve: http://{shown}:{port}/  (Ctrl-C stops it)")
    uvicorn.run(S.make_app(sources), host=host, port=port, log_level="warning")
