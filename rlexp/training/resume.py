"""`rlexp resume <run dir>`: continue a run from its latest checkpoint, with its own config."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rlexp.training.run_files import METRICS_FILE

HYDRA_DIR = Path(".hydra")


class ResumeError(ValueError):
    """A directory that cannot be resumed as asked."""


def saved_overrides(run_dir: Path) -> list[str]:
    """The run's `.hydra/overrides.yaml` ([] when absent or unreadable: for messages only)."""
    path = Path(run_dir) / HYDRA_DIR / "overrides.yaml"
    try:
        return [str(o) for o in OmegaConf.load(path)] if path.is_file() else []
    except Exception:  # noqa: BLE001 (a damaged file: config_for_resume reports it)
        return []


def is_completed(run_dir: Path) -> bool:
    try:
        return json.loads((Path(run_dir) / METRICS_FILE).read_text()).get("status") == "completed"
    except (OSError, ValueError):
        return False


def config_for_resume(run_dir: Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The run's config recomposed from its saved overrides plus `overrides`.

    Refuses with a unified diff when the result differs from the config the run started
    with, whether the difference comes from `overrides` or from changed defaults.
    """
    from rlexp.composition import compose_config
    from rlexp.saved_run import (
        SavedRunError,
        announce_plugins,
        override_problems,
        read_saved_run,
    )

    run_dir = Path(run_dir)
    saved_file = run_dir / HYDRA_DIR / "config.yaml"
    if not saved_file.is_file():
        raise ResumeError(
            f"{run_dir} is not a run directory: it has no {HYDRA_DIR / 'config.yaml'} "
            f"(rlexp resume takes a directory that `rlexp train` created)"
        )
    try:
        run = read_saved_run(run_dir)
    except SavedRunError as exc:
        raise ResumeError(str(exc)) from None
    problems = override_problems(list(overrides))
    if problems:
        raise ResumeError("overrides that rlexp resume cannot take:\n" + "\n".join(problems))
    saved = OmegaConf.to_yaml(run.config)
    announce_plugins(run, "resume")
    cfg = compose_config([*run.overrides, *overrides])
    given = OmegaConf.to_yaml(cfg)
    if given != saved:
        diff = "".join(
            difflib.unified_diff(
                saved.splitlines(keepends=True),
                given.splitlines(keepends=True),
                fromfile=f"{saved_file} (the run's config)",
                tofile="the config given now",
            )
        )
        raise ResumeError(
            "refusing to resume: the config differs from the one the run started with.\n"
            f"{diff}Resume without those overrides, or start a new run with `rlexp train`."
        )
    return cfg
