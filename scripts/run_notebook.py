"""Execute a notebook headless in a real kernel and print what each cell printed.

    python scripts/run_notebook.py notebooks/quickstart.ipynb [--save executed.ipynb]

Exits non-zero if a cell raises. Used by ``make demo``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

WIDGET = "application/vnd.jupyter.widget-view+json"


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type in ("execute_result", "display_data"):
        if WIDGET in output.get("data", {}):
            return "[an interactive widget: open the notebook in JupyterLab to use it]\n"
        plain = output.get("data", {}).get("text/plain")
        return plain + "\n" if plain is not None else ""  # HTML only (the panel's static copy): not for a terminal
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}\n"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--save", type=Path, help="write the executed notebook here")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(args.notebook.parent.resolve())}},
    )
    status = 0
    try:
        client.execute()
    except CellExecutionError as exc:
        print(exc, file=sys.stderr)
        status = 1
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        print(f"\n>>> {cell.source}")
        for output in cell.get("outputs", []):
            sys.stdout.write(_text(output))
    if args.save:
        nbformat.write(nb, args.save)
    return status


if __name__ == "__main__":
    sys.exit(main())
