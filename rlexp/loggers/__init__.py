"""Experiment loggers: where a run's parameters, scalars and artifacts go besides its run
directory. Config group `logger` (rlexp/conf/logger/): `tensorboard` (the default: the run's
TensorBoard event files, which every run writes whichever logger is chosen) and `mlflow`
(the optional extra `pip install 'rlexp[mlflow]'`).

The runner's calls (nothing else):

    logger = build_logger(cfg.logger, run_dir, resolved_config)
    logger.log_scalars(env_steps, {"eval/average_return": 187.0, ...})  # each summary/eval
    logger.log_artifacts([run_dir / "metrics.json", run_dir / "policy"])   # at the end
    logger.close(metrics["status"], error)            # always (finally); error: a failure's
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from rlexp.loggers.schemas import LoggerConfig, MlflowLoggerConfig, TensorBoardLoggerConfig

__all__ = [
    "Logger",
    "LoggerConfig",
    "MlflowLoggerConfig",
    "TensorBoardLoggerConfig",
    "build_logger",
]


class Logger(Protocol):
    def log_scalars(self, step: int, values: Mapping[str, float]) -> None: ...

    def log_artifacts(self, paths: Iterable[Path]) -> None: ...

    def close(self, status: str, error: str | None = None) -> None: ...


class TensorBoardLogger:
    """The default: the runner's own TensorBoard summaries are the log; nothing more to do."""

    def log_scalars(self, step: int, values: Mapping[str, float]) -> None:
        pass

    def log_artifacts(self, paths: Iterable[Path]) -> None:
        pass

    def close(self, status: str, error: str | None = None) -> None:
        pass


def build_logger(
    cfg: Any, run_dir: Path, resolved_config: Mapping[str, Any], resume: bool = False
) -> Logger:
    """The logger `cfg.name` selects, for the run in `run_dir` with `resolved_config`;
    `resume`: the run goes on from a checkpoint (MLflow continues the run's MLflow run)."""
    name = cfg.get("name", "tensorboard") if cfg is not None else "tensorboard"
    if name == "tensorboard":
        return TensorBoardLogger()
    if name == "mlflow":
        from rlexp.loggers.mlflow_logger import MlflowLogger

        config = MlflowLoggerConfig.from_cfg(cfg)
        return MlflowLogger.start(config, Path(run_dir), resolved_config, resume)
    raise ValueError(f"logger={name}: choose one of tensorboard, mlflow")
