"""Leave-one-task-out on the knowledge base itself: how the offline recommender would have done on
each of its tasks had that task been unknown. No fit is needed (every pool configuration's score is
stored), so settings such as the number of neighbours are chosen here, never on the dev tasks
the benchmark holds out.

    python -m llm_cash_magic.bench.loo [--k 4 8 16]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..recommenders.offline import OfflineRecommender, knowledge
from ..space import validate


def leave_one_out(kb: knowledge.KnowledgeBase, k: int = 8, n: int = 10) -> dict[str, float]:
    """Mean percentile over the KB's tasks of: the offline top-1, the best of its top n (an upper
    bound for best-of-n), LightGBM's defaults, and the pool's best single configuration on average."""
    top1, best_of, lightgbm = [], [], []
    for task in kb.tasks:
        pool = kb.pool(task.profile.task)
        index = {_key(c.family, c.params): i for i, c in enumerate(pool)}
        recs = OfflineRecommender(k=k, knowledge_base=kb, exclude=(task.name,))
        picks = [index[_key(r.family, r.params)] for r in recs.recommend(task.profile, n=n)]
        top1.append(task.percentiles[picks[0]])
        best_of.append(max(task.percentiles[i] for i in picks))
        lightgbm.append(task.percentiles[index[_key("lightgbm", validate("lightgbm", {}, task.profile.task).params)]])
    return {
        "offline top-1": float(np.mean(top1)),
        f"offline best of top {n} (oracle)": float(np.mean(best_of)),
        "LightGBM defaults": float(np.mean(lightgbm)),
        "single best on average": _single_best(kb),
    }


def _single_best(kb: knowledge.KnowledgeBase) -> float:
    """The data-independent baseline: per kind, the one configuration with the best mean percentile
    over the other tasks (left out in turn), scored on the task left out."""
    scores = []
    for task in kb.tasks:
        others = [t for t in kb.candidates(task.profile) if t.name != task.name]
        if not others:
            continue
        mean = np.mean([t.percentiles for t in others], axis=0)
        scores.append(task.percentiles[int(np.argmax(mean))])
    return float(np.mean(scores))


def _key(family: str, params: dict) -> str:
    return json.dumps([family, params], sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m llm_cash_magic.bench.loo", description=__doc__)
    parser.add_argument("--k", type=int, nargs="+", default=[8])
    args = parser.parse_args()
    kb = knowledge.load()
    for k in args.k:
        print(f"k={k}: " + ", ".join(f"{name} {value:.1f}" for name, value in leave_one_out(kb, k).items()))


if __name__ == "__main__":
    main()
