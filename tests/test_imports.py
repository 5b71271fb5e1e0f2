"""The house's imports run one way: no circle among the modules of selfplay/ and games/,
counting the imports inside functions too (a deferred import still ties two modules)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its text. ``from pkg import
    name`` is an arrow to ``pkg.name`` where that is a module, else to ``pkg`` itself."""
    modules = {}
    for pkg in ("selfplay", "games"):
        for f in (ROOT / pkg).rglob("*.py"):  # subpackages too (selfplay.cli)
            parts = f.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                    for a in node.names
                ]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_circle():
    graph = import_graph()
    assert len(graph) > 30 and sum(map(len, graph.values())) > 60, "the graph was read"
    assert circles(graph) == []


def test_games_never_imports_selfplay():
    graph = import_graph()
    assert not {(m, t) for m, ts in graph.items() if m.startswith("games") for t in ts if t.startswith("selfplay")}


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


#: the modules that play (matches, evaluations, tournaments, GTP, the terminal, the web app)
PLAY_PATH = [
    "selfplay.arena",
    "selfplay.players",
    "selfplay.agents",
    "selfplay.evaluate",
    "selfplay.tournament",
    "selfplay.gtp",
    "selfplay.gtp_player",
    "selfplay.human",
    "selfplay.sgf",
    "selfplay.serve",
]
#: the learner's side: a match must never pull it in
TRAINING = {"selfplay.dqn", "selfplay.sources", "selfplay.runner", "selfplay.distributed", "selfplay.targets"}


def reaches(graph: dict[str, set[str]], start: str) -> dict[str, list[str]]:
    """Every module ``start`` imports, directly or through others, with one path to it."""
    paths, todo = {start: [start]}, [start]
    while todo:
        m = todo.pop()
        for t in sorted(graph[m]):
            if t not in paths:
                paths[t] = paths[m] + [t]
                todo.append(t)
    return paths


def test_the_play_path_never_reaches_the_learner():
    graph = import_graph()
    for module in PLAY_PATH:
        paths = reaches(graph, module)
        bad = {t: paths[t] for t in TRAINING if t in paths}
        assert not bad, f"{module} reaches the learner: " + "; ".join(" -> ".join(p) for p in bad.values())


def test_the_reach_finder_finds_a_path():
    assert reaches({"a": {"b"}, "b": {"c"}, "c": set()}, "a")["c"] == ["a", "b", "c"]


def test_no_module_below_the_command_line_imports_it():
    graph = import_graph()
    assert "selfplay.cli.train" in graph and "selfplay.cli.base" in graph, "the command's package was read"
    below = {m for m in graph if not m.startswith("selfplay.cli") and m != "selfplay.__main__"}
    assert not {(m, t) for m in below for t in graph[m] if t.startswith("selfplay.cli")}


def test_the_config_records_are_a_leaf():
    """config.py holds records only: it imports nothing of the house but the checks its
    fields declare themselves with, so every module may read a config."""
    assert import_graph()["selfplay.config"] == {"selfplay.checks"}
    assert import_graph()["selfplay.checks"] == set()
