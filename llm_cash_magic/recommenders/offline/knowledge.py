"""The knowledge base: real tasks, each measured at the sizes users have (an *entry* per task and
size), with the cross-validated scores of one shared pool of configurations; loaded lazily.

``kb.json`` is plain data built by ``python -m llm_cash_magic.bench.build_knowledge`` (the code
lives in the repo and can be re-run or extended with your own tasks). A knowledge base at
``$LLM_CASH_HOME/knowledge.json`` replaces the shipped one. Entries are offered in the same
``PastTask`` shape as the history's tasks, so every recommender reads both alike, and one distance
(standardised meta-features, the size weighing most) decides which are near.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import CashError
from ...home import default_home
from ...metrics import METRICS, percentiles
from ...profiling import META_FEATURES_VERSION, TaskProfile
from ...space import Config, validate
from ..base import PastTask, PastTaskSource

FORMAT = 2  # bumped when the JSON layout changes; older readers refuse newer files
KNOWLEDGE_FILE = Path(__file__).with_name("kb.json")
MIN_SCALE = 0.1
# How much more a meta-feature counts in the distance than the others: the size most, since what
# wins on 1,000 rows often loses on 50,000 (chosen by leave-one-task-out, ``bench.loo``).
WEIGHTS = {"log_rows": 3.0, "log_rows_per_feature": 1.5}


@dataclass(frozen=True)
class KnowledgeTask:
    """One entry: a task measured at one size."""

    name: str
    source: str
    size: int  # the rows it was measured on
    task: str  # "binary", "multiclass" or "regression"
    scores: tuple[float | None, ...]  # mean CV score of each pool configuration (None: failed or not measured)
    measured: tuple[bool, ...]  # whether each pool configuration was measured here
    seconds: tuple[float | None, ...]  # what each one's cross-validation took here (None: not measured)
    trivial: float | None  # the trivial predictor's score (class frequencies, the mean) on the same folds
    vector: np.ndarray = field(repr=False, compare=False)  # the profile's meta-features
    profile_data: dict = field(repr=False, compare=False)

    @functools.cached_property
    def profile(self) -> TaskProfile:
        """Read when the entry is consulted, not at load: finding the nearest entries needs only ``vector``."""
        return TaskProfile.from_dict(self.profile_data)

    @functools.cached_property
    def percentiles(self) -> tuple[float | None, ...]:
        """Each measured configuration's percentile among those measured here, 0–100."""
        measured = [s for s, m in zip(self.scores, self.measured, strict=True) if m]
        ranks = percentiles(list(self.scores), measured, METRICS[self.profile.metric])
        return tuple(float(r) if m else None for r, m in zip(ranks, self.measured, strict=True))


@dataclass(frozen=True)
class KnowledgeBase:
    path: Path
    version: str
    build: dict  # how it was built: sizes, folds, time limits, package versions, cost
    pools: dict[str, tuple[Config, ...]]  # "classification" / "regression" → the shared pool
    tasks: tuple[KnowledgeTask, ...]  # its entries
    scale: np.ndarray  # per meta-feature spread over the entries, divided by its weight

    def without(self, names: tuple[str, ...]) -> KnowledgeBase:
        """This knowledge base as if ``names`` had never been measured: their entries gone, and with
        them their share of the meta-features' scale and of the typical distance (leave-one-out)."""
        tasks = tuple(t for t in self.tasks if t.name not in names)
        return dataclasses.replace(self, tasks=tasks, scale=_scale(tasks))

    def pool(self, task: str) -> tuple[Config, ...]:
        return self.pools["regression" if task == "regression" else "classification"]

    @property
    def n_tasks(self) -> int:
        return len({t.name for t in self.tasks})

    def distance(self, a: TaskProfile | np.ndarray, b: TaskProfile | np.ndarray) -> float:
        """Euclidean distance of standardised, weighted meta-features."""
        a, b = (x.meta_feature_vector() if isinstance(x, TaskProfile) else x for x in (a, b))
        return float(np.sqrt((((a - b) / self.scale) ** 2).sum()))

    def candidates(self, profile: TaskProfile, exclude: tuple[str, ...] = ()) -> list[KnowledgeTask]:
        """Entries of the same kind (classification or regression), whose pool fits ``profile``."""
        regression = profile.task == "regression"
        return [t for t in self.tasks if (t.task == "regression") == regression and t.name not in exclude]

    def nearest(self, profile: TaskProfile, k: int = 5, exclude=()) -> list[tuple[float, KnowledgeTask]]:
        """(distance, entry) of the ``k`` nearest entries, nearest first, one per task (its nearest
        size): two sizes of one task would count it twice. ``exclude`` names tasks left out."""
        query = profile.meta_feature_vector()
        best: dict[str, tuple[float, KnowledgeTask]] = {}
        for entry in self.candidates(profile, exclude):
            d = self.distance(query, entry.vector)
            if entry.name not in best or d < best[entry.name][0]:
                best[entry.name] = (d, entry)
        return sorted(best.values(), key=lambda pair: (pair[0], pair[1].name))[:k]

    def typical_nearest_distance(self, task: str) -> float:
        """The 90th percentile, over the entries, of the distance to their nearest entry of another task."""
        return self._typical["regression" if task == "regression" else "classification"]

    @functools.cached_property
    def _typical(self) -> dict[str, float]:
        typical = {}
        for kind, regression in (("classification", False), ("regression", True)):
            entries = [t for t in self.tasks if (t.task == "regression") == regression]
            if not entries:
                typical[kind] = 1.0
                continue
            scaled = np.array([t.vector for t in entries]) / self.scale
            distances = np.sqrt(((scaled[:, None, :] - scaled[None, :, :]) ** 2).sum(axis=2))
            names = np.array([t.name for t in entries])
            distances[names[:, None] == names[None, :]] = np.inf  # another task, not the same at another size
            nearest = distances.min(axis=1)
            finite = nearest[np.isfinite(nearest)]
            typical[kind] = float(np.percentile(finite, 90)) if finite.size else 1.0
        return typical

    def past_task(self, task: KnowledgeTask, distance: float, top: int | None = 10) -> PastTask:
        """``task`` as the history presents past tasks: its best configurations first (those measured)."""
        pool = self.pool(task.task)
        pct = task.percentiles
        # failed or timed-out configurations rank last (cv_mean None): knowing that they fail there is
        # knowledge too, not a gap for the offline recommender to fill with a guess
        ranked = sorted((i for i in range(len(pool)) if task.measured[i]), key=lambda i: (-pct[i], i))
        trials = [
            {
                "family": pool[i].family,
                "params": pool[i].params,
                "cv_mean": task.scores[i],
                "normalized_rank": pct[i] / 100.0,
                "seconds": task.seconds[i],
            }
            for i in ranked[:top]
        ]
        return PastTask(
            task.profile,
            trials,
            name=task.name,
            source="knowledge base",
            distance=distance,
            size=task.size,
            trivial=task.trivial,
        )


