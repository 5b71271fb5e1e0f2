"""Hex on an N x N rhombus (N = 5..11), batched, as OpenSpiel's ``hex(board_size=N)``.

Cells are numbered as in OpenSpiel: action ``N * row + col``, row 0 at the top (drawn as
row 1), column 0 is a. Each row is drawn half a cell to the right of the one above, so
cell (r, c) touches (r-1, c), (r-1, c+1), (r, c-1), (r, c+1), (r+1, c-1) and (r+1, c).
Player 0 (``X``) moves first and joins the top edge to the bottom one; player 1 (``O``)
joins the left edge to the right one. The board never fills without a winner, so there
are no draws. No swap rule (OpenSpiel's default).

Each game keeps a union-find forest over its cells plus four edge nodes; a placed stone
joins its same-coloured neighbours, and a player wins once its two edges share a root.
The batch is stepped by one numba-compiled loop over the games (a few dozen operations a
game), since a connection does not vectorise as numpy array arithmetic.
Human notation: a column letter and a row number (``c5``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from games import text
from games.core import (
    IllegalActionError,
    check_actions,
    check_batch_size,
    initial_fields,
    position_fields,
    register,
    step_fields,
    winner_rewards,
)
from games.native import NativeGame, NativeState

SIZES = range(5, 12)
LETTERS = "abcdefghijk"
_DR = np.array([-1, -1, 0, 0, 1, 1], np.int64)
_DC = np.array([0, 1, -1, 1, -1, 0], np.int64)
#: the six bridges from a cell: the far cell's offset, then its two carriers' (the cells
#: both ends touch); a bridge holds while both carriers are empty (either answers an
#: intrusion into the other)
_BRIDGE = np.array(
    [
        [-1, 2, -1, 1, 0, 1],
        [1, 1, 0, 1, 1, 0],
        [2, -1, 1, -1, 1, 0],
        [1, -2, 0, -1, 1, -1],
        [-1, -1, -1, 0, 0, -1],
        [-2, 1, -1, 1, -1, 0],
    ],
    np.int64,
)
_FAR = 1 << 20


@njit(cache=True, inline="always")
def _find(parent, b, x):
    while parent[b, x] != x:
        parent[b, x] = parent[b, parent[b, x]]  # path halving
        x = parent[b, x]
    return x


@njit(cache=True, inline="always")
def _union(parent, b, x, y):
    rx, ry = _find(parent, b, x), _find(parent, b, y)
    if rx != ry:
        parent[b, max(rx, ry)] = min(rx, ry)


@njit(cache=True)
def _place(cells, parent, actions, players, live, n):
    """Put player ``players[b]``'s stone on ``actions[b]`` in every live game ``b``, in place;
    return bool[B]: the mover has joined its edges."""
    won = np.zeros(len(actions), np.bool_)
    edge = n * n  # X's top and bottom, then O's left and right
    for b in range(len(actions)):
        if not live[b]:
            continue
        a, p = actions[b], players[b]
        cells[b, a] = p + 1
        r, c = a // n, a % n
        for k in range(6):
            rr, cc = r + _DR[k], c + _DC[k]
            if 0 <= rr < n and 0 <= cc < n and cells[b, rr * n + cc] == p + 1:
                _union(parent, b, a, rr * n + cc)
        if p == 0:
            if r == 0:
                _union(parent, b, a, edge)
            if r == n - 1:
                _union(parent, b, a, edge + 1)
            won[b] = _find(parent, b, edge) == _find(parent, b, edge + 1)
        else:
            if c == 0:
                _union(parent, b, a, edge + 2)
            if c == n - 1:
                _union(parent, b, a, edge + 3)
            won[b] = _find(parent, b, edge + 2) == _find(parent, b, edge + 3)
    return won


@njit(cache=True, inline="always")
def _root(parent, b, x):
    while parent[b, x] != x:  # no path halving: an observation leaves the state as it was
        x = parent[b, x]
    return x


@njit(cache=True)
def _derived(board, parent, mover, n, planes):
    """``int8[B, planes, N*N]`` (6 or 8): the mover's stones whose group touches its first
    edge (top for X, left for O), those touching its second edge (bottom, right), then the
    same two for the opponent's stones and edges; then the empty cells where a stone of the
    mover, and one of the opponent, would join that player's two edges (an immediate win);
    with 8, then the empty cells on the mover's shortest connections and the opponent's;
    with 12, then those connections with bridges held, and the bridges under attack."""
    out = np.zeros((len(board), planes, n * n), np.int8)
    edge = n * n
    root = np.empty(n * n, np.int64)  # each cell's group (-1 empty), for this game
    roots = np.empty(4, np.int64)  # each edge's group
    for b in range(len(board)):
        for e in range(4):
            roots[e] = _root(parent, b, edge + e)
        for a in range(n * n):
            p = board[b, a] - 1
            root[a] = -1 if p < 0 else _root(parent, b, a)
            if p < 0:
                continue
            r = root[a]
            side = 0 if p == mover[b] else 2
            out[b, side, a] = r == roots[2 * p]
            out[b, side + 1, a] = r == roots[2 * p + 1]
        for a in range(n * n):
            if board[b, a] != 0:
                continue
            r, c = a // n, a % n
            # a stone on its own edge touches it; else it reaches an edge through a group
            x1, x2, o1, o2 = r == 0, r == n - 1, c == 0, c == n - 1
            for k in range(6):
                rr, cc = r + _DR[k], c + _DC[k]
                if 0 <= rr < n and 0 <= cc < n:
                    g = root[rr * n + cc]
                    x1 |= g == roots[0]
                    x2 |= g == roots[1]
                    o1 |= g == roots[2]
                    o2 |= g == roots[3]
            if x1 and x2:
                out[b, 4 if mover[b] == 0 else 5, a] = 1
            if o1 and o2:
                out[b, 4 if mover[b] == 1 else 5, a] = 1
    if planes > 6:
        _shortest(board, mover, n, out, 6)
    if planes > 8:
        _shortest(board, mover, n, out, 8, True)
        _intrusions(board, parent, mover, n, out, 10)
    return out


@njit(cache=True, inline="always")
def _edge_cell(n, p, edge, k, row):
    """The cell ``k`` along player ``p``'s edge ``edge`` (0 its first, 1 its second), on the
    edge itself (``row`` 0) or one row in from it (``row`` 1)."""
    depth = row if edge == 0 else n - 1 - row
    return depth * n + k if p == 0 else k * n + depth


@njit(cache=True, inline="always")
def _edge_carriers(board, b, n, p, r, c, line):
    """The cells of p's edge row or column ``line`` that cell (r, c) touches (two, or one at
    a corner): how many, how many empty, how many the opponent's, and the last empty one."""
    count = empty = theirs = 0
    last = -1
    for j in range(6):
        rr, cc = r + _DR[j], c + _DC[j]
        if 0 <= rr < n and 0 <= cc < n and (rr if p == 0 else cc) == line:
            count += 1
            v = board[b, rr * n + cc]
            if v == 0:
                empty += 1
                last = rr * n + cc
            elif v == 2 - p:
                theirs += 1
    return count, empty, theirs, last


