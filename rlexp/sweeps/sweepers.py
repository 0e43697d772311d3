"""The sweepers rlexp knows by their Hydra `_target_`, and what continues a stopped sweep
of each. Imports nothing heavy (`rlexp report` uses it)."""

from __future__ import annotations

import shlex
from pathlib import Path

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
OPTUNA_SWEEPER = "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"


def how_to_continue(sweeper: str | None, sweep_dir: Path) -> str:
    """What continues the stopped sweep in `sweep_dir`, swept by `sweeper` (a `_target_`)."""
    quoted = shlex.quote(str(sweep_dir))
    if sweeper == BASIC_SWEEPER:
        return f"rlexp resume {quoted}"
    if sweeper == OPTUNA_SWEEPER:
        return (
            f"the same command again, with hydra.sweep.dir={quoted} (the study goes on, the "
            f"trials it asked for and did not start first)"
        )
    return "rlexp resume <run dir> for each interrupted run"