def past_tasks(
    profile: TaskProfile,
    k: int,
    *,
    history: PastTaskSource | None = None,
    exclude: tuple[str, ...] = (),
    top: int | None = 10,
    knowledge_base: KnowledgeBase | None = None,
) -> list[PastTask]:
    """The ``k`` tasks nearest to ``profile`` among the knowledge base's and the ``history``'s, by one
    distance (the knowledge base's), nearest first, each with its ``top`` best configurations: what
    the offline recommender learns from and meta-informed prompts show. ``exclude`` names
    knowledge-base tasks to leave out; without a ``history`` only the knowledge base counts."""
    kb = knowledge_base or load()
    regression = profile.task == "regression"
    found = [kb.past_task(task, d, top) for d, task in kb.nearest(profile, k, exclude)]
    for past in history.measured_tasks() if history else []:
        if (past.profile.task == "regression") == regression:
            distance = kb.distance(profile, past.profile)
            found.append(dataclasses.replace(past, trials=past.trials[:top], distance=distance))
    return sorted(found, key=lambda t: (t.distance, t.source, t.name))[:k]


def knowledge_path() -> Path:
    """``$LLM_CASH_HOME/knowledge.json`` when the user built one, else the shipped file."""
    own = default_home() / "knowledge.json"
    return own if own.exists() else KNOWLEDGE_FILE


def load(path: str | os.PathLike | None = None) -> KnowledgeBase:
    """The knowledge base at ``path`` (default: ``knowledge_path()``), read once and cached."""
    return _load(Path(path) if path else knowledge_path())


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> KnowledgeBase:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CashError(f"the knowledge base {path} is unreadable ({exc}); rebuild it or reinstall") from None
    if not isinstance(data, dict) or not isinstance(data.get("format"), int):
        raise CashError(f"{path} is not an llm_cash_magic knowledge base")
    if data["format"] > FORMAT:
        raise CashError(f"{path} was built by a newer llm_cash_magic (format {data['format']}); upgrade the package")
    # validated, so a space that has since narrowed a range still yields configs it accepts
    pools = {
        kind: tuple(
            validate(family, params, "regression" if kind == "regression" else "binary")
            for family, params, _ in entries
        )
        for kind, entries in data["configs"].items()
    }
    stored_vectors = data["build"].get("meta_features") == META_FEATURES_VERSION
    tasks = tuple(_task(t, stored_vectors) for t in data["tasks"])
    return KnowledgeBase(path, data["version"], data["build"], pools, tasks, _scale(tasks))


def _scale(tasks: tuple[KnowledgeTask, ...]) -> np.ndarray:
    """Per meta-feature, its spread over the entries divided by its weight."""
    weights = np.array([WEIGHTS.get(name, 1.0) for name in TaskProfile.meta_feature_names()])
    if not tasks:
        return MIN_SCALE / weights
    # meta-features are shares or log10 sizes: a spread below 0.1 is noise, not a scale to amplify
    return np.maximum(np.array([t.vector for t in tasks]).std(axis=0), MIN_SCALE) / weights


def _task(entry: dict, stored_vectors: bool) -> KnowledgeTask:
    """One entry; its meta-features as stored when they are of this version, else from its profile."""
    results = entry["results"]  # per pool configuration: [mean, fold scores, seconds, percentile] or null
    trivial = entry.get("trivial")  # fold scores (format 2), absent in format 1
    stored = entry.get("meta_features") if stored_vectors else None
    if stored and len(stored) == len(TaskProfile.meta_feature_names()):
        vector = np.array(stored, dtype=float)
    else:
        vector = TaskProfile.from_dict(entry["profile"]).meta_feature_vector()
    return KnowledgeTask(
        entry["name"],
        entry["source"],
        entry.get("size", entry["profile"]["n_rows"]),
        entry["profile"]["task"],
        tuple(r[0] if r else None for r in results),
        tuple(r is not None for r in results),
        tuple(r[2] if r else None for r in results),
        float(np.mean(trivial)) if trivial else None,
        vector,
        entry["profile"],
    )
