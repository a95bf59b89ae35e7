"""Stage 4 of the pipeline: a Config (or a blend of configs) → readable, self-contained training code.

``generate`` assembles a cell; ``preprocess`` holds the ColumnTransformer per family kind and
the helper functions the code defines; ``training`` the cross-validation and final fit of a single
model; ``blend`` the ensembles. Every string from data or a recommender is emitted with ``repr``.
"""

from .blend import BLEND, BLEND_METHODS, blend_params, blend_params_of, estimator_of
from .generate import (
    Built,
    as_trained,
    build,
    build_model,
    check_data_name,
    effective_cv,
    generate_blend_code,
    generate_code,
    model_code,
    package_versions,
)
from .training import FOLD_LINE

__all__ = [
    "BLEND",
    "Built",
    "build",
    "BLEND_METHODS",
    "FOLD_LINE",
    "as_trained",
    "blend_params",
    "blend_params_of",
    "build_model",
    "check_data_name",
    "effective_cv",
    "estimator_of",
    "generate_blend_code",
    "generate_code",
    "model_code",
    "package_versions",
]
