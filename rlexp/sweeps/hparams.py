"""TensorBoard HParams records with real metrics, written without TensorFlow.

Each run directory gets a session: its hyperparameters (the job's overrides and a few key
config values), its metrics as scalars under `hparams/` (final and best eval return, env
steps to solve, wall time, and the sweep objective) and an end status. The sweep root gets
the experiment (`hparams_config`): the swept parameters with their domains and the metric
list. `tensorboard --logdir <sweep dir>` then shows one HParams row per run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

from rlexp.sweeps.event_files import EventWriter

# metrics.json key -> (HParams metric tag, display name)
METRICS = {
    "final_eval_return": ("hparams/final_eval_return", "final eval return"),
    "best_eval_return": ("hparams/best_eval_return", "best eval return"),
    "solved_at_env_steps": ("hparams/solved_at_env_steps", "env steps to solve"),
    "wall_time_s": ("hparams/wall_time_s", "wall time (s)"),
}
# Config values recorded as hyperparameters of every run, swept or not.
KEY_CONFIG_VALUES = (
    "seed",
    "env.gym_id",
    "agent.name",
    "agent.learning_rate",
    "agent.gamma",
    "network.fc_layer_params",
    "train.env_steps",
)
SKIPPED_OVERRIDES = ("hydra.", "hydra/", "plugins", "repeat", "sweep.", "train.progress")


def metric_tag(key: str) -> str:
    return METRICS[key][0] if key in METRICS else f"hparams/{key}"


def metric_keys(objective: str) -> list[str]:
    return list(METRICS) + ([objective] if objective not in METRICS else [])


def _hparam_value(value: Any) -> bool | float | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return str(list(value))
    return str(value)


def _summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> summary_pb2.Summary:
    return summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(
                tag=tag,
                metadata=metadata.create_summary_metadata(data),
                tensor=metadata.NULL_TENSOR,
            )
        ]
    )


def key_values(cfg: Any) -> dict[str, bool | float | str]:
    """KEY_CONFIG_VALUES of `cfg` that it has."""
    return run_hparams(cfg, [])


def run_hparams(cfg: Any, overrides: Iterable[str]) -> dict[str, bool | float | str]:
    """The run's hyperparameters: its overrides (resolved values) and KEY_CONFIG_VALUES."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    hparams: dict[str, bool | float | str] = {}
    for override in overrides:
        key, _, raw = override.partition("=")
        key = key.lstrip("+~")
        if not raw or key.startswith(SKIPPED_OVERRIDES):
            continue
        value = OmegaConf.select(cfg, key, default=None)
        if isinstance(value, DictConfig) or value is None:
            hparams[key] = raw  # a group choice (`agent=ddqn`) or a key outside the config
        else:
            hparams[key] = _hparam_value(
                OmegaConf.to_container(value) if isinstance(value, ListConfig) else value
            )
    for key in KEY_CONFIG_VALUES:
        value = OmegaConf.select(cfg, key, default=None)
        if key not in hparams and value is not None:
            if isinstance(value, ListConfig):
                value = OmegaConf.to_container(value)
            hparams[key] = _hparam_value(value)
    return hparams


def write_session(
    run_dir: Path,
    hparams: Mapping[str, bool | float | str],
    metrics: Mapping[str, Any],
    objective: str,
    start_time: float,
) -> Path:
    """Write the run's HParams session into its own directory (a separate event file)."""
    start = plugin_data_pb2.SessionStartInfo(start_time_secs=start_time)
    for name, value in hparams.items():
        if isinstance(value, bool):
            start.hparams[name].bool_value = value
        elif isinstance(value, float):
            start.hparams[name].number_value = value
        else:
            start.hparams[name].string_value = value
    status = (
        api_pb2.STATUS_SUCCESS if metrics.get("status") == "completed" else (api_pb2.STATUS_FAILURE)
    )
    step = int(metrics.get("env_steps") or 0)
    with EventWriter(run_dir, suffix=".hparams") as writer:
        writer.summary(
            _summary(
                metadata.SESSION_START_INFO_TAG,
                plugin_data_pb2.HParamsPluginData(session_start_info=start),
            ),
        )
        for key in metric_keys(objective):
            value = metrics.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                if math.isfinite(value):
                    writer.scalar(metric_tag(key), float(value), step)
        end = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time())
        writer.summary(
            _summary(
                metadata.SESSION_END_INFO_TAG,
                plugin_data_pb2.HParamsPluginData(session_end_info=end),
            ),
            step,
        )
    return writer.path


