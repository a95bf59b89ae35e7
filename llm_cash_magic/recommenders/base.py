"""What every recommender shares: the Recommendation it yields, the protocol it follows, and what
it may read of the past (``PastTask``, from the knowledge base or a history).

A recommender turns a TaskProfile into a ranked stream of Recommendations. Every recommendation
is validated against the space before it is yielded, so consumers never see an invalid config.
Recommenders learn from a history through the ``PastTaskSource`` and ``RequestLog`` protocols,
which ``record.History`` fulfils: they never import the store that comes later in the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from ..profiling import TaskProfile
from ..space import Config

Notify = Callable[[str], None]  # where a recommender's one-line notes go; the frontend decides


def quiet(_line: str) -> None:
    """A ``Notify`` that drops the notes (library use, benchmarks)."""


DEFAULT_N = 5  # recommendations when nothing says how many: as many as ``--auto`` races (``RACE_SIZE``)
EVIDENCE = " — nearest: "  # where a rationale's lead ends and the per-task evidence begins


@dataclass(frozen=True)
class Recommendation:
    """A validated family + hyperparameters, why it was chosen, and who chose it."""

    family: str
    params: dict
    rationale: str
    source: str  # "defaults", "offline", "llm:<model>", ...
    notes: tuple[str, ...] = ()  # repairs made while validating what the source said
    time_factor: float | None = None  # its training time over LightGBM defaults' on similar tasks, where known

    @property
    def config(self) -> Config:
        return Config(self.family, self.params, self.notes)

    @property
    def rationale_parts(self) -> tuple[str, str]:
        """The rationale's lead (what a data scientist reads at a glance) and the evidence behind it,
        which an offline rationale gives after ``EVIDENCE``; ("…", "") when there is none."""
        lead, _, evidence = self.rationale.partition(EVIDENCE)
        return lead, evidence

    def to_dict(self) -> dict:
        return {
            "family": self.family,
            "params": self.params,
            "rationale": self.rationale,
            "source": self.source,
            "notes": list(self.notes),
            "time_factor": self.time_factor,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Recommendation:
        return cls(
            data["family"],
            data["params"],
            data["rationale"],
            data["source"],
            tuple(data["notes"]),
            data.get("time_factor"),  # absent in runs recorded before it was
        )


class Recommender(Protocol):
    """Turns a profile into a ranked stream of validated recommendations.

    One that talks to a model may also offer, for the panel: ``model`` (its name, for the header);
    ``messages(profile, n, notes)``, the exact chat messages ``recommend`` sends first ("Show
    prompt"); and ``on_text``, an attribute (None by default) that the panel sets to a callable
    before iterating, called with each piece of raw response text as it arrives (the live view).
    """

    name: str

    def recommend(self, profile: TaskProfile, n: int = DEFAULT_N, notes: str = "") -> Iterator[Recommendation]:
        """Yield up to ``n`` validated recommendations, best first, as soon as each is ready."""
        ...


@dataclass(frozen=True)
class PastTask:
    """A task measured before (in the knowledge base or the history): its profile and trials, best
    first, each with family, params, cv_mean (full precision), normalized_rank (the share of the
    task's other configurations it beat, ties half) and seconds (what training it took there, read
    only next to another trial of the same task: the knowledge base times all of an entry's folds,
    the history one fold)."""

    profile: TaskProfile
    trials: list[dict]
    name: str = ""  # the DataFrame's name in the history, the task's name in the knowledge base
    source: str = "history"  # or "knowledge base"
    distance: float = 0.0  # from the task at hand, once compared with it
    size: int | None = None  # the rows it was measured on (a knowledge-base task is measured at several sizes)
    trivial: float | None = None  # the trivial predictor's score there, when known


class PastTaskSource(Protocol):
    """Where past tasks come from besides the knowledge base: a history of the user's own runs."""

    def measured_tasks(self) -> list[PastTask]:
        """Every task with finished trials, one per dataset and metric."""
        ...
