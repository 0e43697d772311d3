"""provenance.json as TensorBoard's Text tab shows it (rlexp/tracking/provenance.py)."""

from __future__ import annotations

from tensorboard import plugin_util

from rlexp.tracking import provenance


def record_with_resumes() -> dict:
    """A record as provenance.json holds it after an interrupted resume and a completed one."""
    return {
        "command": "rlexp train.env_steps=5000 hydra.run.dir=runs/res",
        "cwd": "/home/you",
        "git_commit": "a" * 40,
        "git_dirty": False,
        "git_diff_file": None,
        "versions": {"python": "3.11.7", "tensorflow": "2.15.1"},
        "platform": "Linux",
        "cpu_count": 2,
        "start_time": "2026-11-29T15:23:54+00:00",
        "end_time": "2026-11-29T15:24:33+00:00",
        "exit_status": "completed",
        "resumes": [
            {
                "command": "rlexp resume runs/res",
                "start_time": "2026-11-29T15:24:03+00:00",
                "git_commit": "b" * 40,
                "end_time": "2026-11-29T15:24:07+00:00",
                "exit_status": "interrupted: SIGINT",
            },
            {
                "command": "rlexp resume runs/res",
                "start_time": "2026-11-29T15:24:28+00:00",
                "git_commit": "c" * 40,
                "end_time": "2026-11-29T15:24:33+00:00",
                "exit_status": "completed",
            },
        ],
    }


def table(markdown: str) -> dict[str, str]:
    """{fact: value} of the Markdown table, as TensorBoard renders it (a well-formed table)."""
    html = plugin_util.markdown_to_safe_html(markdown)
    assert html.startswith("<table>"), html
    rows = [line.split(" | ") for line in markdown.splitlines()[2:]]
    return {cells[0].strip("| "): cells[1].strip("| ") for cells in rows}


def test_text_tab_shows_end_exit_status_and_every_resume():
    facts = table(provenance.as_markdown(record_with_resumes()))

    assert facts["end_time"] == "2026-11-29T15:24:33+00:00"
    assert facts["exit_status"] == "completed"
    assert facts["resume 1: command"] == "`rlexp resume runs/res`"
    assert facts["resume 1: git_commit"] == "b" * 40
    assert facts["resume 1: exit_status"] == "interrupted: SIGINT"
    assert facts["resume 2: start_time"] == "2026-11-29T15:24:28+00:00"
    assert facts["resume 2: git_commit"] == "c" * 40
    assert facts["resume 2: end_time"] == "2026-11-29T15:24:33+00:00"


def test_a_running_record_shows_running():
    """The record as a run posts it when it starts: no end time nor exit status yet."""
    record = record_with_resumes()
    record.update(end_time=None, exit_status=None)
    record["resumes"][-1].update(end_time=None, exit_status=None)

    facts = table(provenance.as_markdown(record))

    assert facts["exit_status"] == facts["end_time"] == "running"
    assert facts["resume 2: exit_status"] == "running"
    assert facts["version: tensorflow"] == "2.15.1"


def test_a_record_without_resumes_has_no_resume_rows():
    record = record_with_resumes()
    del record["resumes"]
    assert not [k for k in table(provenance.as_markdown(record)) if k.startswith("resume")]