def _domain_info(name: str, values: list[Any] | None, interval: tuple[float, float] | None):
    info = api_pb2.HParamInfo(name=name)
    if interval is not None:
        info.type = api_pb2.DATA_TYPE_FLOAT64
        info.domain_interval.min_value, info.domain_interval.max_value = interval
        return info
    converted = [_hparam_value(v) for v in values or []]
    kinds = {type(v) for v in converted}
    if kinds == {bool}:
        info.type = api_pb2.DATA_TYPE_BOOL
    elif kinds == {float}:
        info.type = api_pb2.DATA_TYPE_FLOAT64
    else:
        info.type = api_pb2.DATA_TYPE_STRING
        converted = [str(v) if not isinstance(v, str) else v for v in converted]
    if converted:
        for value in converted:
            item = info.domain_discrete.values.add()
            if isinstance(value, bool):
                item.bool_value = value
            elif isinstance(value, float):
                item.number_value = value
            else:
                item.string_value = value
    return info


def swept_domains(overrides: Iterable[str]) -> dict[str, tuple[list | None, tuple | None]]:
    """{key: (discrete values, interval)} of the sweep overrides in Hydra's override grammar.

    Covers the basic sweeper's `a=1,2` and `choice()`/`range()`, and the Optuna sweeper's
    `interval()` and `tag(log, interval())` (from the command line or `hydra.sweeper.params`).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import IntervalSweep

    domains: dict[str, tuple[list | None, tuple | None]] = {}
    parser = OverridesParser.create()
    for override in parser.parse_overrides(list(overrides)):
        key = override.get_key_element().lstrip("+~")
        if key.startswith(SKIPPED_OVERRIDES) or not override.is_sweep_override():
            continue
        value = override.value()
        if isinstance(value, IntervalSweep):
            domains[key] = (None, (float(value.start), float(value.end)))
        else:
            domains[key] = (list(override.sweep_iterator()), None)
    return domains


def write_experiment(
    sweep_dir: Path,
    domains: Mapping[str, tuple[list | None, tuple | None]],
    objective: str,
    fixed: Mapping[str, Any] | None = None,
) -> Path:
    """The sweep root's `hparams_config`: swept parameters with their domains, then the key
    config values every run records (`fixed`: name -> the sweep's value, for the type)."""
    infos = [_domain_info(name, *domain) for name, domain in domains.items()]
    for name, value in (fixed or {}).items():
        if name not in domains:
            info = _domain_info(name, [value], None)
            info.ClearField("domain_discrete")  # a column, not a one-value domain
            infos.append(info)
    metric_infos = [
        api_pb2.MetricInfo(
            name=api_pb2.MetricName(tag=metric_tag(key)),
            display_name=METRICS.get(key, (None, key))[1],
        )
        for key in metric_keys(objective)
    ]
    experiment = api_pb2.Experiment(
        time_created_secs=time.time(), hparam_infos=infos, metric_infos=metric_infos
    )
    for older in Path(sweep_dir).glob("events.out.tfevents.*.hparams_config.v2"):
        older.unlink()  # a continued sweep: one experiment per logdir root
    with EventWriter(sweep_dir, suffix=".hparams_config") as writer:
        writer.summary(
            _summary(
                metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment)
            )
        )
    return writer.path
