"""The `mlflow` logger: a run's resolved config as parameters, its scalars on the env-step
axis, metrics.json and the exported policies as artifacts. A sweep is one parent run (made
by the sweep's Hydra callback, its id kept in sweep.json) with a child run per job.

Uses `MlflowClient` with explicit run ids, so nothing depends on MLflow's global active run
(sweep jobs run in parallel processes).
"""

from __future__ import annotations

import json
import math
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rlexp.context import BuildError
from rlexp.dotted import flatten
from rlexp.loggers.schemas import MlflowLoggerConfig, server_uri_problem, sqlite_folder
from rlexp.rundir import MLFLOW_PARENT_KEY as PARENT_KEY
from rlexp.rundir import SWEEP_FILE, sweep_of

PARAMS_PER_CALL = 100  # MLflow's log_batch limit
PARAM_VALUE_LIMIT = 250  # MLflow 1.x's parameter value length limit
CONNECT_TIMEOUT_S = 10  # a tracking server's first answer
STATUSES = {"completed": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}
RUN_DIR_TAG = "rlexp.run_dir"  # an MLflow run's tag: the rlexp run directory it records
ERROR_TAG = "rlexp.error"  # a failed run's tag: why it failed, as metrics.json's `error`
TAG_VALUE_LIMIT = 5000  # MLflow's longest tag value


def _run_of(client, experiment_id: str, run_dir: str) -> str | None:
    """The id of the newest MLflow run of the rlexp run in `run_dir`, if there is one.

    MLflow's filter syntax has no escapes: a value is quoted with whichever quote it lacks;
    one holding both is matched with LIKE, each quote a `_` wildcard, and the runs found
    are kept only where their tag equals `run_dir`."""
    if "'" not in run_dir or '"' not in run_dir:
        quote = '"' if "'" in run_dir else "'"
        condition, most = f"= {quote}{run_dir}{quote}", 1
    else:
        pattern = run_dir.replace("'", "_").replace('"', "_")
        condition, most = f"LIKE '{pattern}'", 1000
    found = client.search_runs(
        [experiment_id],
        f"tags.`{RUN_DIR_TAG}` {condition}",
        order_by=["attributes.start_time DESC"],
        max_results=most,
    )
    return next((r.info.run_id for r in found if r.data.tags.get(RUN_DIR_TAG) == run_dir), None)


def default_tracking_uri(run_dir: Path) -> str:
    """SQLite in the outputs folder (the nearest `outputs` above the run, else the sweep
    folder, else the run folder): works with no server."""
    run_dir = Path(run_dir).resolve()
    outputs = next((p for p in run_dir.parents if p.name == "outputs"), None)
    folder = outputs or sweep_of(run_dir) or run_dir
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def _absolute(uri: str | None, run_dir: Path) -> str | None:
    """A relative `sqlite:///<path>` made absolute against the directory the run was started
    in (its .hydra/hydra.yaml records it; else the current one): `rlexp resume` from
    another directory then finds the run's database, not a new one there."""
    from rlexp.saved_run import recorded_cwd

    folder = sqlite_folder(uri)
    path = uri.removeprefix("sqlite:///") if folder else ""
    if not path or Path(path).is_absolute():
        return uri
    return f"sqlite:///{(recorded_cwd(run_dir) or Path.cwd()) / path}"


def _client(cfg: MlflowLoggerConfig, run_dir: Path):
    """An MLflow client at the configured tracking URI, and the experiment's id (created if
    new). Raises BuildError naming the logger's keys when MLflow cannot be reached there."""
    from mlflow.tracking import MlflowClient

    uri = _absolute(cfg.tracking_uri, run_dir) or default_tracking_uri(run_dir)
    _check_reachable(uri)
    try:
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(cfg.experiment_name)
        if experiment is not None:
            return client, experiment.experiment_id
        folder = sqlite_folder(uri)
        location = (folder / "mlartifacts").as_uri() if folder else None
        return client, client.create_experiment(cfg.experiment_name, artifact_location=location)
    except Exception as exc:  # MLflow raises many types: its own, the store's, OSError
        message = " ".join(str(exc).split())[:300]
        raise BuildError(
            f"logger=mlflow cannot start at logger.tracking_uri={uri} (experiment "
            f"{cfg.experiment_name!r}): {type(exc).__name__}: {message}; fix "
            f"logger.tracking_uri, or set logger.tracking_uri=null for a local SQLite file"
        ) from exc


