"""llm_cash_magic: ``%%cash df target=price`` recommends a model and hyperparameters for a
DataFrame, writes plain scikit-learn / LightGBM training code into a new cell, runs it, and
remembers the outcome so that the next recommendation is informed by it.

Python API, mirroring the magic::

    import llm_cash_magic as cash
    prof = cash.profile(df, "price")
    recs = cash.recommend(prof, strategy="defaults")
    code = cash.generate_code(prof, recs[0].config, data_name="df")
    blend = cash.generate_blend_code(prof, [r.config for r in recs], data_name="df")
"""

from .codegen import generate_blend_code, generate_code
from .errors import CashError
from .history import History, record_result
from .profiling import TaskProfile, profile
from .recommenders import Recommendation, recommend
from .space import Config, validate

__version__ = "0.1.0"

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
    from .magic import load_ipython_extension as load

    load(ip)


def unload_ipython_extension(ip):
    from .magic import unload_ipython_extension as unload

    unload(ip)


def _jupyter_labextension_paths():
    """The prebuilt JupyterLab extension (sidebar and cell bridge) shipped in the wheel."""
    return [{"src": "labextension", "dest": "llm-cash-magic"}]


def _jupyter_server_extension_points():
    """The REST API over the history that the sidebar reads (``llm_cash_magic.server``)."""
    return [{"module": "llm_cash_magic.server"}]
