"""The results writer: every measured number lands in results/ with its provenance."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from frozenfit.common.checkpoint import atomic_write_bytes


def git_commit(root: Path | None = None) -> str:
    """HEAD's hash, suffixed '-dirty' when tracked code differs from it; 'unknown' outside git.
    results/, runs/ (checkpoints of long runs committed so that another machine resumes them) and
    Markdown files do not count: a sweep writes results while it runs, a long run its checkpoints,
    and prose changes no number."""
    root = root or Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)results", ":(exclude)runs", ":(exclude)*.md"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def export_commit(commit: str, dest: Path, root: Path | None = None) -> Path:
    """``commit``'s tree (its assets included) extracted into the empty folder ``dest``: the
    "before" side of a benchmark that times old and new code in one run."""
    root = root or Path(__file__).resolve().parents[2]
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=root, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def env_running(code: Path) -> dict[str, str]:
    """This process's environment with ``code`` first on PYTHONPATH, so a child process imports
    the frozenfit package in ``code`` ahead of the installed (editable) one."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(code)
    return env


def machine_info() -> str:
    """One line naming the CPU, core count and torch threads this process used."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), {platform.system()} {platform.release()}")


def machine_label(machine: str) -> str:
    """A short name for a `machine_info` line (its CPU model without vendor marks): for tables."""
    cpu = machine.split(",")[0]
    for mark in ("(R)", "(TM)", "(tm)", " Processor", " CPU"):
        cpu = cpu.replace(mark, "")
    return " ".join(cpu.split()[:3]) or "unknown"


def check_portable(payload: Any, where: str = "") -> None:
    """Refuse a results payload holding an absolute path of this machine (the checkout, a temporary
    folder, the home folder): results must read the same on every machine."""
    if isinstance(payload, dict):
        for k, v in payload.items():
            check_portable(v, f"{where}.{k}" if where else str(k))
    elif isinstance(payload, (list, tuple)):
        for i, v in enumerate(payload):
            check_portable(v, f"{where}[{i}]")
    elif isinstance(payload, str):
        roots = {str(Path(__file__).resolve().parents[2]), "/tmp/", str(Path.home()) + "/", "/work/", "/root/"}
        if any(r in payload for r in roots):
            raise ValueError(f"results field '{where}' holds an absolute machine path: {payload!r}; "
                             "record it relative to the repository (see portable_path)")


def portable_path(path: str | Path) -> str:
    """``path`` as results should record it: relative to the repository when inside it, otherwise
    only its file name (another machine's folders mean nothing)."""
    root = Path(__file__).resolve().parents[2]
    p = Path(path).resolve()
    try:
        return str(p.relative_to(root))
    except ValueError:
        return p.name


def current_command() -> str:
    """This process's command line, with paths inside the repository made relative to its root
    (also when the script was started from another folder: `python motion_realism.py` run in
    experiments/ is recorded as `python experiments/motion_realism.py`)."""
    root = Path(__file__).resolve().parents[2]

    def portable(a: str) -> str:
        p = Path(a)
        if a and not a.startswith("-") and p.exists() and p.resolve().is_relative_to(root):
            return str(p.resolve().relative_to(root))
        return a.replace(str(root) + "/", "")

    return " ".join(shlex.quote(portable(a)) for a in ["python", *sys.argv])


def write_result(path: str | Path, payload: dict[str, Any], wall_s: float | None = None,
                 command: str | None = None) -> Path:
    """Write ``payload`` plus command, commit, machine (and wall time) as pretty JSON, atomically."""
    out = dict(payload)
    out.setdefault("command", command or current_command())
    out.setdefault("commit", git_commit())
    out.setdefault("machine", machine_info())
    if wall_s is not None:
        out.setdefault("wall_s", round(wall_s, 2))
    out.setdefault("written_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    check_portable(out)
    text = json.dumps(out, indent=2, sort_keys=False) + "\n"
    path = Path(path)
    atomic_write_bytes(path, lambda tmp: Path(tmp).write_text(text))
    return path


def save_figure(fig, path: str | Path, layout: bool = True) -> Path:
    """Save a matplotlib figure (PNG), creating the folder; ``layout`` runs tight_layout first (no
    label overlaps a neighbouring panel; pass False for a figure that has laid itself out)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout:
        fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path


def markdown_table_in(text: str, header: str) -> str | None:
    """The Markdown table in ``text`` that starts with the line ``header`` (up to the first blank
    line), or None when ``text`` holds no such table."""
    start = text.find(header + "\n")
    if start < 0:
        return None
    end = text.find("\n\n", start)
    return text[start:] if end < 0 else text[start:end + 1]


def sync_markdown_table(doc: str | Path, table: str) -> bool:
    """Replace the table in ``doc`` that has ``table``'s header line with ``table`` (atomically), so a
    README's numbers are those of the results file that ``table`` was written to. Returns whether
    ``doc`` holds that table; a doc without it is left untouched."""
    doc = Path(doc)
    text = doc.read_text()
    table = table.rstrip("\n") + "\n"
    old = markdown_table_in(text, table.splitlines()[0])
    if old is None:
        return False
    if old != table:
        new = text.replace(old, table, 1)
        atomic_write_bytes(doc, lambda tmp: Path(tmp).write_text(new))
    return True
