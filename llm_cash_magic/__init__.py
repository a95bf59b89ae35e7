"""llm_cash_magic: ``%%cash df target=price`` recommends a model and hyperparameters for a
DataFrame, writes plain scikit-learn / LightGBM training code into a new cell, runs it, and
remembers the outcome so that the next recommendation is informed by it.

The package is laid out as the pipeline it runs (``pipeline`` imports every stage in order):

    profiling/  →  recommenders/  →  space  →  codegen/  →  run/  →  record/
    (a TaskProfile) (Recommendations) (valid configs) (training code) (executed, measured) (History)

with ``frontends/`` (the magic, terminal tables, the panel, the server extension) on top and
``bench/`` (the benchmark and the knowledge-base build) beside it.

Python API, mirroring the magic::

    import llm_cash_magic as cash
    prof = cash.profile(df, "price")
    recs = cash.recommend(prof, strategy="defaults")
    code = cash.generate_code(prof, recs[0].config, data_name="df")
    blend = cash.generate_blend_code(prof, [r.config for r in recs], data_name="df")
"""

from .codegen import generate_blend_code, generate_code
from .errors import CashError
from .pipeline import recommend_for as recommend
from .profiling import TaskProfile, profile
from .recommenders import Recommendation
from .record import History, record_result
from .space import Config, validate

try:
    from ._version import __version__  # written by the build from labextension/package.json
except ImportError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "CashError",
    "Config",
    "History",
    "Recommendation",
    "TaskProfile",
    "generate_blend_code",
    "generate_code",
    "load_ipython_extension",
    "profile",
    "recommend",
    "record_result",
    "unload_ipython_extension",
    "validate",
]


def load_ipython_extension(ip):
    """``%load_ext llm_cash_magic``."""
    from .frontends.magic import load_ipython_extension as load  # the magic imports IPython and every stage

    load(ip)


def unload_ipython_extension(ip):
    from .frontends.magic import unload_ipython_extension as unload

    unload(ip)


def _jupyter_labextension_paths():
    """The prebuilt JupyterLab extension (sidebar and cell bridge) shipped in the wheel."""
    return [{"src": "labextension", "dest": "llm-cash-magic"}]


def _jupyter_server_extension_points():
    """The REST API over the history that the sidebar reads (``frontends.server``)."""
    return [{"module": "llm_cash_magic.frontends.server"}]
