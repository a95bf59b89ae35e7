"""The knowledge base: real tasks, each with the cross-validated scores of one shared pool
of configurations, loaded lazily on first use.

``kb.json`` is plain data built by ``python -m llm_cash_magic.bench.build_knowledge`` (the code
lives in the repo and can be re-run or extended with your own tasks). A knowledge base at
``$LLM_CASH_HOME/knowledge.json`` replaces the shipped one. Tasks are offered in the same
``PastTask`` shape as the history's, so every recommender reads both alike.
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
from ...profiling import TaskProfile
from ...space import Config, validate
from ..base import PastTask, PastTaskSource

FORMAT = 1  # bumped when the JSON layout changes; older readers refuse newer files
KNOWLEDGE_FILE = Path(__file__).with_name("kb.json")
MIN_SCALE = 0.1


@dataclass(frozen=True)
class KnowledgeTask:
    name: str
    source: str
    profile: TaskProfile
    scores: tuple[float | None, ...]  # mean CV score of each pool configuration (None: failed)
    percentiles: tuple[float, ...]  # each configuration's percentile among the pool on this task, 0–100
    vector: np.ndarray = field(repr=False, compare=False)  # the profile's meta-features


@dataclass(frozen=True)
class KnowledgeBase:
    path: Path
    version: str
    build: dict  # how it was built: rows, folds, time limits, package versions
    pools: dict[str, tuple[Config, ...]]  # "classification" / "regression" → the shared pool
    tasks: tuple[KnowledgeTask, ...]
    scale: np.ndarray  # per meta-feature spread over the tasks, for distances

    def pool(self, task: str) -> tuple[Config, ...]:
        return self.pools["regression" if task == "regression" else "classification"]

    @property
    def max_rows(self) -> int | None:
        """The most rows a task was measured on (larger tasks were subsampled to it)."""
        return self.build.get("max_rows")

    def vector(self, profile: TaskProfile) -> np.ndarray:
        """``profile``'s meta-features as the knowledge base compares them: a frame larger than its
        tasks were measured on is compared as if subsampled alike, i.e. by its structure."""
        return profile.meta_feature_vector(max_rows=self.max_rows)

    def distance(self, a: TaskProfile | np.ndarray, b: TaskProfile | np.ndarray) -> float:
        """Euclidean distance of standardised meta-features (the spread of the KB's tasks)."""
        a, b = (self.vector(x) if isinstance(x, TaskProfile) else x for x in (a, b))
        return float(np.sqrt((((a - b) / self.scale) ** 2).sum()))

    def candidates(self, profile: TaskProfile, exclude: tuple[str, ...] = ()) -> list[KnowledgeTask]:
        """Tasks of the same kind (classification or regression), whose pool fits ``profile``."""
        regression = profile.task == "regression"
        return [t for t in self.tasks if (t.profile.task == "regression") == regression and t.name not in exclude]

    def nearest(self, profile: TaskProfile, k: int = 5, exclude=()) -> list[tuple[float, KnowledgeTask]]:
        """(distance, task) of the ``k`` nearest tasks, nearest first; ``exclude`` names left out."""
        query = self.vector(profile)
        found = [(self.distance(query, t.vector), t) for t in self.candidates(profile, exclude)]
        return sorted(found, key=lambda pair: (pair[0], pair[1].name))[:k]

    def typical_nearest_distance(self, task: str) -> float:
        """The 90th percentile, over the KB's tasks, of the distance to their nearest other task."""
        return self._typical["regression" if task == "regression" else "classification"]

    @functools.cached_property
    def _typical(self) -> dict[str, float]:
        typical = {}
        for kind, regression in (("classification", False), ("regression", True)):
            tasks = [t for t in self.tasks if (t.profile.task == "regression") == regression]
            if len(tasks) < 2:
                typical[kind] = 1.0
                continue
            nearest = [min(self.distance(t.vector, o.vector) for o in tasks if o is not t) for t in tasks]
            typical[kind] = float(np.percentile(nearest, 90))
        return typical

    def past_task(self, task: KnowledgeTask, distance: float, top: int | None = 10) -> PastTask:
        """``task`` as the history presents past tasks: its best configurations first."""
        pool = self.pool(task.profile.task)
        # failed or timed-out configurations rank last (cv_mean None): knowing that they fail there is
        # knowledge too, not a gap for the offline recommender to fill with a guess
        ranked = sorted(range(len(pool)), key=lambda i: (-task.percentiles[i], i))
        trials = [
            {
                "family": pool[i].family,
                "params": pool[i].params,
                "cv_mean": task.scores[i],
                "normalized_rank": task.percentiles[i] / 100.0,
            }
            for i in ranked[:top]
        ]
        return PastTask(task.profile, trials, name=task.name, source="knowledge base", distance=distance)


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
    tasks = tuple(_task(t) for t in data["tasks"])
    vectors = np.array([t.vector for t in tasks]) if tasks else np.ones((1, 1))
    spread = vectors.std(axis=0)
    # meta-features are shares or log10 sizes: a spread below 0.1 is noise, not a scale to amplify
    return KnowledgeBase(path, data["version"], data["build"], pools, tasks, np.maximum(spread, MIN_SCALE))


def _task(entry: dict) -> KnowledgeTask:
    profile = TaskProfile.from_dict(entry["profile"])
    results = entry["results"]  # per pool configuration: [mean, fold scores, seconds, percentile]
    return KnowledgeTask(
        entry["name"],
        entry["source"],
        profile,
        tuple(r[0] for r in results),
        tuple(r[3] for r in results),
        profile.meta_feature_vector(),
    )
