"""Schemas of the `logger` config group (defaults live here, not in the YAML options)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from rlexp.rundir import unwritable_reason
from rlexp.schemas import documented


@dataclass
class LoggerConfig:
    name: str = documented("tensorboard", "logger: tensorboard (default) or mlflow")

    # The optional extra (`rlexp.extras`) the logger needs, as component schemas declare it.
    requires_extra: ClassVar[str | None] = None

    def problems(self) -> list[str]:
        """The logger's extra, when it is not installed, with the command that installs it
        (validation prefixes `logger.`)."""
        from rlexp.extras import missing_problem

        instead = "use logger=tensorboard"
        problem = missing_problem(self.requires_extra, f"name={self.name}", instead)
        return [problem] if problem else []


@dataclass
class TensorBoardLoggerConfig(LoggerConfig):
    """TensorBoard event files only (the default): they are always written."""

    name: str = "tensorboard"


@dataclass
class MlflowLoggerConfig(LoggerConfig):
    """MLflow too: parameters, scalars, metrics and the policy (pip install rlexp[mlflow])."""

    name: str = "mlflow"
    tracking_uri: str | None = documented(
        None, "MLflow tracking URI; null = SQLite file outputs/mlflow.db (no server needed)"
    )
    experiment_name: str = documented("rlexp", "MLflow experiment the runs go to")

    requires_extra: ClassVar[str | None] = "mlflow"

    def problems(self) -> list[str]:
        problems = super().problems()
        if not self.experiment_name.strip():
            problems.append(
                f"experiment_name={self.experiment_name!r}: must name an MLflow experiment "
                f"(the default is rlexp)"
            )
        why = server_uri_problem(self.tracking_uri)
        if why:
            problems.append(
                f"tracking_uri={self.tracking_uri}: {why}; give the server as "
                f"http://HOST:PORT, or set logger.tracking_uri=null for outputs/mlflow.db"
            )
        folder = sqlite_folder(self.tracking_uri)
        if folder is None:
            return problems
        why = unwritable_reason(str(folder)) if folder.is_dir() else f"no folder {folder}"
        if why:
            problems.append(  # MLflow retries opening such a file for minutes
                f"tracking_uri={self.tracking_uri}: the SQLite file cannot be written "
                f"({why}); create the folder, choose another path, or set "
                f"logger.tracking_uri=null for outputs/mlflow.db"
            )
        return problems

    @classmethod
    def from_cfg(cls, cfg: Any) -> MlflowLoggerConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(cfg).items() if k in names})


def server_uri_problem(uri: str | None) -> str | None:
    """What is wrong with an http(s) tracking URI's host or port (None: nothing, or not
    http(s)). MLflow raises a bare ValueError for a bad port, and retries for minutes a
    URI with no host."""
    import urllib.parse

    parts = urllib.parse.urlsplit(uri or "")
    if parts.scheme not in ("http", "https"):
        return None
    if not parts.hostname:
        return "it names no host"
    try:
        _ = parts.port  # raises ValueError when out of range or not a number
    except ValueError:
        return "its port is not a number from 0 to 65535"
    return None


def sqlite_folder(uri: str | None) -> Path | None:
    """The folder of a `sqlite:///<path>` tracking URI's file (None: not a SQLite file)."""
    if not uri or not uri.startswith("sqlite:///") or uri.endswith(":memory:"):
        return None
    return Path(uri.removeprefix("sqlite:///")).absolute().parent


LOGGER_SCHEMAS: dict[str, type[LoggerConfig]] = {
    "tensorboard": TensorBoardLoggerConfig,
    "mlflow": MlflowLoggerConfig,
}


def store_logger_schemas() -> None:
    """The `logger` group's schemas in Hydra's ConfigStore (`/schema/logger/<name>`)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for name, schema in LOGGER_SCHEMAS.items():
        store.store(group="schema/logger", name=name, node=schema)
