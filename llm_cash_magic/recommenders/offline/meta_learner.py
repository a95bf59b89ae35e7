"""The ``offline`` recommender: a nearest-tasks meta-learner over the knowledge base and your own
history, no LLM needed.

1. Find the ``k`` tasks nearest to the profile by standardised meta-features (the size weighing
   most: each knowledge-base task was measured at several sizes, and its nearest size counts),
   among the knowledge base's and the history's; weigh each by closeness (a Gaussian kernel whose
   width is the median neighbour distance).
2. Read how each configuration did there against what users get for free, LightGBM with its
   library defaults: its *gain*, how far its score lies above the defaults' as a share of the
   task's range, from the trivial predictor to the best score there (negative where it did worse),
   measured on the same folds.
3. The first pick is the configuration whose weighted gain, with losses counting ``LOSS_WEIGHT``
   times and shrunk towards LightGBM's defaults where evidence is thin, is best. LightGBM's defaults
   score 0 by definition, so nothing is picked first that the similar tasks do not show beating
   them; where even the nearest task is far, the k knowledge-base tasks nearest in size count alike
   (the strongest robust choice), and a note says so.
4. The rest is a portfolio picked greedily, as FLAML's portfolio builder does: each next
   configuration is the one that most raises the weighted best-gain-so-far over the neighbours, so
   the second pick covers the tasks where the first falls short.

What was measured on this very data (by your history, or by the knowledge base where it holds
the table) is known rather than predicted: its best configuration comes first. Each recommendation
carries its training time as a multiple of LightGBM defaults' on the neighbours, which the race
budgets with and a rationale mentions when it is large. Configurations of families not installed
here are skipped, with a note when one would have been picked.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import numpy as np

from ...metrics import DEFAULT_METRIC, METRICS
from ...profiling import TaskProfile
from ...space import FAMILIES, family, validate
from ...text import plural
from ..base import DEFAULT_N, EVIDENCE, Notify, PastTask, PastTaskSource, Recommendation, quiet
from . import knowledge

# Chosen by leave-one-task-out on the knowledge base (``python -m llm_cash_magic.bench.loo``), never
# on the benchmark's dev tasks.
DEFAULT_K = 16  # nearest tasks consulted
LOSS_WEIGHT = 2.0  # a loss against LightGBM's defaults counts this many times a gain of the same size
PRIOR_WEIGHT = 1.0  # pseudo-tasks where a configuration ties LightGBM's defaults (gain 0)
FAR_FACTOR = 1.5  # "far" = beyond 1.5 × the KB's typical (90th percentile) nearest-task distance
SLOW_FACTOR = 2.0  # from twice LightGBM defaults' training time on, a rationale says how much slower
WORST_GAIN = -1.0  # a failed fit, or a worse one, counts as losing the task's whole range (best to trivial)


@dataclass(frozen=True)
class Neighbour:
    task: PastTask
    weight: float

    @property
    def label(self) -> str:
        """How a rationale names it: its name and size (the history's tasks as "your …")."""
        name = self.task.name if self.task.source == "knowledge base" else f"your {self.task.name or 'task'}"
        size = f" at {self.task.size:,} rows" if self.task.size else ""
        return f"{name}{size} (distance {self.task.distance:.2f})"


@dataclass
class Evidence:
    """Configurations (as JSON keys) × neighbours: gain over LightGBM's defaults (nan: not measured
    there, or no reference), the relative error reduction behind the words of a rationale, and the
    training time as a multiple of the defaults' (what the race budgets with). Where the trivial
    predictor's score is unknown (or nothing beat it), the gain is how much more of the task's
    configurations it beat than LightGBM's defaults did."""

    names: list[str]
    gains: np.ndarray
    error_cuts: np.ndarray
    time_factors: np.ndarray
    weights: np.ndarray
    loss_weight: float = LOSS_WEIGHT
    prior_weight: float = PRIOR_WEIGHT

    def score(self) -> np.ndarray:
        """Each configuration's weighted gain, losses weighing ``loss_weight``, shrunk towards 0."""
        known = np.isfinite(self.gains)
        utility = np.where(self.gains >= 0, self.gains, self.loss_weight * self.gains)
        total = (np.where(known, utility, 0) * self.weights[:, None]).sum(axis=0)
        return total / ((known * self.weights[:, None]).sum(axis=0) + self.prior_weight)

    def time_factor(self, index: int) -> float | None:
        """Configuration ``index``'s training time over LightGBM defaults', the weighted median over
        the neighbours where both were timed."""
        factors = self.time_factors[:, index]
        timed = np.isfinite(factors)
        if not timed.any():
            return None
        order = np.argsort(factors[timed])
        weights = np.cumsum(self.weights[timed][order])
        return float(factors[timed][order][np.searchsorted(weights, weights[-1] / 2)])


class OfflineRecommender:
    """Nearest tasks, a first pick measured to beat LightGBM's defaults, then a greedy portfolio;
    see the module docstring.

    ``history`` (anything with ``measured_tasks()``, such as ``record.History``) adds your own
    tasks; without one only the knowledge base counts (the benchmark measures the shipped knowledge).
    ``exclude`` names knowledge-base tasks to leave out (the benchmark's leave-one-out), and
    ``notify`` receives the one-line notes (far tasks, families not installed). ``families`` limits
    the picks to some families (the benchmark measures a plain install without the optional ones).
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
        loss_weight: float = LOSS_WEIGHT,
        prior_weight: float = PRIOR_WEIGHT,
        families: Collection[str] = tuple(FAMILIES),
    ):
        self.k = k
        self.loss_weight, self.prior_weight = loss_weight, prior_weight
        self.history = history
        self.knowledge_base = knowledge_base
        self.exclude = tuple(exclude)
        self.notify = notify
        self.families = set(families)

    @property
    def kb(self) -> knowledge.KnowledgeBase:
        return self.knowledge_base or knowledge.load()

    def recommend(self, profile: TaskProfile, n: int = DEFAULT_N, notes: str = "") -> Iterator[Recommendation]:
        neighbours, far = self.neighbours(profile)
        if not neighbours:
            return
        measured = sorted({nb.task.profile.metric for nb in neighbours} - {profile.metric})
        if measured and profile.metric != DEFAULT_METRIC[profile.task]:  # asked for: say what evidence it gets
            self.notify(
                f"offline: the similar tasks were measured in {' and '.join(measured)}, not {profile.metric}: "
                f"their evidence is in {'those metrics' if len(measured) > 1 else 'that metric'}; "
                f"the race and the training score in {profile.metric}"
            )
        given = set()
        lead = self._measured_lead(neighbours, profile)
        if lead:
            given.add(_key(lead.family, lead.params))
            yield lead
        evidence = _evidence(neighbours, profile.task, self._installed(neighbours, profile, n))
        evidence.loss_weight, evidence.prior_weight = self.loss_weight, self.prior_weight
        for rank, index in enumerate(_portfolio(evidence, n)):
            family_name, params = json.loads(evidence.names[index])
            config = validate(family_name, params, profile.task)
            key = _key(config.family, config.params)
            if key in given:
                continue
            if len(given) == n:
                return
            given.add(key)
            rationale = _rationale(neighbours, evidence, index, first=rank == 0, far=far)
            time_factor = evidence.time_factor(index)
            yield Recommendation(config.family, config.params, rationale, self.name, config.notes, time_factor)

    def _measured_lead(self, neighbours: list[Neighbour], profile: TaskProfile) -> Recommendation | None:
        """The best configuration measured on this very data (your history's, or a knowledge-base
        task's where you loaded one of its tables): known, not predicted."""
        mine = next((nb.task for nb in neighbours if nb.task.profile.fingerprint == profile.fingerprint), None)
        if mine is None or not mine.trials:
            return None
        best = mine.trials[0]
        if best["cv_mean"] is None or not family(best["family"]).installed:
            return None
        config = validate(best["family"], best["params"], profile.task)
        measured = _evidence([Neighbour(mine, 1.0)], profile.task, self.families)  # its time, as for the others
        key = _key(config.family, config.params)
        time_factor = measured.time_factor(measured.names.index(key)) if key in measured.names else None
        where = "the knowledge base" if mine.source == "knowledge base" else "your history"
        rationale = (
            f"the best of the {plural(len(mine.trials), 'configuration')} {where} measured on this "
            f"very data ({mine.profile.metric} {best['cv_mean']:.4g})"
        )
        return Recommendation(config.family, config.params, rationale, self.name, config.notes, time_factor)

    def _installed(self, neighbours: list[Neighbour], profile: TaskProfile, n: int) -> set[str]:
        """The families that can train here; says once which missing one would have been picked."""
        missing = {name for name in self.families if not family(name).installed}
        if missing:
            everything = _evidence(neighbours, profile.task, self.families)
            picked = {json.loads(everything.names[i])[0] for i in _portfolio(everything, n)}
            wanted = sorted(picked & missing)
            if wanted:
                names = " and ".join(family(m).label for m in wanted)
                extras = ",".join(family(m).requires for m in wanted)
                self.notify(
                    f"offline: {names} would be among the recommendations, but not installed here "
                    f'(pip install "llm_cash_magic[{extras}]")'
                )
        return self.families - missing

    def neighbours(self, profile: TaskProfile) -> tuple[list[Neighbour], bool]:
        """The ``k`` nearest tasks (knowledge base and history) with their weights, nearest first, and
        whether even the nearest is far: then the ``k`` knowledge-base tasks nearest in size count
        alike, as the strongest robust choice there is."""
        kb = self.kb
        found = knowledge.past_tasks(
            profile, self.k, history=self.history, exclude=self.exclude, top=None, knowledge_base=kb
        )
        if not found:
            return [], False
        typical = kb.typical_nearest_distance(profile.task)
        if found[0].distance <= FAR_FACTOR * typical:
            width = max(float(np.median([t.distance for t in found])), 1e-6)
            return [Neighbour(t, math.exp(-0.5 * (t.distance / width) ** 2)) for t in found], False
        self.notify(
            f"offline: the nearest known task is far from this one (distance {found[0].distance:.2f}; known tasks "
            f"are usually within {typical:.2f} of another): the recommendations are what does well on the "
            f"{self.k} knowledge-base tasks nearest in size"
        )
        mine = [nb for nb in found if nb.source != "knowledge base"]
        return [Neighbour(t, 1.0) for t in mine + _nearest_in_size(kb, profile, self.exclude, self.k)], True


def _nearest_in_size(
    kb: knowledge.KnowledgeBase, profile: TaskProfile, exclude: tuple[str, ...], k: int
) -> list[PastTask]:
    """The ``k`` knowledge-base tasks of the kind nearest to ``profile``'s rows in size (each at its
    nearest size; between tasks as near in size, the nearer in meta-features): below 1,000 rows each
    table has a size of its own, and one table is no robust choice. Nearest in meta-features first."""
    query = profile.meta_feature_vector()
    nearest: dict[str, tuple[float, int, knowledge.KnowledgeTask]] = {}  # task → (log-size gap, -size, entry)
    for entry in kb.candidates(profile, exclude):
        gap = (abs(math.log(entry.size) - math.log(max(profile.n_rows, 2))), -entry.size, entry)
        if entry.name not in nearest or gap[:2] < nearest[entry.name][:2]:
            nearest[entry.name] = gap
    ranked = sorted(nearest.values(), key=lambda gap: (gap[0], kb.distance(query, gap[2].vector)))[:k]
    found = [kb.past_task(entry, kb.distance(query, entry.vector), top=None) for _, _, entry in ranked]
    return sorted(found, key=lambda task: (task.distance, task.name))


def _key(family_name: str, params: dict) -> str:
    return json.dumps([family_name, params], sort_keys=True)


@functools.lru_cache(maxsize=4096)
def _canonical(stated: str, task: str) -> tuple[str, str]:
    """A configuration as stored (a JSON key) validated, as its key and family: the knowledge base's
    pool is validated once per process, not once per query."""
    config = validate(*json.loads(stated), task)
    return _key(config.family, config.params), config.family


def _evidence(neighbours: list[Neighbour], task: str, installed: set[str]) -> Evidence:
    """Each configuration's gain over LightGBM's defaults on each neighbour (see the module docstring)."""
    defaults = _key("lightgbm", validate("lightgbm", {}, task).params)
    names: dict[str, int] = {}
    known: dict[tuple, str] = {}  # the neighbours share one pool, its params one dict: keyed once (by id)
    family_of: dict[str, str] = {}
    cells = []
    for row, nb in enumerate(neighbours):
        scores, ranks, seconds = {}, {}, {}
        for trial in nb.task.trials:
            if trial["family"] in FAMILIES:
                shared = (trial["family"], id(trial["params"]))
                key = known.get(shared)
                if key is None:
                    key, family_name = _canonical(_key(trial["family"], trial["params"]), task)
                    known[shared], family_of[key] = key, family_name
                scores[key], ranks[key], seconds[key] = trial["cv_mean"], trial["normalized_rank"], trial.get("seconds")
        if scores.get(defaults) is None:
            continue  # no yardstick (not measured, or failed): it informs the measured lead and prompts only
        metric = METRICS[nb.task.profile.metric]
        span = max(metric.signed(s) for s in scores.values()) - metric.signed(nb.task.trivial)
        for key, score in scores.items():
            if family_of[key] not in installed:
                continue
            if nb.task.trivial is None or not span > 0:  # no scale: the share of the pool it beat more
                gain = ranks[key] - ranks[defaults]
            else:
                gain = (metric.signed(score) - metric.signed(scores[defaults])) / span
            cut = metric.error_cut(score, scores[defaults])
            timed = score is not None and seconds[key] and seconds[defaults]  # a failed fit's time says little
            time_factor = seconds[key] / seconds[defaults] if timed else np.nan
            cells.append((row, names.setdefault(key, len(names)), max(WORST_GAIN, gain), cut, time_factor))
    gains = np.full((len(neighbours), len(names)), np.nan)
    cuts, time_factors = np.full_like(gains, np.nan), np.full_like(gains, np.nan)
    for row, column, gain, cut, time_factor in cells:
        gains[row, column], cuts[row, column], time_factors[row, column] = gain, cut, time_factor
    return Evidence(list(names), gains, cuts, time_factors, np.array([nb.weight for nb in neighbours]))


def _portfolio(evidence: Evidence, n: int) -> list[int]:
    """The first pick (the best score), then columns chosen one by one, each raising the weighted
    best-gain-so-far over the neighbours the most."""
    if not evidence.names:
        return []
    score = evidence.score()
    filled = np.where(np.isfinite(evidence.gains), evidence.gains, score[None, :])
    chosen = [int(np.argmax(score))]
    best = filled[:, chosen[0]].copy()
    for _ in range(min(n, len(evidence.names)) - 1):
        gain = (np.maximum(filled, best[:, None]) * evidence.weights[:, None]).sum(axis=0)
        gain[chosen] = -np.inf
        pick = int(np.argmax(gain + 1e-9 * score))  # ties: the better on its own
        chosen.append(pick)
        best = np.maximum(best, filled[:, pick])
    return chosen


def _rationale(neighbours: list[Neighbour], evidence: Evidence, index: int, first: bool, far: bool) -> str:
    gains, cuts = evidence.gains[:, index], evidence.error_cuts[:, index]
    tried = [i for i in range(len(neighbours)) if np.isfinite(gains[i])]
    if not tried:
        return "not measured on the similar tasks; included for variety"
    wins = sum(gains[i] > 0 for i in tried)
    similar = "tasks nearest in size" if far else "similar tasks"
    cut = np.nanmedian(cuts[tried]) if np.isfinite(cuts[tried]).any() else np.nan
    if np.all(gains[tried] == 0):
        lead = "LightGBM's library defaults, the free choice"
        if first:  # below the first, the picks above did beat it
            lead += f": nothing measured on {len(tried)} {similar} beat it reliably"
    else:
        by = f", with {_share(cut)} {'less' if cut >= 0 else 'more'} error (median)" if np.isfinite(cut) else ""
        slower = evidence.time_factor(index) or 1.0
        took = f", in about {slower:.0f}× their training time" if slower >= SLOW_FACTOR else ""
        lead = f"beat LightGBM's defaults on {wins} of {len(tried)} {similar}{by}{took}"
    role = "" if first else "; covers where the picks above fall short"
    shown = sorted(tried, key=lambda i: (-neighbours[i].weight, neighbours[i].task.distance))[:3]
    details = "; ".join(f"{neighbours[i].label}: {_versus(gains[i], cuts[i])}" for i in shown)
    return f"{lead}{role}{EVIDENCE}{details}"


def _versus(gain: float, cut: float) -> str:
    """One neighbour's result against LightGBM's defaults, in words."""
    if gain == 0:
        return "as good as the defaults"
    if not np.isfinite(cut):
        return "better than the defaults" if gain > 0 else "worse than the defaults"
    return f"{_share(cut)} {'less' if cut >= 0 else 'more'} error than the defaults"


def _share(cut: float) -> str:
    """A share of error in words: 12%, or 0.3% where a whole percent would read as 0%."""
    return f"{abs(cut):.0%}" if abs(cut) >= 0.01 else f"{abs(cut):.1%}"
