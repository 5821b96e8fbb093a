"""The package's shipped assets, and the one rule for writing near them: an export goes under
runs/ unless the user asks, with ``--to-assets``, to replace a shipped file."""

from __future__ import annotations

from pathlib import Path

from frozenfit.errors import FrozenfitError

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def export_target(out: str | None, default: str | Path, shipped: Path, to_assets: bool) -> Path:
    """Where an export writes: ``out``, else ``shipped`` with ``to_assets``, else ``default`` (under
    runs/). A path inside the package's assets without ``to_assets`` is refused."""
    path = Path(out) if out else (shipped if to_assets else Path(default))
    if path.resolve().is_relative_to(ASSETS.resolve()) and not to_assets:
        raise FrozenfitError(f"{path} is inside the package's shipped assets ({ASSETS}); pass --to-assets "
                             "to replace a shipped file, or --out somewhere else")
    return path
