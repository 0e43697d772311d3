"""Provenance: what produced a run, recorded in its directory as provenance.json.

Command line, project git commit and dirtiness (the diff saved beside it), library
versions, CPU count, start and end times and exit status. Reads package metadata only,
so it costs no TensorFlow import.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from rlexp.rundir import DIFF_FILE, PROVENANCE_FILE, write_json_atomic

PACKAGES = (
    "tensorflow",
    "tf-agents",
    "tensorflow-probability",
    "gym",
    "hydra-core",
    "omegaconf",
    "numpy",
)
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The command as the user typed it. The CLI records it in the environment before Hydra
# rewrites sys.argv, so the processes that train a sweep's runs inherit the user's
# `rlexp -m ...` rather than their own command lines.
COMMAND_ENV = "RLEXP_COMMAND"


def set_command(argv: list[str]) -> None:
    """Record `argv` as the command every run started from this process reports."""
    os.environ[COMMAND_ENV] = shlex.join(argv)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def start_record(run_dir: Path, resume: bool = False) -> dict[str, Any]:
    """Write provenance.json (and git.diff when the tree is dirty) at the start of a run.

    A resumed run keeps its original record and appends the resume's own facts.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / PROVENANCE_FILE
    if resume and path.exists():
        record = json.loads(path.read_text())
        record.setdefault("resumes", []).append(
            {"command": _command(), "start_time": _now(), "git_commit": _commit()}
        )
        record.update(end_time=None, exit_status=None)
        write_json_atomic(path, record)
        return record
    status = _git("status", "--porcelain", "--untracked-files=no")
    dirty = bool(status.strip()) if status is not None else None
    record = {
        "command": _command(),
        "cwd": os.getcwd(),
        "git_commit": _commit(),
        "git_dirty": dirty,
        "git_diff_file": None,
        "versions": _versions(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "start_time": _now(),
        "end_time": None,
        "exit_status": None,
    }
    if dirty:
        diff = _git("diff", "HEAD")
        if diff:
            (run_dir / DIFF_FILE).write_text(diff)
            record["git_diff_file"] = DIFF_FILE
    write_json_atomic(path, record)
    return record


def _command() -> str:
    return os.environ.get(COMMAND_ENV) or shlex.join(sys.argv)


def _commit() -> str | None:
    commit = _git("rev-parse", "HEAD")
    return commit.strip() if commit else None


def finish_record(run_dir: Path, record: dict[str, Any], exit_status: str) -> None:
    """Stamp the end time and exit status (`completed`, `failed: <reason>`)."""
    record.update(end_time=_now(), exit_status=exit_status)
    for resume in record.get("resumes", [])[-1:]:
        resume.update(end_time=record["end_time"], exit_status=exit_status)
    write_json_atomic(run_dir / PROVENANCE_FILE, record)


# Facts of the record and of each of its resumes shown in the Text tab, in this order.
MARKDOWN_FACTS = ("git_commit", "git_dirty", "cpu_count", "start_time", "end_time", "exit_status")
RESUME_FACTS = ("start_time", "git_commit", "end_time", "exit_status")


def as_markdown(record: dict[str, Any]) -> str:
    """The record as a Markdown table, for TensorBoard's Text tab: the run's facts, its
    library versions, then each resume's command, start, commit, end and exit status.

    An end time or exit status not yet recorded shows as `running`.
    """
    rows = [("command", _code(record.get("command")))]
    rows += [(k, _shown(record.get(k))) for k in MARKDOWN_FACTS]
    rows += [(f"version: {k}", str(v)) for k, v in (record.get("versions") or {}).items()]
    for n, resume in enumerate(record.get("resumes") or [], start=1):
        rows.append((f"resume {n}: command", _code(resume.get("command"))))
        rows += [(f"resume {n}: {k}", _shown(resume.get(k))) for k in RESUME_FACTS]
    return "| fact | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _code(command: str | None) -> str:
    """A command as inline code (TensorBoard's Markdown keeps a `|` in it inside the cell)."""
    return f"`{command or ''}`"


def _shown(value: Any) -> str:
    return "running" if value is None else str(value)
