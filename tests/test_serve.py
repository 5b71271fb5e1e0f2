"""`selfplay serve`: the JSON API in process (Starlette's TestClient), swept with malformed
requests, and the page in a real headless Chromium driven by Selenium (Debian's chromium
and chromium-driver: ``scripts/install_engines`` installs them; the browser test fails, not
skips, without them). Screenshots of each page go to ``test-artifacts/serve/``."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from selfplay import serve as S
from selfplay import tournament as T
from selfplay.players import resolve

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "serve"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tournament file with stored games, a run folder with metrics, a corrupt file."""
    tmp = tmp_path_factory.mktemp("serve")
    store = T.Store(tmp / "c4.db")
    T.run("connect_four", resolve([str(ROOT / "checkpoints" / "connect_four.pt"), "random"], "connect_four"), 4, store)
    run = tmp / "run"
    run.mkdir()
    rows = [
        {
            "kind": "eval",
            "moves": m,
            "time": m / 100,
            "vs_random": {"score": 0.5 + m / 4000},
            # the evaluation ladder: 2 of 10 against its anchor rung at 100 moves, 8 of 10 at 200
            "ladder": {"anchor": "mcts:1000", "rungs": {"mcts:1000": {"wins": w, "draws": 0, "losses": 10 - w}}},
        }
        for m, w in ((100, 2), (200, 8))
    ]
    rows.append({"kind": "train", "moves": 250, "time": 3.0, "loss": 0.1})
    (run / "metrics.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n{cut sh")
    (tmp / "junk.db").write_bytes(b"not a database at all" * 50)
    (tmp / "junk.pt").write_bytes(b"not a checkpoint")
    return tmp


@pytest.fixture(scope="module")
def client(files):
    sources = S.Sources.from_paths(
        checkpoints=[files / "junk.pt"], dbs=[files / "c4.db", files / "junk.db"], runs=[files / "run"]
    )
    return TestClient(S.make_app(sources))


def _play_out(client, view) -> dict:
    """Play the person's side by the first legal move and let the agent reply, to the end."""
    for _ in range(200):
        if view["board"]["over"]:
            return view
        sid, v = view["id"], view["version"]
        if view["agent_to_move"]:
            r = client.post(f"/api/play/{sid}/agent", json={"version": v})
        else:
            r = client.post(f"/api/play/{sid}/move", json={"action": view["board"]["moves"][0]["action"], "version": v})
        assert r.status_code == 200, r.json()
        view = r.json()
    raise AssertionError("the game did not end")


@pytest.mark.parametrize("game", ["tic_tac_toe", "connect_four", "othello", "hex_5x5"])
def test_a_whole_game_against_the_agent_through_the_api(client, game):
    agent = f"shipped:{game}" if (ROOT / "checkpoints" / f"{game}.pt").exists() else "random"
    view = client.post("/api/play", json={"game": game, "agent": agent, "human_seat": 1}).json()
    assert view["agent_to_move"] and view["version"] == 0
    end = _play_out(client, view)
    assert end["board"]["over"] and end["board"]["moves"] == [] and end["version"] == len(end["history"])
    if game in ("hex_5x5", "connect_four") and end["board"]["winner"] is not None:
        assert end["board"]["highlight"]  # the winning chain, or four in a row


def test_undo_hint_new_game_and_swap(client):
    view = client.post("/api/play", json={"game": "connect_four", "agent": "shipped:connect_four"}).json()
    sid = view["id"]
    view = client.post(f"/api/play/{sid}/move", json={"action": 3, "version": 0}).json()
    view = client.post(f"/api/play/{sid}/agent", json={"version": 1}).json()
    hint = client.get(f"/api/play/{sid}/hint").json()["values"]
    assert {h["action"] for h in hint} == {m["action"] for m in view["board"]["moves"]}
    assert all(-1 <= h["q"] <= 1 for h in hint)
    back = client.post(f"/api/play/{sid}/undo", json={"version": 2}).json()
    assert back["version"] == 0 and not back["agent_to_move"]
    swapped = client.post(f"/api/play/{sid}/new", json={"swap": True}).json()
    assert swapped["players"][1] == "you" and swapped["agent_to_move"]


def test_an_othello_hint_in_the_endgame_is_exact(client):
    view = client.post("/api/play", json={"game": "othello", "agent": "shipped:othello", "human_seat": 0}).json()
    while sum(row.count(0) for row in view["board"]["cells"]) > 10 and not view["board"]["over"]:
        sid, v = view["id"], view["version"]
        if view["agent_to_move"]:
            view = client.post(f"/api/play/{sid}/agent", json={"version": v}).json()
        else:
            view = client.post(
                f"/api/play/{sid}/move", json={"action": view["board"]["moves"][0]["action"], "version": v}
            ).json()
    if not view["board"]["over"] and view["agent_to_move"]:
        view = client.post(f"/api/play/{view['id']}/agent", json={"version": view["version"]}).json()
    hint = client.get(f"/api/play/{view['id']}/hint").json()["values"]
    assert hint and all(h["exact"] in ("win", "draw", "loss") for h in hint)


