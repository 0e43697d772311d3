"""Files of the run directory other than TensorBoard events: metrics.json and friends.

Written atomically (temp file + rename) so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.json"
# The numeric keys of metrics.json, any of which a sweep can optimise (`sweep.objective`).
NUMERIC_METRICS = (
    "final_eval_return",
    "best_eval_return",
    "solved_at_env_steps",
    "solved_at_wall_time_s",
    "wall_time_s",
    "train_wall_time_s",
)


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_metrics(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / METRICS_FILE).read_text())


def record_failure(run_dir: Path, exc: BaseException) -> None:
    """Mark the run failed in metrics.json, keeping whatever partial results it had."""
    path = Path(run_dir) / METRICS_FILE
    try:
        metrics = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        metrics = {}
    metrics.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    if Path(run_dir).is_dir():
        write_json_atomic(path, metrics)


def unwritable_reason(path_text: str) -> str | None:
    """Why runs cannot be written under `path_text`, or None when they can.

    Checks the first existing ancestor (the part before any `${...}` interpolation) by
    creating a temporary file in it, which also catches read-only file systems.
    """
    import tempfile

    path = Path(path_text.split("${", 1)[0] or ".").absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return f"cannot create files in {existing} ({exc.strerror})"
    return None
