"""One training job as `rlexp train` runs it (and a sweep run's child process): validate,
train into Hydra's output directory, and say how it ended, with the process exit code."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from rlexp.rundir import RunDirError


def run_job(cfg: DictConfig) -> float | None:
    """Hydra's task function for a single run; exits non-zero when the run does not end."""
    from hydra.core.hydra_config import HydraConfig

    from rlexp.training.claim import discard_unstarted
    from rlexp.validation import ConfigError, validate

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        validate(cfg)
    except ConfigError as exc:
        discard_unstarted(run_dir)
        print(f"rlexp: error: {exc}", file=sys.stderr)
        sys.exit(2)
    metrics = train_and_report(cfg, run_dir, resume=False)
    return metrics["final_eval_return"]


def train_and_report(cfg: DictConfig, run_dir: Path, resume: bool) -> dict[str, Any]:
    """Train (or resume) and print the outcome; on a stop, print why and exit."""
    from rlexp.context import BuildError
    from rlexp.training.runner import TrainingError
    from rlexp.training.trainer import Interrupted, train

    try:
        metrics = train(cfg, run_dir, resume=resume)
    except Interrupted as exc:
        print(
            f"rlexp: {exc} at env step {exc.metrics.env_steps}; checkpoint saved, run marked "
            f"interrupted. Continue it with: rlexp resume {shlex.quote(str(run_dir))}",
            file=sys.stderr,
        )
        sys.exit(exc.exit_code)
    except RunDirError as exc:
        print(f"rlexp: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (TrainingError, BuildError) as exc:
        print(f"rlexp: training failed: {exc}\nrun directory: {run_dir}", file=sys.stderr)
        sys.exit(1)
    print_summary(metrics, run_dir)
    return metrics


def print_summary(metrics: dict[str, Any], run_dir: Path) -> None:
    final, best = metrics["final_eval_return"], metrics["best_eval_return"]
    where = metrics["best_eval_env_steps"]
    print(f"final eval return: {final:.2f} (best {best:.2f}, at env step {where})")
    print(f"run directory: {run_dir}")
    print(f"view it: tensorboard --logdir {shlex.quote(str(run_dir))} --host 127.0.0.1")
