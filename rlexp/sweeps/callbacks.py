"""Hydra callback of every rlexp sweep (registered in rlexp/conf/config.yaml).

At the start of a multirun it records the sweep in `sweep.json` in the sweep root: the swept
parameters' domains (each job writes them into its runs' HParams records, so the sweep root
holds no event file of its own), the objective and the invocation; at the end it stamps
`sweep.json` finished and prints how many runs completed or failed and how to review them.
"""

from __future__ import annotations

import atexit
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from rlexp.rundir import MLFLOW_PARENT_KEY as PARENT_KEY
from rlexp.rundir import SWEEP_FILE, SWEEP_STOP_FILE, write_json_atomic
from rlexp.sweeps import resume, signals
from rlexp.sweeps.sweepers import OPTUNA_SWEEPER, how_to_continue

RAY_LAUNCHER = "RayLauncher"  # hydra_ray_launcher's (ray_local, ray_cluster)


def sweep_overrides(config: DictConfig) -> list[str]:
    """The multirun's overrides: `hydra.sweeper.params` (Optuna, basic) and the command line."""
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    from_config = [f"{key}={value}" for key, value in _as_written(params).items()]
    return from_config + _as_written(config.hydra.overrides.task)


def _as_written(node: Any) -> Any:
    """Overrides as text: `${...}` in a value is the job's to resolve, and may not resolve
    at the sweep's level."""
    return OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node


class SweepReview(Callback):
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from rlexp.sweeps.hparams import swept_domains

        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        overrides = sweep_overrides(config)
        domains = swept_domains(overrides)
        record = _read(sweep_dir)
        record.setdefault("invocations", []).append(
            {
                "start_time": time.time(),
                "end_time": None,
                "overrides": _as_written(config.hydra.overrides.task),
                "hydra_overrides": _as_written(config.hydra.overrides.hydra),
                "sweeper": OmegaConf.select(config, "hydra.sweeper._target_"),
                "launcher": OmegaConf.select(config, "hydra.launcher._target_"),
            }
        )
        if resume.resuming() is not None:  # `rlexp resume <sweep dir>`
            record["invocations"][-1][resume.RESUMES_KEY] = resume.resuming()
        record.update(
            swept={
                key: domain.get("values", domain.get("interval")) for key, domain in domains.items()
            },
            hparam_domains=domains,
            objective=config.sweep.objective,
            status="running",
        )
        if OmegaConf.select(config, "logger.name") == "mlflow" and not record.get(PARENT_KEY):
            record[PARENT_KEY] = _mlflow_parent_run(config.logger, sweep_dir, overrides)
        write_json_atomic(sweep_dir / SWEEP_FILE, record)
        on_ray = _start_ray(config)  # before the stop handlers, which ray.init replaces
        signals.stop_sweep_on_signals(sweep_dir, forward=not on_ray)
        if OmegaConf.select(config, "hydra.sweeper._target_") == OPTUNA_SWEEPER:
            from rlexp.sweeps import optuna_stop

            optuna_stop.install()  # before Hydra makes the sweeper, next
        _OPEN[sweep_dir] = config
        if len(_OPEN) == 1:
            atexit.register(close_unfinished)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from rlexp.sweeps.runs import find_runs, short_reason

        sweep_dir = Path(config.hydra.sweep.dir)
        record = _read(sweep_dir)
        if record.get("invocations"):
            record["invocations"][-1]["end_time"] = time.time()
        stopped = signals.stop_requested(sweep_dir)
        record["status"] = "interrupted" if stopped else "finished"
        write_json_atomic(sweep_dir / SWEEP_FILE, record)
        (sweep_dir / SWEEP_STOP_FILE).unlink(missing_ok=True)
        signals.sweep_ended()
        _OPEN.pop(sweep_dir, None)
        runs = find_runs([sweep_dir])
        failed = [r for r in runs if r.status == "failed"]
        ended = "KILLED" if stopped else "FAILED" if failed else "FINISHED"
        _mark_mlflow_parent(config, sweep_dir, record, ended)
        done = sum(r.status == "completed" for r in runs)
        stopped_runs = sum(r.status == "interrupted" for r in runs)
        print(
            f"sweep {record['status']}: {len(runs)} runs, {done} completed, "
            f"{stopped_runs} interrupted, {len(failed)} failed"
        )
        quoted = shlex.quote(str(sweep_dir))
        if stopped:
            sweeper = OmegaConf.select(config, "hydra.sweeper._target_")
            print(f"continue it with: {how_to_continue(sweeper, sweep_dir)}")
        for run in failed:
            print(f"  failed: {run.name}: {short_reason(run.error)}", file=sys.stderr)
        if failed and not done and not stopped:
            _FRUITLESS.append(sweep_dir)
        print(f"review: rlexp report {quoted}")
        print(f"        tensorboard --logdir {quoted} --host 127.0.0.1")


