"""One training job as `rlexp train` runs it (and a sweep run's child process): validate,
train into Hydra's output directory, and say how it ended, with the process exit code."""

from __future__ import annotations

import shlex
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from rlexp import stop_signals
from rlexp.rundir import TRAIN_LOG, DiskFullError, RunDirError, mark_status
from rlexp.training.progress import append_to_log, job_prefix


def run_job(cfg: DictConfig, resume: bool = False) -> float | None:
    """Hydra's task function for a single run; exits non-zero when the run does not end.
    `resume`: go on from the run's latest checkpoint (a sweep's job, resumed)."""
    from hydra.core.hydra_config import HydraConfig

    from rlexp.training.claim import discard_unstarted
    from rlexp.validation import ConfigError, validate

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        validate(cfg)
        if cfg.repeat > 1:  # a sweep's child process trains each seed with repeat=1
            raise ConfigError([_one_run_repeated(cfg)])
    except ConfigError as exc:
        discard_unstarted(run_dir)
        print(f"rlexp: error: {exc}", file=sys.stderr)
        sys.exit(2)
    metrics = train_and_report(cfg, run_dir, resume=resume, label=_label(cfg))
    return metrics["final_eval_return"]


def _one_run_repeated(cfg: DictConfig) -> str:
    """Why `rlexp train repeat=N` is refused: it would train one seed of the N asked for."""
    seeds = f"{cfg.seed}..{cfg.seed + cfg.repeat - 1}"
    return (
        f"repeat={cfg.repeat}: a single run trains one seed; for {cfg.repeat} runs (seeds "
        f"{seeds}) make it a sweep: rlexp -m ... repeat={cfg.repeat}"
    )


def _label(cfg: DictConfig) -> str:
    """`[job 3 seed 1] ` in a sweep's training process; nothing for a single run."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hydra_cfg = HydraConfig.get()
    multirun = str(hydra_cfg.mode) in (str(RunMode.MULTIRUN), "MULTIRUN")
    return job_prefix(hydra_cfg.job.get("num"), int(cfg.seed)) if multirun else ""


def train_and_report(
    cfg: DictConfig, run_dir: Path, resume: bool, label: str = ""
) -> dict[str, Any]:
    """Train (or resume); on a stop or failure, print why and exit. The runner prints how
    a finished run ended."""
    from rlexp.tracking.quiet import quiet_tensorflow

    quiet_tensorflow()  # before the runner's module imports TensorFlow
    from rlexp.context import BuildError
    from rlexp.training.claim import discard_unbuilt, discard_unstarted
    from rlexp.training.runner import TrainingError
    from rlexp.training.trainer import Interrupted, StoppedBeforeStart, train

    try:
        metrics = train(cfg, run_dir, resume=resume, label=label)
    except StoppedBeforeStart as exc:
        if resume:
            what = "the run directory is as it was"
        elif discard_unstarted(run_dir):
            what = f"removed {run_dir}, which held nothing of it yet"
        else:  # a directory made for it (a sweep's job): its launcher reads how it ended
            mark_status(run_dir, "interrupted", str(exc))
            what = "its metrics.json says interrupted"
        print(f"rlexp: {exc}; {what}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        _say_and_log(
            run_dir,
            f"rlexp: {exc} at env step {exc.metrics.env_steps}; checkpoint saved, run marked "
            f"interrupted. Continue it with: rlexp resume {shlex.quote(str(run_dir))}",
        )
        sys.exit(exc.exit_code)
    except RunDirError as exc:
        print(f"rlexp: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (DiskFullError, TrainingError, BuildError) as exc:
        # A new run that never began (components that failed to build, a full disk as it
        # started): what was created for it goes.
        if discard_unbuilt(run_dir):
            print(
                f"rlexp: error: {exc}\nremoved {run_dir}, which held nothing of the run yet",
                file=sys.stderr,
            )
            sys.exit(2)
        if isinstance(exc, DiskFullError):  # says what happened to the run's files
            print(f"rlexp: error: {exc}", file=sys.stderr)
        else:
            print(f"rlexp: training failed: {exc}\nrun directory: {run_dir}", file=sys.stderr)
        sys.exit(1)
    return metrics


def _say_and_log(run_dir: Path, line: str) -> None:
    """`line` to stderr and to the run's train.log, which keeps it where nothing reads the
    terminal any more (after SIGHUP); neither a terminal that is gone nor a log that
    cannot be written keeps the process from exiting as it should."""
    stop_signals.say(line)
    with suppress(OSError):
        append_to_log(run_dir / TRAIN_LOG, line)
