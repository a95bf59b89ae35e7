"""The package builds on a machine without Node: its labextension's build brings a Node from PyPI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE = {"node", "nodejs", "npm", "npx", "corepack", "yarn", "yarnpkg"}


def path_without_node(bin_dir: Path) -> str:
    """A PATH of one folder linking every program on this one but Node's."""
    bin_dir.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        for program in Path(folder).glob("*") if Path(folder).is_dir() else ():
            link = bin_dir / program.name
            if program.name not in NODE and not link.exists() and os.access(program, os.X_OK):
                link.symlink_to(program)
    return str(bin_dir)


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="builds from the git checkout's files")
def test_a_clean_checkout_builds_its_wheel_with_no_node_on_the_path(tmp_path):
    source = tmp_path / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):  # what a clone has: no prebuilt labextension
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    env = os.environ | {"PATH": path_without_node(tmp_path / "bin")}
    assert shutil.which("node", path=env["PATH"]) is None
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("llm_cash_magic-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("labextensions/llm-cash-magic/static/style.js") for n in names)
    assert any("labextensions/llm-cash-magic/static/remoteEntry." in n for n in names)