def test_two_tabs_and_a_thinking_agent_get_one_clear_refusal(client):
    view = client.post("/api/play", json={"game": "tic_tac_toe", "agent": "shipped:tic_tac_toe"}).json()
    sid = view["id"]
    assert client.post(f"/api/play/{sid}/move", json={"action": 4, "version": 0}).status_code == 200
    stale = client.post(f"/api/play/{sid}/move", json={"action": 0, "version": 0})
    assert stale.status_code == 409 and "another tab" in stale.json()["error"]
    app = client.app
    # the session's lock is what an agent holds while it thinks: a request meanwhile is refused at once
    session = next(r for r in app.routes if getattr(r, "path", "") == "/api/play/{sid}/agent")
    assert session is not None
    state = _app_state(client)
    state.sessions[sid].lock.acquire()
    try:
        busy = client.post(f"/api/play/{sid}/agent", json={"version": 1})
        assert busy.status_code == 409 and busy.json()["error"] == "the agent is thinking: wait for its move"
    finally:
        state.sessions[sid].lock.release()


def _app_state(client) -> S.App:
    """The App behind the routes (each endpoint closes over it)."""
    for route in client.app.routes:
        for cell in getattr(route.endpoint, "__closure__", None) or ():
            if isinstance(cell.cell_contents, S.App):
                return cell.cell_contents
    raise AssertionError("no App found")


def test_a_tournament_its_ratings_and_a_replay(client):
    data = client.get("/api/rank/c4").json()
    g = data["games"][0]
    assert g["game"] == "connect_four" and len(g["stored"]) == 4 and g["anchor"] == "random"
    ratings = {r["player"]: r for r in g["ratings"]}
    assert ratings["random"]["elo"] == 0 and ratings["checkpoints/connect_four"]["elo"] > 0
    rep = client.get("/api/rank/c4/game/0?game=connect_four").json()
    assert len(rep["frames"]) == g["stored"][0]["plies"] + 1 and rep["frames"][-1]["over"]


def test_a_run_folder_gives_its_curve_and_skips_a_row_cut_short(client):
    data = client.get("/api/runs/run").json()
    assert [e["moves"] for e in data["evals"]] == [100, 200] and data["train"][0]["loss"] == 0.1
    # the ladder's Elo, anchored on its rung: below it at 20%, above it at 80%
    assert data["anchor"] == "mcts:1000" and [e["moves"] for e in data["elo"]] == [100, 200]
    low, high = data["elo"]
    assert low["elo"] + low["ci95"] > 0 > low["elo"] and high["elo"] > 0 > high["elo"] - high["ci95"]
    assert high["elo"] == pytest.approx(-low["elo"], abs=1.0)


