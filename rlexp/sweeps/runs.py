"""Finding and reading run directories for `rlexp report` (and the sweep's closing summary).

A run directory holds metrics.json (or job.json while a sweep job runs) and .hydra/config.yaml.
A run that cannot be read (corrupt config, truncated metrics.json) is kept with status
`unreadable` and the reason, so the report lists it instead of failing. Never imports
TensorFlow or the training code.
"""

from __future__ import annotations

import json
import math
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlexp.dotted import flatten
from rlexp.rundir import (
    BEST_POLICY_DIR,
    HYDRA_DIR,
    JOB_FILE,
    LOCK_FILE,
    METRICS_FILE,
    NOT_RUN_DIRS,
    POLICY_DIR,
    SWEEP_FILE,
    lock_holder,
    never_solved,
    yaml_aliases,
)
from rlexp.rundir import CONFIG_FILE as _CONFIG_NAME

CONFIG_FILE = f"{HYDRA_DIR}/{_CONFIG_NAME}"
SKIP_DIRS = NOT_RUN_DIRS | {".submitit"}
# Config keys that do not make a different configuration: the seed, and what changes
# only what a run writes beside its results (tests/test_report_config_keys.py shows each
# leaves them bit-equal). train.checkpoint_interval is not one: each checkpoint reseeds.
NOT_CONFIG = {
    "seed",
    "repeat",
    "sweep",
    "logger",
    "train.progress",
    "train.summary_interval",
    "train.checkpoints_to_keep",
    "train.video_interval",
}
UNREADABLE = "unreadable"
ENDED = ("completed", "failed", "interrupted")  # statuses of a run that is over


@dataclass
class Run:
    path: Path
    name: str
    status: str  # completed, failed, interrupted, running, unreadable
    error: str | None
    metrics: dict[str, Any]
    config: dict[str, Any]
    seed: int | None
    source: str = ""  # the report argument it was found under

    def value(self, key: str) -> float:
        """A numeric metrics.json value, NaN when absent or not a number."""
        return number(self.metrics.get(key))

    def result(self, key: str) -> float:
        """`value(key)` as a report ranks it: a completed run that had a reward threshold
        and never reached it solved at +inf (not within its budget)."""
        unsolved = self.status == "completed" and never_solved(self.metrics, key)
        return math.inf if unsolved else self.value(key)

    def curve(self, x: str, y: str = "average_return") -> list[tuple[float, float]]:
        """(x, y) of the run's evaluations in metrics.json; a repeated x keeps its last y."""
        latest: dict[float, float] = {}
        for point in self.metrics.get("evaluations") or []:
            if isinstance(point, dict):
                px, py = number(point.get(x)), number(point.get(y))
                if math.isfinite(px) and math.isfinite(py):
                    latest[px] = py
        return sorted(latest.items())


# The config keys that name an env's task: the env option, and the task within it.
ENV_KEYS = ("env.name", "env.gym_id", "env.domain", "env.task", "env.game")


@dataclass
class Group:
    key: str
    config: dict[str, Any]
    runs: list[Run] = field(default_factory=list)
    label: str = ""

    def done(self) -> list[Run]:
        return [r for r in self.runs if r.status == "completed"]

    def counted(self, key: str) -> list[Run]:
        """The completed runs the statistics of `key` use: those with a result
        (`Run.result`, not NaN), one per seed (the first found): a run is repeatable, so a
        second run of a seed and configuration repeats its sample instead of adding one."""
        return [run for run, why in self._triage(key) if not why]

    def left_out(self, key: str) -> list[tuple[Run, str]]:
        """The completed runs `counted` leaves out, each with why."""
        return [(run, why) for run, why in self._triage(key) if why]

    def _triage(self, key: str) -> list[tuple[Run, str]]:
        """Each completed run with why the statistics of `key` leave it out ("": they don't)."""
        first: dict[str, Run] = {}
        triaged = []
        for run in self.done():
            seed = None if run.seed is None else repr(run.seed)
            why = ""
            if math.isnan(run.result(key)):
                raw = json.dumps(run.metrics[key], default=str) if key in run.metrics else "none"
                why = f"no finite {key} ({raw})"
            elif seed in first:
                why = f"repeats seed {run.seed} of `{first[seed].name}`"
            elif seed is not None:
                first[seed] = run
            triaged.append((run, why))
        return triaged

    def results(self, key: str) -> list[float]:
        """The counted runs' `Run.result`s: +inf for a solve that never came."""
        return [r.result(key) for r in self.counted(key)]

    @property
    def env(self) -> str:
        """The env the configuration trains on: its option name and task (ENV_KEYS)."""
        name, *task = (self.config.get(k) for k in ENV_KEYS)
        shown = ", ".join(str(t) for t in task if t is not None)
        return f"{name} ({shown})" if shown and name is not None else str(shown or name)