def _check_reachable(uri: str) -> None:
    """Fail at once where an http(s) tracking server does not answer on its port: MLflow's
    own client retries such a request for minutes before it gives up."""
    why = server_uri_problem(uri)
    if why:
        raise BuildError(
            f"logger.tracking_uri={uri}: {why}; give the server as http://HOST:PORT, or set "
            f"logger.tracking_uri=null for a local SQLite file"
        )
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(
        parts.hostname
    ):
        return  # reached through a proxy, which only MLflow's request can go through
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise BuildError(
            f"logger.tracking_uri={uri}: no MLflow server answers at {parts.hostname}:{port} "
            f"({exc.strerror or exc}); start it (mlflow server --port {port}), fix "
            f"logger.tracking_uri, or set logger.tracking_uri=null for a local SQLite file"
        ) from exc


def _log_params(client, run_id: str, config: Mapping[str, Any]) -> None:
    from mlflow.entities import Param

    params = [Param(k, str(v)[:PARAM_VALUE_LIMIT]) for k, v in flatten(config).items()]
    for i in range(0, len(params), PARAMS_PER_CALL):
        client.log_batch(run_id, params=params[i : i + PARAMS_PER_CALL])


class MlflowLogger:
    def __init__(self, client, run_id: str):
        self.client, self.run_id = client, run_id

    @property
    def tracking_uri(self) -> str:
        return self.client._tracking_client.tracking_uri

    @classmethod
    def start(
        cls,
        cfg: MlflowLoggerConfig,
        run_dir: Path,
        resolved_config: Mapping[str, Any],
        resume: bool = False,
    ) -> MlflowLogger:
        """The run's MLflow run: a new one, or, resuming, the one the run had (found by
        its run directory), running again."""
        client, experiment_id = _client(cfg, run_dir)
        tags = {RUN_DIR_TAG: str(Path(run_dir).resolve())}
        earlier = _run_of(client, experiment_id, tags[RUN_DIR_TAG]) if resume else None
        if earlier is not None:
            client.set_terminated(earlier, "RUNNING")
            return cls(client, earlier)
        sweep = sweep_of(Path(run_dir))
        if sweep is not None:
            parent = json.loads((sweep / SWEEP_FILE).read_text()).get(PARENT_KEY)
            if parent:
                tags["mlflow.parentRunId"] = parent
        run = client.create_run(experiment_id, tags=tags)
        client.set_tag(run.info.run_id, "mlflow.runName", Path(run_dir).name)
        _log_params(client, run.info.run_id, resolved_config)
        return cls(client, run.info.run_id)

    def log_scalars(self, step: int, values: Mapping[str, float]) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [
            Metric(tag, float(v), now, int(step))
            for tag, v in values.items()
            if isinstance(v, int | float) and math.isfinite(v)
        ]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def log_artifacts(self, paths: Iterable[Path]) -> None:
        for path in map(Path, paths):
            if path.is_dir():
                self.client.log_artifacts(self.run_id, str(path), artifact_path=path.name)
            elif path.is_file():
                self.client.log_artifact(self.run_id, str(path))

    def close(self, status: str, error: str | None = None) -> None:
        """End the MLflow run with `status`; a failed run's `error` becomes its ERROR_TAG."""
        if error is not None:
            self.client.set_tag(self.run_id, ERROR_TAG, error[:TAG_VALUE_LIMIT])
        self.client.set_terminated(self.run_id, STATUSES.get(status, "FAILED"))


def start_sweep_run(cfg: Any, sweep_dir: Path, overrides: list[str]) -> str:
    """The sweep's parent run (by the sweep callback); its id goes into sweep.json."""
    config = MlflowLoggerConfig.from_cfg(cfg)
    client, experiment_id = _client(config, Path(sweep_dir))
    run = client.create_run(experiment_id, tags={"rlexp.sweep_dir": str(sweep_dir)})
    client.set_tag(run.info.run_id, "mlflow.runName", f"sweep {Path(sweep_dir).name}")
    client.log_param(run.info.run_id, "overrides", " ".join(overrides)[:PARAM_VALUE_LIMIT])
    return run.info.run_id


def mark_sweep_run(cfg: Any, sweep_dir: Path, run_id: str, status: str) -> None:
    """Set the sweep's parent run to `status` (RUNNING, FINISHED, FAILED or KILLED)."""
    client, _ = _client(MlflowLoggerConfig.from_cfg(cfg), Path(sweep_dir))
    client.set_terminated(run_id, status)
