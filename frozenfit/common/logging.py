"""Training logs: every scalar goes to a CSV file and, when available, to TensorBoard."""

from __future__ import annotations

import csv
from pathlib import Path


class RunLogger:
    """Append scalars per step to ``<dir>/log.csv`` and TensorBoard event files in ``<dir>/tb``.

    Resuming appends to the same CSV, after dropping the rows a killed run wrote past its last
    checkpoint (``resume_from``: the checkpoint's step), so a replayed step is not logged twice.
    Rows may log different keys (e.g. losses every step,
    validation accuracy every N steps): a key never seen before widens the header, rewriting the
    file once, and missing cells stay blank.
    """

    def __init__(self, log_dir: str | Path, tensorboard: bool = True, resume_from: int | None = None):
        self.dir = Path(log_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.dir / "log.csv"
        self._fields: list[str] | None = None
        if self.csv_path.exists() and self.csv_path.stat().st_size > 0:
            with open(self.csv_path, newline="") as f:
                reader = csv.DictReader(f)
                self._fields = list(reader.fieldnames or [])
                rows = list(reader)
            if resume_from is not None:
                kept = [r for r in rows if r.get("step") not in ("", None) and float(r["step"]) <= resume_from]
                if len(kept) != len(rows):
                    tmp = self.csv_path.with_suffix(".csv.tmp")
                    with open(tmp, "w", newline="") as f:
                        w = csv.DictWriter(f, self._fields)
                        w.writeheader()
                        w.writerows(kept)
                    tmp.replace(self.csv_path)
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self._tb = SummaryWriter(str(self.dir / "tb"))
            except ImportError:  # tensorboard is optional at run time; CSV always works
                self._tb = None

    def log(self, step: int, **scalars: float) -> None:
        row = {"step": step, **{k: float(v) for k, v in scalars.items()}}
        if self._fields is None:
            self._fields = list(row)
            with open(self.csv_path, "w", newline="") as f:
                csv.writer(f).writerow(self._fields)
        elif any(k not in self._fields for k in row):
            with open(self.csv_path, newline="") as f:
                old = list(csv.DictReader(f))
            self._fields += [k for k in row if k not in self._fields]
            with open(self.csv_path, "w", newline="") as f:
                w = csv.DictWriter(f, self._fields)
                w.writeheader()
                w.writerows(old)
        with open(self.csv_path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self._fields])
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, float(v), step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def read_csv_log(path: str | Path) -> list[dict[str, float]]:
    """Rows of a RunLogger CSV as {column: float}, blank cells left out."""
    with open(path) as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def thin_csv_log(src: str | Path, dst: str | Path, keys: list[str], every: int = 4) -> list[dict[str, float]]:
    """Copy every ``every``-th row (and the last) of a training CSV, only ``keys``, to ``dst``:
    small enough to commit, so results plots can be redrawn from the repository alone."""
    rows = read_csv_log(src)
    keep = rows[::every] + ([rows[-1]] if (len(rows) - 1) % every else [])
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "w", newline="") as f:
        w = csv.DictWriter(f, keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(keep)
    return read_csv_log(dst)


def curve_rows(log: str | Path, committed: str | Path, keys: list[str]) -> list[dict[str, float]] | None:
    """Rows for a results curve: from the live training log (thinned into ``committed``) when it
    exists, else from the committed thin copy; None when neither is there."""
    if Path(log).exists():
        return thin_csv_log(log, committed, keys)
    if Path(committed).exists():
        return read_csv_log(committed)
    return None