def end_stopped_sweeps() -> None:
    """End each sweep of this process that a signal stopped before Hydra's end callback
    (its launcher's loop ended by `signals.SweepStopped`) as that callback would."""
    for sweep_dir, config in list(_OPEN.items()):
        if signals.stop_requested(sweep_dir):
            SweepReview().on_multirun_end(config)


# Sweeps whose start was recorded and whose end was not yet, with their config: the parent
# stamps them `aborted` when it leaves without Hydra's end callback (the launcher raised).
_OPEN: dict[Path, DictConfig] = {}
# Sweeps that ended, unstopped, with failed runs and not one completed: the command fails.
_FRUITLESS: list[Path] = []


def take_fruitless() -> list[Path]:
    """The sweeps this process ran whose every run failed (since the last call)."""
    found = list(_FRUITLESS)
    _FRUITLESS.clear()
    return found


def close_unfinished(reason: str = "the sweep's parent process ended before it finished") -> None:
    """Stamp every sweep this process started and did not finish `aborted`, with `reason`,
    and remove its stop mark, which would keep the jobs of its resume from starting.

    Called by `rlexp` when Hydra returns or raises, and at interpreter exit; a no-op once
    the sweep finished normally. (A SIGKILLed parent cannot do it; `rlexp report` then
    finds `running` with no live job, and the sweep's next start removes the mark.)"""
    for sweep_dir in sorted(_OPEN):
        try:
            (sweep_dir / SWEEP_STOP_FILE).unlink(missing_ok=True)
        except OSError:
            pass
        record = _read(sweep_dir)
        if record.get("status") == "running":
            if record.get("invocations"):
                record["invocations"][-1]["end_time"] = time.time()
            record.update(status="aborted", error=reason)
            try:
                write_json_atomic(sweep_dir / SWEEP_FILE, record)
            except OSError:
                pass
            _mark_mlflow_parent(_OPEN[sweep_dir], sweep_dir, record, "FAILED")
    _OPEN.clear()
    signals.sweep_ended()


def _start_ray(config: DictConfig) -> bool:
    """With a Ray launcher, start (or join) Ray now as the launcher would, which then finds
    it running: `ray.init` sets a SIGTERM handler that ends the sweep's process at once,
    killing the runs. Whether the launcher is Ray's."""
    if not str(OmegaConf.select(config, "hydra.launcher._target_")).endswith(RAY_LAUNCHER):
        return False
    from hydra_plugins.hydra_ray_launcher._launcher_util import start_ray

    start_ray(config.hydra.launcher.ray.init)
    return True


def _read(sweep_dir: Path) -> dict[str, Any]:
    import json

    try:
        return json.loads((sweep_dir / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _mlflow_parent_run(cfg: Any, sweep_dir: Path, overrides: list[str]) -> str | None:
    """The sweep's MLflow parent run; None, said once here, where MLflow cannot be used
    (at the tracking URI, or not installed): each job then stops with its own error. Any
    error is caught: raised here, Hydra would turn it into a warning and go on with the
    sweep unrecorded in sweep.json and without its stop handlers."""
    from rlexp.context import BuildError

    try:
        from rlexp.loggers.mlflow_logger import start_sweep_run

        return start_sweep_run(cfg, sweep_dir, overrides)
    except Exception as exc:
        reason = exc if isinstance(exc, BuildError) else f"{type(exc).__name__}: {exc}"
        print(f"rlexp: the sweep has no MLflow parent run: {reason}", file=sys.stderr)
        return None


def _mark_mlflow_parent(
    config: DictConfig, sweep_dir: Path, record: dict[str, Any], status: str
) -> None:
    """Set the sweep's MLflow parent run, if it has one, to `status` (an MLflow status);
    MLflow failing is said, never raised: the sweep's own record matters more."""
    if not record.get(PARENT_KEY) or OmegaConf.select(config, "logger.name") != "mlflow":
        return
    try:
        from rlexp.loggers.mlflow_logger import mark_sweep_run

        mark_sweep_run(config.logger, sweep_dir, record[PARENT_KEY], status)
    except Exception as exc:
        print(
            f"rlexp: the sweep's MLflow parent run could not be marked {status}: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
