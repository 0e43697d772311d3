"""TensorBoard HParams records of a sweep, built with TensorBoard's HParams API
(`tensorboard.plugins.hparams.summary_v2`) and written without TensorFlow.

Each run directory gets one extra event file (`*.hparams.v2`) holding
- the experiment: the swept parameters with their domains, the key config values and the
  metric list. TensorBoard takes it from whichever run has it, so the sweep folder itself
  holds no event file and does not show up as an extra run ".";
- the session: the run's hyperparameters, start time and end status (`SESSION_STATUS`),
  in a group of its own, named by TensorBoard after the run's directory;
- two curves from metrics.json, `eval/best_average_return` (the running best of the
  evaluations) and `perf/train_wall_time_s` (at each evaluation, then the run's total),
  beside the training's own `eval/average_return`. The HParams metrics are these curves'
  last values, so Scalars shows curves, not one-point cards.

Integer values (the seed, a swept batch size) are recorded as strings: TensorBoard prints
every number with five significant digits (seed 0 as "0.0000"). A key whose domain holds
floats or is an interval stays a number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hp
from tensorboard.plugins.scalar.summary_v2 import scalar_pb

from rlexp.rundir import HPARAMS_SESSION_GLOB, HPARAMS_SUFFIX
from rlexp.sweeps.event_files import EventWriter

# metrics.json key -> (TensorBoard scalar tag, display name). The first two are curves.
METRICS = {
    "final_eval_return": ("eval/average_return", "final eval return"),
    "best_eval_return": ("eval/best_average_return", "best eval return"),
    "train_wall_time_s": ("perf/train_wall_time_s", "training time (s)"),
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
SKIPPED_OVERRIDES = ("hydra.", "hydra/", "plugins", "repeat", "sweep.", "train.progress", "logger")
# metrics.json status -> HParams session status; any other is a failure. TensorBoard's
# Status filter shows them as Success, Unknown and Failure. An interrupted run is stopped,
# not failed nor running: how it ends is unknown until `rlexp resume` finishes it.
SESSION_STATUS = {"completed": api_pb2.STATUS_SUCCESS, "interrupted": api_pb2.STATUS_UNKNOWN}
HParamValue = bool | float | str
# A domain as sweep.json records it: {"values": [...]} or {"interval": [low, high]}.
Domain = Mapping[str, list]


def metric_tag(key: str) -> str:
    """The scalar tag of a metrics.json key (a one-point `hparams/<key>` for the others)."""
    return METRICS[key][0] if key in METRICS else f"hparams/{key}"


def metric_keys(objective: str) -> list[str]:
    return list(METRICS) + ([objective] if objective not in METRICS else [])


def numeric_domain(domain: Domain | None) -> bool:
    """Whether a key's values stay numbers: an interval, or discrete values with a float."""
    if domain is None:
        return False
    if "interval" in domain:
        return True
    values = domain.get("values", [])
    return any(isinstance(v, float) for v in values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def hparam_value(value: Any, numeric: bool = False) -> HParamValue:
    """A config value as TensorBoard records it (integers as strings unless `numeric`)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value) if numeric else str(value)
    if isinstance(value, float):
        return value
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return str(list(value))
    return str(value)


def key_values(cfg: Any) -> dict[str, HParamValue]:
    """KEY_CONFIG_VALUES of `cfg` that it has."""
    return run_hparams(cfg, [], {})


def run_hparams(
    cfg: Any, overrides: Iterable[str], domains: Mapping[str, Domain] | None = None
) -> dict[str, HParamValue]:
    """The run's hyperparameters: its overrides (resolved values) and KEY_CONFIG_VALUES."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    domains = domains or {}
    hparams: dict[str, HParamValue] = {}
    keys = [o.partition("=")[0].lstrip("+~") for o in overrides if o.partition("=")[2]]
    raws = {o.partition("=")[0].lstrip("+~"): o.partition("=")[2] for o in overrides}
    for key in [*keys, *KEY_CONFIG_VALUES]:
        if key in hparams or key.startswith(SKIPPED_OVERRIDES):
            continue
        # An interpolation that does not resolve (a skipped job's) is shown as written.
        value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
        if isinstance(value, DictConfig) or (value is None and key in raws):
            hparams[key] = raws[key]  # a group choice (`agent=ddqn`) or a key outside
        elif value is not None:
            if isinstance(value, ListConfig):
                value = OmegaConf.to_container(value)
            hparams[key] = hparam_value(value, numeric_domain(domains.get(key)))
    return hparams


def swept_domains(overrides: Iterable[str]) -> dict[str, dict[str, list]]:
    """{key: {"values": [...]} or {"interval": [low, high]}} of the sweep overrides.

    Covers the basic sweeper's `a=1,2` and `choice()`/`range()`, and the Optuna sweeper's
    `interval()` and `tag(log, interval())` (from the command line or `hydra.sweeper.params`).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import IntervalSweep

    domains: dict[str, dict[str, list]] = {}
    parser = OverridesParser.create()
    for override in parser.parse_overrides(list(overrides)):
        key = override.get_key_element().lstrip("+~")
        if key.startswith(SKIPPED_OVERRIDES) or not override.is_sweep_override():
            continue
        value = override.value()
        if isinstance(value, IntervalSweep):
            domains[key] = {"interval": [float(value.start), float(value.end)]}
        else:
            domains[key] = {"values": list(override.sweep_iterator())}
    return domains


def _hparam(name: str, domain: Domain) -> hp.HParam:
    if "interval" in domain:
        return hp.HParam(name, hp.RealInterval(*map(float, domain["interval"])))
    numeric = numeric_domain(domain)
    values = {hparam_value(v, numeric) for v in domain["values"]}
    if len({type(v) for v in values}) > 1:  # mixed kinds: all as strings
        values = {str(v) for v in values}
    return hp.HParam(name, hp.Discrete(sorted(values, key=_order)))


def _order(value: HParamValue) -> tuple:
    """Numbers and integer strings by value, then other strings."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, str(value))


def experiment_summary(
    domains: Mapping[str, Domain], objective: str, fixed: Mapping[str, HParamValue]
) -> summary_pb2.Summary:
    """The sweep's `hparams_config`: swept parameters with their domains, then the key
    config values every run records (a column each, typed by the sweep's value).

    The swept parameters are marked as differing: TensorBoard lists those first and its
    HParams tab shows only the first five columns until the user ticks more.
    """
    hparams = [_hparam(name, domain) for name, domain in domains.items()]
    hparams += [hp.HParam(name) for name in fixed if name not in domains]
    metrics = [
        hp.Metric(metric_tag(key), display_name=METRICS.get(key, (None, key))[1])
        for key in metric_keys(objective)
    ]
    summary = hp.hparams_config_pb(hparams, metrics, time_created_secs=time.time())
    content = summary.value[0].metadata.plugin_data
    data = plugin_data_pb2.HParamsPluginData.FromString(content.content)
    types = {bool: api_pb2.DATA_TYPE_BOOL, float: api_pb2.DATA_TYPE_FLOAT64}
    for info in data.experiment.hparam_infos:
        if info.name in domains:
            info.differs = len(info.domain_discrete.values) != 1
        elif info.name in fixed:
            info.type = types.get(type(fixed[info.name]), api_pb2.DATA_TYPE_STRING)
    content.content = data.SerializeToString()
    return summary


def _session_end(status: str) -> summary_pb2.Summary:
    end = plugin_data_pb2.SessionEndInfo(
        status=SESSION_STATUS.get(status, api_pb2.STATUS_FAILURE),
        end_time_secs=time.time(),
    )
    data = plugin_data_pb2.HParamsPluginData(session_end_info=end)
    return summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(
                tag=metadata.SESSION_END_INFO_TAG,
                metadata=metadata.create_summary_metadata(data),
                tensor=metadata.NULL_TENSOR,
            )
        ]
    )


