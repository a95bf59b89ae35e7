"""What a user waits for before the first recommendation: ``%load_ext llm_cash_magic``, then the
offline recommender's first answer (knowledge base loaded on first use), each in a fresh process.

    python benchmarks/latency.py [--repeat 5]

Prints the median over ``--repeat`` fresh processes of: the extension's load time; the first
offline recommendation (profile of a 5,000-row mixed frame, the knowledge base's first load, five
recommendations); a second recommendation in the same process; and the knowledge base's size on
disk. Run it on an idle machine: the numbers are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

LOAD_EXT = """
import time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t = time.perf_counter()
ip.run_line_magic("load_ext", "llm_cash_magic")
print(time.perf_counter() - t)
"""

RECOMMEND = """
import json, time
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
n = 5_000
df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(12)})
df["city"] = pd.Categorical(rng.choice(["a", "b", "c", "d"], n))
df["y"] = df.x0 * 3 + rng.normal(size=n)
t = time.perf_counter()
import llm_cash_magic as cash
from llm_cash_magic.recommenders.offline import knowledge
first = cash.recommend(cash.profile(df, "y"), strategy="offline", n=5)
t1 = time.perf_counter()
again = cash.recommend(cash.profile(df, "y"), strategy="offline", n=5)
t2 = time.perf_counter()
kb = knowledge.load()
print(json.dumps({"first": t1 - t, "again": t2 - t1, "mb": kb.path.stat().st_size / 1e6, "entries": len(kb.tasks)}))
"""


def fresh(code: str) -> str:
    """The last line ``code`` prints in a new interpreter, with an empty history of its own and
    with bytecode caches, as a user's installed package has them."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"LLM_CASH_HOME": home}
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True, env=env
        )
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    fresh(RECOMMEND)  # writes the bytecode caches
    load = [float(fresh(LOAD_EXT)) for _ in range(args.repeat)]
    runs = [json.loads(fresh(RECOMMEND)) for _ in range(args.repeat)]
    print(f"%load_ext llm_cash_magic            {statistics.median(load) * 1000:7.0f} ms")
    first = statistics.median(r["first"] for r in runs)
    print(f"first offline recommendation       {first * 1000:7.0f} ms  (import, profile, knowledge base load)")
    print(f"next offline recommendation        {statistics.median(r['again'] for r in runs) * 1000:7.0f} ms")
    print(f"knowledge base                     {runs[0]['mb']:7.2f} MB, {runs[0]['entries']} entries")


if __name__ == "__main__":
    main()