@pytest.mark.parametrize(
    "method, path, body, status, says",
    [
        ("get", "/api/rank/junk", None, 422, "junk.db"),
        ("get", "/api/rank/..%2F..%2Fpyproject", None, 404, "no such page"),
        ("get", "/api/runs/..", None, 404, "no such page"),
        ("get", "/api/runs/nope", None, 404, "no run named"),
        ("get", "/../pyproject.toml", None, 404, "no such page"),
        ("get", "/api/rank/c4/game/99?game=connect_four", None, 404, "holds 4 connect_four games"),
        ("get", "/api/rank/c4/game/x", None, 400, "k must be a whole number"),
        ("post", "/api/play", {"game": "chess"}, 404, "no game 'chess'"),
        ("post", "/api/play", {"game": "connect_four", "agent": "/etc/passwd"}, 404, "no agent named"),
        ("post", "/api/play", {"game": "connect_four", "agent": "junk"}, 422, "junk.pt"),
        ("post", "/api/play", {"game": "connect_four", "agent": "shipped:othello"}, 422, "othello"),
        (
            "post",
            "/api/play",
            {"game": "connect_four", "search": "nan", "agent": "shipped:connect_four"},
            400,
            "search",
        ),
        ("post", "/api/play", {"game": "connect_four", "human_seat": 2}, 400, "human_seat"),
        ("post", "/api/play/999/move", {"action": 1, "version": 0}, 404, "no game '999'"),
        ("get", "/api/play", None, 405, "method not allowed"),
    ],
)
def test_bad_requests_get_one_line_and_nothing_from_outside_the_given_files(client, method, path, body, status, says):
    r = getattr(client, method)(path, **({"json": body} if body is not None else {}))
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert says in err and "\n" not in err and "Traceback" not in err


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
fields = st.dictionaries(
    st.sampled_from(["game", "agent", "human_seat", "search", "move_time", "action", "version", "swap", "a", "b"]),
    json_values,
    max_size=5,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(
        ["/api/play", "/api/watch", "/api/play/1/move", "/api/play/1/agent", "/api/play/1/undo", "/api/play/1/new"]
    ),
    body=st.one_of(fields.map(json.dumps), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))),
)
def test_malformed_requests_never_get_a_500(client, path, body):
    client.post("/api/play", json={"game": "tic_tac_toe", "agent": "random"})  # a game 1 to send moves to
    r = client.post(path, content=body.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"})
    assert r.status_code < 500, (path, body, r.text)
    if r.status_code >= 400:
        assert set(r.json()) == {"error"}


def test_the_server_reads_only_what_it_was_given_and_refuses_a_missing_one(tmp_path):
    with pytest.raises(ValueError, match="--db .*nowhere.db: no such file"):
        S.Sources.from_paths(dbs=[tmp_path / "nowhere.db"])
    with pytest.raises(ValueError, match="no metrics.jsonl there"):
        S.Sources.from_paths(runs=[tmp_path])
    names = S.Sources.from_paths(checkpoints=[ROOT / "checkpoints" / "othello.pt", ROOT / "checkpoints" / "othello.pt"])
    assert {"othello", "othello-2", "shipped:othello"} <= set(names.checkpoints)


# ------------------------------------------------------------------ the page in a real browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    assert Path(chromium).exists() and Path(driver).exists(), "install Chromium: scripts/install_engines"
    opts = Options()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        opts.add_argument(arg)
    d = webdriver.Chrome(service=Service(driver), options=opts)
    yield d
    d.quit()


def test_the_page_in_chromium_plays_a_whole_game_hints_undoes_ranks_replays_and_plots(files, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "selfplay", "serve", "--port", str(port), "--db", str(files / "c4.db")]
        + ["--run", str(files / "run")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    d, wait = browser, lambda cond, t=60: WebDriverWait(browser, t).until(lambda _: cond())
    try:
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        for _ in range(100):
            try:
                d.get(f"http://127.0.0.1:{port}/")
                break
            except Exception:
                time.sleep(0.2)
        wait(lambda: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
        status = lambda: d.find_element(By.ID, "play-status").text  # noqa: E731
        d.find_element(By.ID, "play-start").click()
        wait(lambda: status().startswith("Your move"))
        # a move, its undo, a hint
        d.find_element(By.CSS_SELECTOR, '#play-board g.legal[data-action="3"]').click()
        wait(
            lambda: len(d.find_elements(By.CSS_SELECTOR, "#play-history li")) == 2 and status().startswith("Your move")
        )
        d.find_element(By.ID, "play-undo").click()
        wait(lambda: len(d.find_elements(By.CSS_SELECTOR, "#play-history li")) == 0)
        d.find_element(By.ID, "play-hint").click()
        wait(lambda: status().startswith("Hint: the agent likes"))
        assert len(d.find_elements(By.CSS_SELECTOR, "#play-board g[data-hint]")) == 7
        d.save_screenshot(str(ARTIFACTS / "play_hint.png"))
        # the whole game, by clicking the first legal cell each turn
        for _ in range(30):
            if status().startswith("Game over"):
                break
            d.find_elements(By.CSS_SELECTOR, "#play-board g.legal")[0].click()
            wait(lambda: status().startswith(("Your move", "Game over")))
        assert status().startswith("Game over: ")
        assert d.find_elements(By.CSS_SELECTOR, "#play-board g.legal") == []
        d.save_screenshot(str(ARTIFACTS / "play_over.png"))
        # a tournament: the cross table, the ratings plot's data, a replay to its last ply
        d.find_element(By.CSS_SELECTOR, "[data-tab=rank]").click()
        d.find_element(By.ID, "rank-open").click()
        wait(lambda: d.find_elements(By.CSS_SELECTOR, "svg.ratings"))
        ratings = json.loads(d.find_element(By.CSS_SELECTOR, "svg.ratings").get_attribute("data-ratings"))
        assert {r["player"] for r in ratings} == {"checkpoints/connect_four", "random"}
        assert next(r for r in ratings if r["player"] == "random")["elo"] == 0
        d.find_element(By.CSS_SELECTOR, 'button[data-replay="0"]').click()
        wait(lambda: d.find_element(By.ID, "replay-status").text.startswith("ply 0 of "))
        d.find_element(By.ID, "replay-last").click()
        last = int(d.find_element(By.ID, "replay-status").text.split()[-1])
        assert d.find_element(By.ID, "replay-status").text == f"ply {last} of {last}"
        assert len(d.find_elements(By.CSS_SELECTOR, "#replay-board [data-stone]")) == last
        d.save_screenshot(str(ARTIFACTS / "rank.png"))
        # a run's curve
        d.find_element(By.CSS_SELECTOR, "[data-tab=train]").click()
        d.find_element(By.ID, "train-open").click()
        wait(lambda: d.find_elements(By.CSS_SELECTOR, "svg.curve"))
        assert d.find_element(By.CSS_SELECTOR, "svg.curve").get_attribute("data-points") == "2"
        assert d.find_element(By.CSS_SELECTOR, "svg.curve[data-series=elo]").get_attribute("data-points") == "2"
        d.save_screenshot(str(ARTIFACTS / "train.png"))
        # the server stopped mid-game: the page says so in one line
        d.find_element(By.CSS_SELECTOR, "[data-tab=play]").click()
        d.find_element(By.ID, "play-again").click()
        wait(lambda: status().startswith("Your move"))
        server.terminate()
        server.wait(timeout=30)
        d.find_elements(By.CSS_SELECTOR, "#play-board g.legal")[0].click()
        wait(lambda: "the server is not answering" in status())
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


def test_watch_a_bot_against_a_gtp_engine_named_on_the_command_line_and_an_engine_that_resigns():
    fake = Path(__file__).with_name("fake_gtp.py")
    resigns = f"gtp:{sys.executable} {fake} hex_5x5 resign 1"
    sources = S.Sources.from_paths(players=["mcts:20", "gtp:/usr/games/gtp-rhino -l 1", resigns])
    c = TestClient(S.make_app(sources))
    agents = c.get("/api/options").json()["games"]
    assert (
        "gtp:/usr/games/gtp-rhino -l 1" in agents["othello"]
        and "gtp:/usr/games/gtp-rhino -l 1" not in agents["connect_four"]
    )
    view = c.post("/api/watch", json={"game": "othello", "a": "gtp:/usr/games/gtp-rhino -l 1", "b": "mcts:20"}).json()
    assert view["players"][0].startswith("GTP GRhino")
    for _ in range(130):
        if view["board"]["over"]:
            break
        view = c.post(f"/api/play/{view['id']}/agent", json={"version": view["version"]}).json()
    assert view["board"]["over"] and "ending" not in view["board"]  # ended by the rules
    view = c.post("/api/watch", json={"game": "hex_5x5", "a": resigns, "b": "random"}).json()
    for _ in range(6):
        if view["board"]["over"]:
            break
        view = c.post(f"/api/play/{view['id']}/agent", json={"version": view["version"]}).json()
    assert view["board"]["over"] and view["board"]["ending"] == "resign" and view["board"]["winner"] == 1
    late = c.post(f"/api/play/{view['id']}/agent", json={"version": view["version"]})
    assert late.status_code == 409 and late.json()["error"] == "the game is over"


def test_a_player_the_registry_does_not_know_or_a_checkpoint_is_refused_before_the_server_starts(tmp_path):
    with pytest.raises(ValueError, match="--player 'chess-engine'"):
        S.Sources.from_paths(players=["chess-engine"])
    with pytest.raises(ValueError, match="goes with --checkpoint"):
        S.Sources.from_paths(players=[str(ROOT / "checkpoints" / "othello.pt")])


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
_rung = st.fixed_dictionaries({"wins": _json, "draws": _json, "losses": _json}) | _json
_ladder = (
    st.fixed_dictionaries({"anchor": _json, "rungs": st.dictionaries(st.text(max_size=6), _rung, max_size=3)}) | _json
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ladders=st.lists(_ladder, min_size=1, max_size=4))
def test_a_runs_page_answers_whatever_its_ladder_rows_hold(tmp_path_factory, ladders):
    """Metrics written by someone else (or cut by a kill) never break a run's page: the
    evaluations are listed, and the Elo curve holds only what a fit could be made of."""
    run = tmp_path_factory.mktemp("fuzzrun")
    rows = [{"kind": "eval", "moves": 100 * (k + 1), "time": 1.0, "ladder": lad} for k, lad in enumerate(ladders)]
    (run / "metrics.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n")
    app = S.make_app(S.Sources.from_paths(checkpoints=[], dbs=[], runs=[run]))
    r = TestClient(app).get(f"/api/runs/{run.name}")
    assert r.status_code == 200, r.text
    data = r.json()
    assert len(data["evals"]) == len(ladders) and len(data["elo"]) <= len(ladders)
    assert all(isinstance(e["elo"], float) and e["ci95"] >= 0 for e in data["elo"])
