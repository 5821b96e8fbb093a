"""Import an experiment script (experiments/<name>.py) as a module, for tests of its functions."""

import importlib.util
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def experiment(name: str):
    """The module of experiments/<name>.py, with experiments/ importable while it is in use (some
    scripts import their neighbours)."""
    folder = str(ROOT / "experiments")
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(folder)
