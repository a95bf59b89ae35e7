"""The ``offline`` recommender: a k-nearest-tasks meta-learner over the shipped knowledge base
and your own history, no LLM needed.

1. Find the ``k`` tasks nearest to the profile by standardised meta-features, among the
   knowledge base's tasks and the history's past tasks (your own trials count as soon as they
   are recorded, so recommendations improve as the history grows).
2. Weigh each neighbour by closeness (a Gaussian kernel whose width is the median neighbour
   distance) and read how each configuration ranked there (its percentile among what was tried).
3. Pick a small, diverse portfolio greedily, as FLAML's portfolio builder does: each next
   configuration is the one that most raises the weighted best-percentile-so-far over the
   neighbours, so the second pick covers the tasks where the first falls short.

What your history measured on this very data is known rather than predicted: its best
configuration comes first. When even the nearest task is unusually far, a one-line note says so:
that is where zero-shot portfolios pick chance-level configurations (FLAML#1247). And the
knowledge base only knows how configurations did on the sizes its tasks were measured at (at
most ``max_rows`` rows): far beyond that, the transparent size rule of the ``defaults``
recommender picks the first recommendation (e.g. LightGBM for 50,000 rows, where small-data
winners underfit), and the knowledge base the rest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ...profiling import TaskProfile
from ...space import FAMILIES, family, validate
from ...text import plural
from ..base import Notify, PastTask, PastTaskSource, Recommendation, quiet
from ..defaults import size_rule
from . import knowledge

DEFAULT_K = 16  # nearest tasks consulted; chosen by leave-one-task-out on the knowledge base (bench.loo)
PRIOR_WEIGHT = 1.0  # pseudo-tasks at the 50th percentile, for configurations not tried on a task
FAR_FACTOR = 1.5  # "far" = beyond 1.5 × the KB's typical (90th percentile) nearest-task distance
BEYOND_MEASURED = 5  # more rows than 5 × the knowledge base's measured size: the size rule leads


@dataclass(frozen=True)
class _Neighbour:
    task: PastTask
    weight: float
    label: str  # how the rationale names it


class OfflineRecommender:
    """Nearest tasks + greedy portfolio; see the module docstring.

    ``history`` (anything with ``measured_tasks()``, such as ``record.History``) adds your own
    tasks; without one only the knowledge base counts (the benchmark measures the shipped knowledge).
    ``exclude`` names knowledge-base tasks to leave out (the benchmark's leave-one-out), and
    ``notify`` receives the one-line notes (the far-task note).
    """

    name = "offline"

    def __init__(
        self,
        *,
        k: int = DEFAULT_K,
        history: PastTaskSource | None = None,
        knowledge_base: knowledge.KnowledgeBase | None = None,
        exclude: tuple[str, ...] = (),
        notify: Notify = quiet,
    ):
        self.k = k
        self.history = history
        self.knowledge_base = knowledge_base
        self.exclude = tuple(exclude)
        self.notify = notify

    def recommend(self, profile: TaskProfile, n: int = 5, notes: str = "") -> Iterator[Recommendation]:
        neighbours = self.neighbours(profile)
        if not neighbours:
            return
        given = set()
        for lead in (self._measured_lead(neighbours, profile), self._size_lead(profile)):
            key = lead and (lead.family, json.dumps(lead.params, sort_keys=True))
            if lead and key not in given and len(given) < n:
                given.add(key)
                yield lead
        names, matrix, known = _score_matrix(neighbours, profile.task)
        weights = np.array([nb.weight for nb in neighbours])
        for rank, index in enumerate(_greedy_portfolio(matrix, known, weights, n)):
            family_name, params = json.loads(names[index])
            config = validate(family_name, params, profile.task)
            key = (config.family, json.dumps(config.params, sort_keys=True))
            if key in given:
                continue
            if len(given) == n:
                return
            given.add(key)
            rationale = _rationale(neighbours, matrix[:, index], known[:, index], weights, first=rank == 0)
            yield Recommendation(config.family, config.params, rationale, self.name, config.notes)

    def _measured_lead(self, neighbours: list[_Neighbour], profile: TaskProfile) -> Recommendation | None:
        """The best configuration your history measured on this very data: known, not predicted."""
        mine = next((nb.task for nb in neighbours if nb.task.profile.fingerprint == profile.fingerprint), None)
        if mine is None or not mine.trials:
            return None
        best = mine.trials[0]
        config = validate(best["family"], best["params"], profile.task)
        rationale = (
            f"the best of the {plural(len(mine.trials), 'configuration')} your history measured on this "
            f"very data ({mine.profile.metric} {best['cv_mean']:.4g})"
        )
        return Recommendation(config.family, config.params, rationale, self.name, config.notes)

    def _size_lead(self, profile: TaskProfile) -> Recommendation | None:
        """The size rule's first pick, when the frame is far larger than the tasks the knowledge
        base measured: their winners were chosen for small data and tend to underfit large data."""
        measured = (self.knowledge_base or knowledge.load()).max_rows
        if not measured or profile.n_rows <= BEYOND_MEASURED * measured:
            return None
        name, reason = size_rule(profile)[0]
        rationale = (
            f"{reason}; your {profile.n_rows:,} rows are far beyond the {measured:,} rows the knowledge "
            "base measured its tasks on, so the size rule picks first (library defaults)"
        )
        return Recommendation(name, family(name).defaults(profile.task), rationale, self.name)

    def neighbours(self, profile: TaskProfile) -> list[_Neighbour]:
        """The ``k`` nearest tasks (knowledge base and history) with their weights, nearest first."""
        kb = self.knowledge_base or knowledge.load()
        found = knowledge.past_tasks(
            profile, self.k, history=self.history, exclude=self.exclude, top=None, knowledge_base=kb
        )
        if not found:
            return []
        typical = kb.typical_nearest_distance(profile.task)
        if found[0].distance > FAR_FACTOR * typical:
            self.notify(
                f"offline: the nearest known task is far from this one (distance {found[0].distance:.2f}; "
                f"known tasks are usually within {typical:.2f} of another): the recommendations are "
                "closer to a guess"
            )
        width = max(float(np.median([t.distance for t in found])), 1e-6)
        return [_Neighbour(t, math.exp(-0.5 * (t.distance / width) ** 2), _label(t)) for t in found]


def _label(task: PastTask) -> str:
    name = task.name if task.source == "knowledge base" else f"your {task.name or 'task'}"
    return f"{name} (distance {task.distance:.2f})"


def _score_matrix(neighbours: list[_Neighbour], task: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Configurations (as JSON keys) × neighbours: percentile in [0, 1] and whether it was tried."""
    names: dict[str, int] = {}
    cells = []
    for row, nb in enumerate(neighbours):
        for trial in nb.task.trials:
            if trial["family"] not in FAMILIES:
                continue
            config = validate(trial["family"], trial["params"], task)
            key = json.dumps([config.family, config.params], sort_keys=True)
            cells.append((row, names.setdefault(key, len(names)), trial["normalized_rank"]))
    matrix = np.zeros((len(neighbours), len(names)))
    known = np.zeros_like(matrix, dtype=bool)
    for row, column, rank in cells:
        matrix[row, column] = max(matrix[row, column], rank) if known[row, column] else rank
        known[row, column] = True
    return list(names), matrix, known


def _greedy_portfolio(matrix: np.ndarray, known: np.ndarray, weights: np.ndarray, n: int) -> list[int]:
    """Columns chosen one by one, each maximising the weighted best-so-far percentile."""
    tried = (known * weights[:, None]).sum(axis=0)
    mean = (np.where(known, matrix, 0) * weights[:, None]).sum(axis=0) + 0.5 * PRIOR_WEIGHT
    mean /= tried + PRIOR_WEIGHT  # a configuration's shrunk weighted mean, where it was not tried
    filled = np.where(known, matrix, mean[None, :])
    best = np.zeros(len(weights))
    chosen: list[int] = []
    for _ in range(min(n, matrix.shape[1])):
        gain = (np.maximum(filled, best[:, None]) * weights[:, None]).sum(axis=0)
        gain[chosen] = -np.inf
        pick = int(np.argmax(gain + 1e-9 * mean))  # ties: the better on average
        chosen.append(pick)
        best = np.maximum(best, filled[:, pick])
    return chosen


def _rationale(
    neighbours: list[_Neighbour], column: np.ndarray, known: np.ndarray, weights: np.ndarray, first: bool
) -> str:
    tried = [i for i in range(len(neighbours)) if known[i]]
    if not tried:
        return "not tried on the similar tasks; included for diversity"
    mean = float(np.average(column[tried], weights=weights[tried]))
    shown = sorted(tried, key=lambda i: -weights[i])[:3]
    where = "; ".join(f"{neighbours[i].label}: {_ordinal(column[i])} percentile" for i in shown)
    role = "best on average" if first else "covers where the picks above fall short"
    return f"{role} over {len(tried)} similar tasks (weighted mean percentile {100 * mean:.0f}) — {where}"


def _ordinal(fraction: float) -> str:
    value = int(round(100 * fraction))
    suffix = "th" if 10 <= value % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"