def fewest_seeds(groups: list[Group], key: str) -> int:
    """The fewest seeds with a result for `key` in any configuration."""
    return min((len(g.counted(key)) for g in groups), default=0)


def number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan


class Unreadable(Exception):
    """A run file that exists but cannot be parsed."""


def _read_json(path: Path, required: bool = False) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise Unreadable(f"{path.name}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"{path.name}: not valid JSON (truncated?): {exc}") from exc
    if not isinstance(data, dict):
        raise Unreadable(f"{path.name}: not a JSON object")
    return data


def _load_config(run_dir: Path) -> dict[str, Any]:
    """The run's config as plain data (libyaml parses it: a report reads dozens of these and
    must stay fast). Interpolations stay unresolved: an interpolated value differs between
    runs only where the keys it points to differ, so grouping and labels need no resolving."""
    import yaml

    path = run_dir / CONFIG_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise Unreadable(f"{CONFIG_FILE}: {exc.strerror}") from exc
    if yaml_aliases(text):
        raise Unreadable(f"{CONFIG_FILE}: uses YAML aliases, which Hydra never writes (edited?)")
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        raise Unreadable(f"{CONFIG_FILE}: not valid YAML: {first}") from exc
    if not isinstance(data, dict):
        raise Unreadable(f"{CONFIG_FILE}: not a mapping")
    return data


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def short_reason(error: str | None) -> str:
    """One line of a failure reason: TensorFlow's multi-line errors shrink to their message."""
    if not error:
        return "unknown"
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else "unknown"
    for i, line in enumerate(lines):
        if line.startswith("[[{{node") and i > 0:
            return f"{lines[0].split(':')[0]}: {lines[i - 1]}"
    return f"{lines[0]} ... {lines[-1]}"


def _status(path: Path, metrics: dict[str, Any], job: dict[str, Any]) -> tuple[str, str | None]:
    if metrics.get("status") in ENDED:
        return metrics["status"], metrics.get("error")
    if job.get("status") in ENDED:
        return job["status"], job.get("error")
    held = _lock_held(path)
    pid = job.get("pid")
    gone = pid and job.get("host") == socket.gethostname() and not _alive(int(pid))
    if held is False or (held is None and gone):
        return "failed", f"the training process is gone without a result (killed?); {RESUME_HINT}"
    return "running", None


RESUME_HINT = "`rlexp resume <run dir>` continues it from its last checkpoint"


def _lock_held(path: Path) -> bool | None:
    """Whether a process holds the run's lock (`rlexp.rundir.RunLock`); None where the run
    has no lock file."""
    if not (path / LOCK_FILE).is_file():
        return None
    return lock_holder(path) is not None


def is_run_dir(path: Path) -> bool:
    """A run's folder: its results, its sweep job record, or the lock of a run that began
    (killed before its first evaluation, it has neither of the others)."""
    return any((path / name).is_file() for name in (METRICS_FILE, JOB_FILE, LOCK_FILE))


def load_run(path: Path, root: Path | None = None) -> Run:
    try:
        name = str(path.relative_to(root)) if root else path.name
    except ValueError:
        name = str(path)
    name = name if name != "." else path.name
    try:
        metrics = _read_json(path / METRICS_FILE)
        job = _read_json(path / JOB_FILE)
        config = _load_config(path)
    except Unreadable as exc:
        return Run(path, name, UNREADABLE, str(exc), {}, {}, None)
    if not metrics and job.get("status") in ENDED:  # a job that ended always wrote it
        lost = f"{METRICS_FILE}: missing, though {JOB_FILE} says the run {job['status']}"
        return Run(path, name, UNREADABLE, lost, {}, config, config.get("seed"))
    exported = [d for d in (BEST_POLICY_DIR, POLICY_DIR) if (path / d).is_dir()]
    if not metrics and exported:  # each export comes with an evaluation's metrics.json
        lost = f"{METRICS_FILE}: missing, though the run exported {exported[0]}/ (deleted?)"
        return Run(path, name, UNREADABLE, lost, {}, config, config.get("seed"))
    status, error = _status(path, metrics, job)
    seed = config.get("seed", job.get("seed"))
    return Run(path, name, status, error, metrics, config, seed)


def find_runs(paths: list[Path]) -> list[Run]:
    """Every run under `paths` (a run dir has metrics.json or job.json), sorted by name;
    each once, however many of `paths` reach it (a seed counted twice is a false sample)."""
    runs: list[Run] = []
    seen: set[Path] = set()
    for root in map(Path, paths):
        found: list[Run] = []
        if is_run_dir(root):
            found.append(load_run(root, root.parent))
        else:
            for dirpath, dirnames, _ in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                here = Path(dirpath)
                if here != root and is_run_dir(here):
                    found.append(load_run(here, root))
                    dirnames[:] = []  # a run's own subfolders hold no runs
        for run in found:
            if run.path.resolve() not in seen:
                seen.add(run.path.resolve())
                run.source = str(root)
                runs.append(run)

    def order(run: Run) -> tuple:
        # `<num>_...` jobs by number; continuations (`c<k>-<num>_...`) after them.
        first = run.name.split("/")[0].split("_")[0]
        cont, _, num = first.rpartition("-")
        k = int(cont[1:]) if cont[1:].isdigit() else 0
        return (run.source, k, int(num) if num.isdigit() else math.inf, run.name)

    return sorted(runs, key=order)


def sweep_running(path: Path) -> bool:
    return sweep_status(path) == "running"


def sweep_status(path: Path) -> str | None:
    """The status sweep.json gives the sweep in `path` (running, finished, interrupted,
    aborted); None where `path` holds no readable sweep record."""
    try:
        return _read_json(Path(path) / SWEEP_FILE).get("status")
    except Unreadable:
        return None


def sweep_sweeper(path: Path) -> str | None:
    """The sweeper (`_target_`) of the latest invocation sweep.json records in `path`."""
    try:
        invocations = _read_json(Path(path) / SWEEP_FILE).get("invocations") or [{}]
    except Unreadable:
        return None
    last = invocations[-1] if isinstance(invocations, list) else {}
    return last.get("sweeper") if isinstance(last, dict) else None


# ---------------------------------------------------------------- grouping


def _config_key(config: dict[str, Any]) -> dict[str, Any]:
    flat = flatten(config)
    return {
        k: v for k, v in flat.items() if k not in NOT_CONFIG and k.split(".")[0] not in NOT_CONFIG
    }


def group_runs(runs: list[Run]) -> list[Group]:
    """Runs with the same config (minus the seed) pooled; labels name the differing keys."""
    groups: dict[str, Group] = {}
    for run in runs:
        if run.status == UNREADABLE:
            continue
        config = _config_key(run.config)
        key = json.dumps(config, sort_keys=True, default=str)
        groups.setdefault(key, Group(key, config)).runs.append(run)
    ordered = list(groups.values())
    keys = label_keys(ordered)
    for index, group in enumerate(ordered):
        parts = [f"{k}={show(group.config.get(k))}" for k in keys]
        group.label = (
            ",".join(parts) if parts else ("all runs" if len(ordered) == 1 else str(index))
        )
    return ordered


def varying_keys(groups: list[Group]) -> list[str]:
    """Config keys whose value differs between the groups (the swept ones)."""
    keys = {k for g in groups for k in g.config}
    return sorted(k for k in keys if len({repr(g.config.get(k)) for g in groups}) > 1)


def label_keys(groups: list[Group]) -> list[str]:
    """The varying keys that tell the groups apart in a label: where the env option
    differs, its other settings only where they differ within one option (each env's
    schema has its own keys and defaults, which would otherwise all differ)."""
    keys = varying_keys(groups)
    if "env.name" not in keys:
        return keys
    by_env: dict[str, list[Group]] = {}
    for g in groups:
        by_env.setdefault(repr(g.config.get("env.name")), []).append(g)

    def within_an_env(key: str) -> bool:
        return any(len({repr(g.config.get(key)) for g in same}) > 1 for same in by_env.values())

    return [k for k in keys if not k.startswith("env.") or k == "env.name" or within_an_env(k)]


def show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace(" ", "")