def metric_curves(metrics: Mapping[str, Any], objective: str) -> list[tuple[str, int, float]]:
    """(tag, env step, value) points written beside the training's own summaries.

    The training time curve ends at the run's last env step with metrics.json's total, so
    its last value, the HParams metric, equals `train_wall_time_s` (the time at the last
    evaluation leaves out what ran after it).
    """
    points = []
    best = -math.inf
    end = int(metrics.get("env_steps") or 0)
    wall_tag = metric_tag("train_wall_time_s")
    total = metrics.get("train_wall_time_s")
    has_total = isinstance(total, int | float) and not isinstance(total, bool)
    for e in metrics.get("evaluations") or []:
        step, ret, wall = e.get("env_steps"), e.get("average_return"), e.get("train_wall_time_s")
        if isinstance(step, int) and isinstance(ret, int | float) and math.isfinite(ret):
            best = max(best, ret)
            points.append((metric_tag("best_eval_return"), step, best))
        if (
            isinstance(step, int)
            and isinstance(wall, int | float)
            and not (has_total and step >= end)
        ):
            points.append((wall_tag, step, float(wall)))
    if has_total:
        points.append((wall_tag, end, float(total)))
    value = metrics.get(objective)
    if objective not in METRICS and isinstance(value, int | float) and math.isfinite(value):
        points.append((metric_tag(objective), end, float(value)))
    return points


def write_session(
    run_dir: Path,
    hparams: Mapping[str, HParamValue],
    metrics: Mapping[str, Any],
    objective: str,
    start_time: float,
    experiment: summary_pb2.Summary | None = None,
) -> Path:
    """Write the run's HParams records into its own directory (a separate event file),
    in place of the ones written before it was resumed: a run is one session.

    The session has no group name (an empty trial id), so TensorBoard makes it a group of
    its own named by its run (the run directory relative to `--logdir`): two runs with equal
    hyperparameters are two rows, never one row of averaged metrics.
    """
    step = int(metrics.get("env_steps") or 0)
    for earlier in Path(run_dir).glob(HPARAMS_SESSION_GLOB):
        earlier.unlink()
    with EventWriter(run_dir, suffix=HPARAMS_SUFFIX) as writer:
        if experiment is not None:
            writer.summary(experiment)
        writer.summary(hp.hparams_pb(dict(hparams), trial_id="", start_time_secs=start_time))
        for tag, at, value in metric_curves(metrics, objective):
            writer.summary(scalar_pb(tag, value), at)
        writer.summary(_session_end(str(metrics.get("status"))), step)
    return writer.path
