"""`rlexp resume <sweep dir>`: finish a sweep that was stopped, in its own folders.

The sweep's invocation is launched again as it was (its overrides and Hydra settings, from
sweep.json), into the same job folders. Each job then goes on from where it is
(`rlexp.sweeps.job`): a completed run is kept as it is, a run with a checkpoint is resumed
exactly (as `rlexp resume <run dir>` would), and a run that never began trains. Before
anything starts, every existing job's config is recomposed and compared with the one it
ran with, as a run's resume does; a job folder in use by a live process is refused.

An Optuna study is not enumerated in advance (its trials are sampled), so it continues by
running its command again into its sweep directory (docs/how-to/sweeps.md).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rlexp import rundir
from rlexp.composition import config_dir_args
from rlexp.rundir import SWEEP_FILE
from rlexp.sweeps.multirun import invocation_prefix, job_subdir
from rlexp.sweeps.sweepers import BASIC_SWEEPER

RESUMES_KEY = "resumes"  # sweep.json: an invocation that resumes the k-th one
_resuming: list[int] = []  # in `rlexp resume`: the invocation this process launches again


class SweepResumeError(ValueError):
    """A sweep directory that cannot be resumed."""


class NothingToResume(Exception):
    """A sweep whose every run completed."""


def resuming() -> int | None:
    """The invocation this process resumes (for sweep.json's record), if it resumes one."""
    return _resuming[0] if _resuming else None


def is_resumed(sweep_record: dict[str, Any]) -> bool:
    """Whether the sweep's latest invocation resumes an earlier one (its jobs go on in
    their folders instead of starting new ones)."""
    invocations = sweep_record.get("invocations") or [{}]
    return invocations[-1].get(RESUMES_KEY) is not None


@contextmanager
def launching(invocation: int) -> Iterator[None]:
    """While `rlexp resume` launches the sweep again: it resumes that invocation."""
    _resuming[:] = [invocation]
    try:
        yield
    finally:
        _resuming.clear()


def sweep_argv(sweep_dir: Path, config_dirs: Sequence[Path] = ()) -> tuple[list[str], int]:
    """The command line (`-m ...`) that resumes the sweep in `sweep_dir`, and the
    invocation it resumes, after checking that its jobs can go on."""
    from rlexp.saved_run import recorded_config_dirs

    record = _read_record(sweep_dir)
    k, invocation = _resumable_invocation(record, sweep_dir)
    missing = [d for d in config_dirs if not Path(d).is_dir()]
    if missing:
        raise SweepResumeError(f"--config-dir {missing[0]}: no such directory")
    latest = k == len(record["invocations"]) - 1
    hydra_overrides = [
        o
        for o in _hydra_overrides(sweep_dir, invocation, latest)
        if not o.startswith("hydra.sweep.dir=")
    ]
    _check_recorded(sweep_dir, [*invocation["overrides"], *hydra_overrides])
    subdirs = [o.split("=", 1)[1] for o in hydra_overrides if o.startswith("hydra.sweep.subdir=")]
    if not subdirs:
        hydra_overrides.append(f"hydra.sweep.subdir={job_subdir(k)}")
    jobs = _job_dirs(sweep_dir, k if subdirs in ([], [job_subdir(k)]) else None)
    if record.get("status") == "finished" and all(_completed(job) for job in jobs):
        raise NothingToResume(f"{sweep_dir} has finished and all its runs completed")
    dirs = [Path(d) for d in config_dirs] or (recorded_config_dirs(jobs[0]) if jobs else [])
    flags = config_dir_args(dirs)
    argv = ["-m", *flags, *invocation["overrides"], *hydra_overrides]
    argv = [*argv, f"hydra.sweep.dir={sweep_dir}"]
    _check_command_line(sweep_dir, argv, jobs, dirs)
    _check_jobs(jobs, dirs)
    return argv, k


def _resumable_invocation(record: dict[str, Any], sweep_dir: Path) -> tuple[int, dict[str, Any]]:
    """The invocation to resume, and its index: the latest one, or the one it resumed."""
    invocations = record.get("invocations") or []
    if not invocations:
        raise SweepResumeError(
            f"{sweep_dir / SWEEP_FILE} records no invocation to resume; resume its runs one "
            f"by one: rlexp resume <run dir>"
        )
    resumed = invocations[-1].get(RESUMES_KEY)
    k = int(resumed) if resumed is not None else len(invocations) - 1
    sweeper = invocations[k].get("sweeper")
    if sweeper != BASIC_SWEEPER:
        raise SweepResumeError(
            f"{sweep_dir} was swept by {sweeper}, whose jobs are not known in advance; "
            f"continue it by running its command again with hydra.sweep.dir={sweep_dir} "
            f"(an Optuna study goes on from its storage), or resume its runs one by one: "
            f"rlexp resume <run dir>"
        )
    if not isinstance(invocations[k].get("overrides"), list):
        raise SweepResumeError(
            f"{sweep_dir / SWEEP_FILE} is damaged: invocation {k} lists no overrides; resume "
            f"its runs one by one: rlexp resume <run dir>"
        )
    return k, invocations[k]


def _job_dirs(sweep_dir: Path, k: int | None) -> list[Path]:
    """The existing job folders of the sweep's k-th invocation (`<num>_...`, or
    `c<k>-<num>_...` for a later one); with folders named otherwise (k None: the user's
    `hydra.sweep.subdir`), every run folder in the sweep."""
    folders = sorted(p for p in Path(sweep_dir).iterdir() if p.is_dir())
    if k is None:
        return [p for p in folders if rundir.config_path(p).is_file()]
    pattern = re.compile(rf"{re.escape(invocation_prefix(k))}\d+_")
    return [p for p in folders if pattern.match(p.name)]


def _completed(run_dir: Path) -> bool:
    return rundir.read_metrics(run_dir).get("status") == "completed"


def _read_record(sweep_dir: Path) -> dict[str, Any]:
    path = Path(sweep_dir) / SWEEP_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SweepResumeError(f"cannot read {path}: {exc}") from None
    if not isinstance(record, dict):
        raise SweepResumeError(f"{path} is not a sweep record (a JSON object)")
    return record


def _hydra_overrides(sweep_dir: Path, invocation: dict[str, Any], latest: bool) -> list[str]:
    """The Hydra settings the invocation was given (launcher, subdir, ...): recorded in
    sweep.json, or else in multirun.yaml, which holds the latest invocation's."""
    if "hydra_overrides" in invocation:
        return [str(o) for o in invocation["hydra_overrides"]]
    if not latest:
        return []
    from omegaconf import OmegaConf

    try:
        saved = OmegaConf.load(Path(sweep_dir) / rundir.MULTIRUN_FILE)
        return [str(o) for o in OmegaConf.to_container(saved.hydra.overrides.hydra)]
    except Exception:  # noqa: BLE001 (absent or damaged: the defaults apply)
        return []


def _check_recorded(sweep_dir: Path, overrides: list[Any]) -> None:
    """The recorded overrides as data, before anything is imported: each one an override
    as rlexp records it (no flag, no `${oc.env:...}`, which rlexp expands before Hydra
    sees a command line). The trust checks of a typed command line follow
    (`_check_command_line`)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    problems = []
    for text in overrides:
        if not isinstance(text, str):
            problems.append(f"{text!r}: not an override (text)")
        elif text.startswith("-"):
            problems.append(f"{text}: a command-line flag, which a sweep's overrides never hold")
        elif "${oc.env:" in text:
            problems.append(
                f"{text}: an environment variable, which rlexp expands before it records a "
                f"sweep's overrides"
            )
        else:
            try:
                OverridesParser.create().parse_overrides([text])
            except Exception as exc:  # noqa: BLE001 (Hydra's parser raises several types)
                problems.append(f"{text!r}: not an override ({' '.join(str(exc).split())})")
    if problems:
        raise SweepResumeError(
            f"{Path(sweep_dir) / SWEEP_FILE} is not what rlexp wrote (edited?); nothing was "
            f"imported or started:\n" + "\n".join(f"  - {p}" for p in problems)
        )


def _check_command_line(sweep_dir: Path, argv: list[str], jobs: list[Path], dirs: list[Path]):
    """The sweep's command line, replayed from its record, passes the checks a typed one
    gets (`rlexp.trust.check_command`) before any job is recomposed or started. Its plugins
    are announced before they are imported, as `rlexp resume <run dir>` does, and every
    job's saved config must name the same ones (checked as data first)."""
    from rlexp.composition import plugin_modules, prepare_registry
    from rlexp.registry import RegistryError
    from rlexp.saved_run import SavedRunError, read_saved_run, started_elsewhere_hint
    from rlexp.trust import SweepPointError, TrustError, check_command

    record = Path(sweep_dir) / SWEEP_FILE
    try:
        plugins = list(plugin_modules(argv))  # reads presets, imports nothing
    except RegistryError as exc:
        raise SweepResumeError(f"{record}: {exc}; nothing was imported") from None
    for job in jobs:
        if not rundir.config_path(job).is_file():
            continue
        try:
            saved = read_saved_run(job, dirs)
        except SavedRunError as exc:
            raise SweepResumeError(f"job {job.name}: {exc}") from None
        if saved.plugins != plugins:
            raise SweepResumeError(
                f"job {job.name}: its saved config names the plugins {saved.plugins}, the "
                f"sweep's record {record} {plugins}; they were edited, or a preset changed "
                f"or moved (rlexp resume {shlex.quote(str(sweep_dir))} --config-dir <its "
                f"folder>); nothing was imported"
            )
    if plugins:
        print(
            f"rlexp resume: importing the plugins {record} names: {', '.join(plugins)} (a "
            f"plugin is Python code: use only sweep directories you trust)",
            file=sys.stderr,
        )
    try:
        prepare_registry(argv)
    except RegistryError as exc:
        hint = started_elsewhere_hint(jobs[0], "sweep") if jobs else None
        if hint is None:
            raise
        raise SweepResumeError(f"{exc}\n{hint}") from exc
    try:
        check_command(argv)
    except (TrustError, SweepPointError) as exc:
        raise SweepResumeError(
            f"{record} replays a command line that rlexp refuses (edited?); nothing was "
            f"started:\n{exc}"
        ) from None


def _check_jobs(jobs: list[Path], config_dirs: list[Path]) -> None:
    """Refuse when a job's config would differ from the one it ran with, or a job folder
    is in use by a live process."""
    from rlexp.training.resume import ResumeError, config_for_resume

    for job in jobs:
        _check_not_in_use(job)
        if not rundir.config_path(job).is_file():
            continue  # a job stopped before Hydra wrote its config: it starts anew
        try:
            config_for_resume(job, (), config_dirs, announce=False)
        except ResumeError as exc:
            raise SweepResumeError(f"job {job.name}: {exc}") from None


def _check_not_in_use(job: Path) -> None:
    from rlexp.rundir import LOCK_FILE, RunDirError, RunLock

    if not (job / LOCK_FILE).is_file():
        return
    try:
        with RunLock(job):
            pass
    except RunDirError as exc:
        raise SweepResumeError(f"{exc}; the sweep may still be running") from None
