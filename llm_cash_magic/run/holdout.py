"""A refinement's trial on a Dask DataFrame: the held-out score its own generated code finds.

Each trial runs its configuration's generated definitions (``codegen.dask_model_code``: validated
values, literals only) and calls ``cash_validate`` on the user's cluster: trained on a random 80 %
of the rows, scored on the other 20 %, with no final fit (the winner gets that, in its cell). The
pass that finds the label levels and the classes is the same for every configuration, so a
refinement makes it once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..codegen.distributed import dask_model_code
from ..profiling import TaskProfile
from ..space import Config


class DaskHoldout:
    """Scores configurations on one held-out split of a Dask DataFrame (one step, reported as fold 1)."""

    steps = 1
    n_rows = None  # nothing is capped by the rows of a fold: the code trains on the cluster

    def __init__(self, ddf, profile: TaskProfile, seed: int = 0):
        self.ddf, self.profile, self.seed = ddf, profile, seed
        self._prepared: tuple | None = None  # the rows with a target, the label levels, the classes

    def trained(self, config: Config) -> Config:
        return config  # the Dask code forces nothing on a configuration

    def scores(self, config: Config, report: Callable[[int, float], None]) -> np.ndarray:
        namespace = {"__name__": "llm_cash_magic.generated"}
        code = dask_model_code(self.profile, config, seed=self.seed)
        exec(compile(code, "<llm_cash_magic dask model>", "exec"), namespace)
        if self._prepared is None:
            data = self.ddf.map_partitions(namespace["cash_with_target"])
            self._prepared = (data, *namespace["cash_label_levels"](data))
        data, levels, classes = self._prepared
        X, target = namespace["cash_inputs"](data, levels, classes)
        score = float(namespace["cash_validate"](X, target, classes)[1])
        report(1, score)
        return np.array([score])
