"""How a search becomes training targets: the training side of MCTS mode.

Each function maps a :class:`selfplay.mcts.SearchResult` and the roots' legal masks to
regression targets for Q(s, .): ``(q float32[B, A], weight float32[B, A])``, the weights
summing to 1 per row. The names and their help are declared once with the option
(:data:`selfplay.config.SEARCH_TARGETS`); play never needs this module.
"""

from __future__ import annotations

import numpy as np

from selfplay.config import SEARCH_TARGETS as DECLARED
from selfplay.mcts import SearchResult, shares, uniform


def _visit_targets(res: SearchResult, legal_mask: np.ndarray):
    return np.nan_to_num(res.q), shares(res.visits)


def _completed_targets(res: SearchResult, legal_mask: np.ndarray):
    # "completed Q" (Danihelka et al. 2022): a visited action's target is its empirical Q,
    # an unvisited one's the search's value of the root; every legal action weighs the same
    q = np.where(res.visits > 0, np.nan_to_num(res.q), res.value[:, None]).astype(np.float32)
    return q, uniform(legal_mask).astype(np.float32)


def _mixed_targets(res: SearchResult, legal_mask: np.ndarray):
    # completed Q's targets, each legal action weighted half by its share of the visits and
    # half equally: the best moves get most of the weight, the lesser ones keep a ranking
    q, even = _completed_targets(res, legal_mask)
    return q, (0.5 * shares(res.visits) + 0.5 * even).astype(np.float32)


#: the search target functions by name (``SearchSettings.search_target``)
SEARCH_TARGETS = {"visits": _visit_targets, "completed": _completed_targets, "mixed": _mixed_targets}
assert SEARCH_TARGETS.keys() == DECLARED.keys(), "each declared search target has one function"