@njit(cache=True, inline="always")
def _edge_template(board, b, n, p, edge, k):
    """Whether the cell ``k`` one row in from p's edge holds to the edge by its two carriers
    there (the edge template of a bridge): both empty. A cell with one carrier on the board
    (at a corner) has no template."""
    a = _edge_cell(n, p, edge, k, 1)
    count, empty, _, _ = _edge_carriers(board, b, n, p, a // n, a % n, 0 if edge == 0 else n - 1)
    return count == 2 and empty == 2


@njit(cache=True, inline="always")
def _push(queue, head, tail, a, free):
    """Put cell ``a`` on the 0-1 search's deque in ``queue``: in front when reaching it was
    free, behind when it cost a cell. Returns the new (head, tail)."""
    if free:
        head -= 1
        queue[head] = a
    else:
        queue[tail] = a
        tail += 1
    return head, tail


@njit(cache=True)
def _distances(board, b, n, p, edge, dist, queue, bridges=False):
    """0-1 breadth-first search: ``dist[cell]`` = the fewest empty cells (the cell itself
    included) on a path from player ``p``'s edge ``edge`` (0 its first, 1 its second) to the
    cell, through p's stones (free) and empty cells; the opponent's cells stay unreachable.
    With ``bridges`` a step may also cross a bridge whose two carriers are empty (the
    carriers cost nothing: either answers an intrusion), and a cell one row in from the
    edge holds to it by such a template."""
    m = n * n
    for a in range(m):
        dist[a] = _FAR
    head = tail = 2 * m  # a deque in ``queue``: free moves pushed in front, costly ones behind
    for row in range(2 if bridges else 1):
        for k in range(n):
            a = _edge_cell(n, p, edge, k, row)
            v = board[b, a]
            if v == 2 - p or (row == 1 and not _edge_template(board, b, n, p, edge, k)):
                continue
            d = 0 if v == p + 1 else 1
            if d < dist[a]:
                dist[a] = d
                head, tail = _push(queue, head, tail, a, d == 0)
    while head < tail:
        a = queue[head]
        head += 1
        r, c = a // n, a % n
        for k in range(12 if bridges else 6):
            if k < 6:
                rr, cc = r + _DR[k], c + _DC[k]
            else:
                j = k - 6
                rr, cc = r + _BRIDGE[j, 0], c + _BRIDGE[j, 1]
                if not (0 <= rr < n and 0 <= cc < n):
                    continue
                if board[b, (r + _BRIDGE[j, 2]) * n + c + _BRIDGE[j, 3]] != 0:
                    continue
                if board[b, (r + _BRIDGE[j, 4]) * n + c + _BRIDGE[j, 5]] != 0:
                    continue
            if 0 <= rr < n and 0 <= cc < n:
                x = rr * n + cc
                v = board[b, x]
                if v == 2 - p:
                    continue
                w = 0 if v == p + 1 else 1
                if dist[a] + w < dist[x]:
                    dist[x] = dist[a] + w
                    head, tail = _push(queue, head, tail, x, w == 0)


@njit(cache=True)
def _shortest(board, mover, n, out, first, bridges=False):
    """Planes ``first`` and ``first + 1`` of ``out`` (int8[B, D, N*N]): the empty cells on one
    of the mover's shortest connections (fewest empty cells still to fill between its two
    edges; with ``bridges``, bridges and edge templates count as joined), then the
    opponent's."""
    m = n * n
    d1 = np.empty(m, np.int64)
    d2 = np.empty(m, np.int64)
    queue = np.empty(8 * m, np.int64)
    for b in range(len(board)):
        for side in range(2):
            p = mover[b] if side == 0 else 1 - mover[b]
            _distances(board, b, n, p, 0, d1, queue, bridges)
            _distances(board, b, n, p, 1, d2, queue, bridges)
            best = _FAR
            for a in range(m):
                if board[b, a] == 0 and d1[a] + d2[a] - 1 < best:
                    best = d1[a] + d2[a] - 1
                elif bridges and board[b, a] == p + 1 and d1[a] + d2[a] < best:
                    best = d1[a] + d2[a]  # held already, bridges and all: no cell shortens it
            for a in range(m):
                if board[b, a] == 0 and d1[a] + d2[a] - 1 == best:
                    out[b, first + side, a] = 1


@njit(cache=True)
def _intrusions(board, parent, mover, n, out, first):
    """Planes ``first`` and ``first + 1`` of ``out``: the empty cells that save one of the
    mover's bridges the opponent has entered (one carrier the opponent's, the other empty,
    the two ends not yet joined), and the same for the opponent's bridges (where the mover
    cuts); edge templates alike (a stone one row in from its edge, not yet joined to it)."""
    edge = n * n
    for b in range(len(board)):
        for a in range(n * n):
            v = board[b, a]
            if v == 0:
                continue
            p = v - 1
            plane = first + (0 if p == mover[b] else 1)
            r, c = a // n, a % n
            ra = _root(parent, b, a)
            for j in range(3):  # the other three are these seen from the far end
                rr, cc = r + _BRIDGE[j, 0], c + _BRIDGE[j, 1]
                if not (0 <= rr < n and 0 <= cc < n) or board[b, rr * n + cc] != v:
                    continue
                if _root(parent, b, rr * n + cc) == ra:
                    continue
                c1 = (r + _BRIDGE[j, 2]) * n + c + _BRIDGE[j, 3]
                c2 = (r + _BRIDGE[j, 4]) * n + c + _BRIDGE[j, 5]
                if board[b, c1] == 2 - p and board[b, c2] == 0:
                    out[b, plane, c2] = 1
                elif board[b, c2] == 2 - p and board[b, c1] == 0:
                    out[b, plane, c1] = 1
            for e in range(2):
                line = 0 if e == 0 else n - 1
                if (r if p == 0 else c) != (1 if e == 0 else n - 2) or ra == _root(parent, b, edge + 2 * p + e):
                    continue
                count, empty, theirs, cell = _edge_carriers(board, b, n, p, r, c, line)
                if count == 2 and theirs == 1 and empty == 1:
                    out[b, plane, cell] = 1


@dataclasses.dataclass(frozen=True)
class HexState(NativeState):
    #: int8[B, N*N]: 0 empty, 1 X, 2 O.
    board: np.ndarray
    #: int16[B, N*N + 4]: the union-find forest (cells, then X's top and bottom edges and
    #: O's left and right ones).
    parent: np.ndarray


class Hex(NativeGame):
    player_names = ("X", "O")
    pyspiel_strings = True
    # X joins top and bottom, O left and right: [own, opponent] alone does not say which
    mover_plane = True
    #: which stones a group joins to an edge: what OpenSpiel's Hex observation marks per
    #: cell (its north/south and west/east cell states), from the mover's side
    derived_planes = (
        "own stones joined to own first edge (X: top, O: left)",
        "own stones joined to own second edge (X: bottom, O: right)",
        "opponent's stones joined to its first edge",
        "opponent's stones joined to its second edge",
        "empty cells where the mover's stone would win at once",
        "empty cells where the opponent's stone would win at once",
        "empty cells on one of the mover's shortest connections",
        "empty cells on one of the opponent's shortest connections",
        "empty cells on one of the mover's shortest connections, bridges and edge templates held",
        "empty cells on one of the opponent's shortest connections, bridges and edge templates held",
        "empty cells that save a bridge or edge template of the mover's the opponent has entered",
        "empty cells that save a bridge or edge template of the opponent's the mover has entered",
    )
    #: level 1: the edge groups and the winning cells; level 2 adds the shortest connections;
    #: level 3 the connections that count bridges as joined, and the bridges under attack
    derived_levels = (6, 8, 12)

    def __init__(self, board_size: int = 11, history: int = 0, derived: int = 0):
        if board_size not in SIZES:
            raise ValueError(f"hex board_size must be {SIZES.start} to {SIZES.stop - 1}, not {board_size}")
        self.size = n = int(board_size)
        self.name = f"hex_{n}x{n}"
        super().__init__(history, derived)
        #: the same game in OpenSpiel (same action numbering), for reference bots
        self.pyspiel_name = f"hex(board_size={n})"
        self.num_actions = n * n
        self.board_shape = (n, n)

    def __repr__(self) -> str:
        return f"Hex(board_size={self.size}, history={self.history}, derived={self.derived})"

    def init(self, batch_size: int) -> HexState:
        b = check_batch_size(batch_size)
        cells = self.num_actions
        return HexState(
            **initial_fields(
                np.ones((b, cells), bool),
                past=self._empty_past(b),
                board=np.zeros((b, cells), np.int8),
                parent=np.tile(np.arange(cells + 4, dtype=np.int16), (b, 1)),
            )
        )

    def step(self, state: HexState, actions: np.ndarray) -> HexState:
        actions = check_actions(state, actions)
        live = ~state.terminated
        board, parent = state.board.copy(), state.parent.copy()
        player = state.current_player.astype(np.int64)
        won = _place(board, parent, actions, player, live, self.size)
        return HexState(
            **step_fields(
                state,
                actions,
                live,
                state.terminated | won,
                winner_rewards(player, won),
                board == 0,
                past=self._next_past(state, live),
                board=board,
                parent=parent,
            )
        )

    def from_cells(self, cells: np.ndarray, current_player: np.ndarray | None = None) -> HexState:
        """Positions (no history) from grids ``int8[B, N, N]`` (0 empty, 1 X, 2 O); the
        mover is ``current_player``, else the player with fewer stones (X on equal counts).
        The rules never read the counts, so X may be given the move with fewer stones than
        O: the image of an O-to-move position under the transpose (``canonical_frame``)."""
        flat = np.asarray(cells, np.int8).reshape(len(cells), self.num_actions)
        b = len(flat)
        board = np.zeros_like(flat)
        parent = np.tile(np.arange(self.num_actions + 4, dtype=np.int16), (b, 1))
        terminated = np.zeros(b, bool)
        for cell in range(self.num_actions):  # joining stone by stone, in any order, gives the same groups
            owner = flat[:, cell]
            terminated |= _place(board, parent, np.full(b, cell), (owner - 1).astype(np.int64), owner > 0, self.size)
        count = (flat != 0).sum(axis=1).astype(np.int32)
        mover = count % 2 if current_player is None else np.asarray(current_player, np.int8)
        return HexState(
            **position_fields(
                mover, board == 0, terminated, count, past=self._empty_past(b), board=board, parent=parent
            )
        )

    def symmetries(self) -> tuple[np.ndarray, np.ndarray]:
        """The identity and the half turn: the only symmetries that keep each player's
        edges (a mirror of the rhombus breaks its adjacency, a transpose swaps the goals)."""
        cells = np.stack([np.arange(self.num_actions), np.arange(self.num_actions)[::-1]]).astype(np.int64)
        return cells, cells

    def symmetry_channels(self) -> np.ndarray:
        """The half turn swaps each player's two edges, so each pair of edge planes swaps
        (the winning cells keep their meaning)."""
        channels = super().symmetry_channels()
        if self.derived:
            first = self.derived_start
            channels[1, first : first + 4] = first + np.array([1, 0, 3, 2])
        return channels

    def canonical_frame(self) -> tuple[np.ndarray, np.ndarray]:
        """The transpose, cell (r, c) to (c, r), for both cells and actions. It keeps the
        board's adjacency and turns O's left-to-right goal into X's top-to-bottom one, so
        a position with O to move, transposed, reads as one with X to move and the colours
        swapped: the stone planes (the mover's, the opponent's) and the edge planes (each
        side's first edge, then its second: O's left becomes X's top) keep their meaning,
        and only the mover plane changes."""
        n = self.size
        r, c = np.divmod(np.arange(self.num_actions), n)
        perm = (c * n + r).astype(np.int64)
        return perm, perm

    def derived_obs(self, state: HexState, mover: np.ndarray) -> np.ndarray:
        n = self.size
        planes = _derived(state.board, state.parent, mover.astype(np.int64), n, self.num_derived)
        return planes.reshape(-1, self.num_derived, n, n)

    def planes(self, state: HexState) -> np.ndarray:
        n = self.size
        return np.stack([state.board == 1, state.board == 2], axis=1).astype(np.int8).reshape(-1, 2, n, n)

    def last_move_cell(self, state, index=0):
        a = int(state.last_action[index])
        return None if a < 0 else divmod(a, self.size)

    def column_labels(self):
        return list(LETTERS[: self.size])

    def row_labels(self):
        return [str(r + 1) for r in range(self.size)]

    def winning_chain(self, cells: np.ndarray) -> set[tuple[int, int]]:
        """The cells of the stones that join a player's two edges (empty when none do):
        X's top to bottom, else O's left to right."""
        n = self.size
        for who, starts, reached in (
            (1, [(0, c) for c in range(n)], lambda r, c: r == n - 1),
            (2, [(r, 0) for r in range(n)], lambda r, c: c == n - 1),
        ):
            for start in starts:
                if cells[start] != who:
                    continue
                group, todo = {start}, [start]
                while todo:
                    r, c = todo.pop()
                    for dr, dc in zip(_DR, _DC):
                        rr, cc = r + int(dr), c + int(dc)
                        if 0 <= rr < n and 0 <= cc < n and cells[rr, cc] == who and (rr, cc) not in group:
                            group.add((rr, cc))
                            todo.append((rr, cc))
                if any(reached(r, c) for r, c in group):
                    return group
        return set()

    def render(self, state, index: int = 0, color: bool = False) -> str:
        """The rhombus, each row half a cell right of the one above, labelled on every side;
        X joins the top and bottom edges, O the left and right ones. Once the game is won,
        the winning chain's stones are drawn in angle brackets."""
        n = self.size
        cells = self.cells(state, index)
        last = self.last_move_cell(state, index)
        chain = self.winning_chain(cells) if state.terminated[index] else set()
        pad = len(str(n)) + 3
        letters = "   ".join(self.column_labels())
        lines = [" " * pad + letters + "      X: top to bottom"]
        for r in range(n):
            parts = []
            for c in range(n):
                sym = text.symbol(int(cells[r, c]), color)
                parts.append(f"<{sym}>" if (r, c) in chain else f"[{sym}]" if last == (r, c) else f" {sym} ")
            note = "   O: left to right" if r == 0 else ""
            lines.append(" " * (2 * r) + f"{r + 1:>{pad - 3}} \\" + " ".join(parts) + f"\\ {r + 1}" + note)
        lines.append(" " * (2 * (n - 1) + pad) + letters)
        return "\n".join(lines)

    def move_notation(self) -> str:
        return f"a column a-{LETTERS[self.size - 1]} and a row 1-{self.size} (c5)"

    def parse_action(self, state, text_in: str, index: int = 0) -> int:
        t = text.clean(text_in)
        n = self.size
        if not t:
            raise ValueError("empty move: type " + self.move_notation())
        if t[0] not in LETTERS[:n] or not t[1:].isdigit() or not 1 <= int(t[1:3]) <= n or len(t) > 3:
            raise ValueError(f"{text_in.strip()[:20]!r} is not a move: type {self.move_notation()}")
        action = (int(t[1:]) - 1) * n + LETTERS.index(t[0])
        if not state.legal_action_mask[index, action]:
            raise IllegalActionError(f"{t} is taken")
        return action

    def action_to_string(self, state, action: int, index: int = 0) -> str:
        r, c = divmod(int(action), self.size)
        return f"{LETTERS[c]}{r + 1}"


for _n in SIZES:
    register(f"hex_{_n}x{_n}", lambda history=0, derived=0, _n=_n: Hex(_n, history=history, derived=derived))
