"""`rlexp report`: on hand-made run directories (known values, broken files, several sweeps,
options) in-process, and on the session's real 2x2 sweep in a fresh process that must not
import TensorFlow."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import RLEXP, _run
from test_sweeps import JOB_NAMES

from rlexp.sweeps import drawing, plots
from rlexp.sweeps.plots import common_grid, on_grid
from rlexp.sweeps.report import report_command
from rlexp.sweeps.sweepers import BASIC_SWEEPER, OPTUNA_SWEEPER

REPORT_NO_TF = textwrap.dedent(
    """
    import sys
    from rlexp.cli import main

    code = main({argv!r})
    assert "tensorflow" not in sys.modules, "rlexp report imported tensorflow"
    assert not any(m.startswith("rlexp.training") for m in sys.modules), "imported training code"
    assert "omegaconf" not in sys.modules, "rlexp report imported OmegaConf (0.1 s it needs not)"
    sys.exit(code)
    """
)


def report(*argv, cwd: Path | None = None):
    """`rlexp report ...` in a fresh process that fails if TensorFlow was imported."""
    code = REPORT_NO_TF.format(argv=["report", *map(str, argv)])
    return _run([sys.executable, "-c", code], cwd)


def in_process(capsys, *argv) -> tuple[int, str, str]:
    code = report_command([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_run(
    run: Path, lr: float, seed: int, returns: list[float], steps=None, solved_at=None
) -> None:
    """A completed run directory as training leaves it (metrics.json, .hydra/config.yaml);
    `solved_at`: the env step of its first evaluation at the threshold (None: never)."""
    steps = steps or [500 * (i + 1) for i in range(len(returns))]
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text(
        f"seed: {seed}\nrepeat: 1\nenv:\n  gym_id: CartPole-v1\n"
        f"agent:\n  name: dqn\n  learning_rate: {lr}\n  gamma: 0.99\n"
    )
    evaluations = [
        {
            "env_steps": s,
            "train_steps": s // 4,
            "average_return": r,
            "average_episode_length": r,
            "train_wall_time_s": s / 1000,
        }
        for s, r in zip(steps, returns, strict=True)
    ]
    metrics = {
        "status": "completed",
        "final_eval_return": returns[-1],
        "best_eval_return": max(returns),
        "reward_threshold": 475.0,
        "solved_at_env_steps": solved_at,
        "solved_at_wall_time_s": None if solved_at is None else solved_at / 1000,
        "evaluations": evaluations,
        "env_steps": steps[-1],
        "train_steps": steps[-1] // 4,
        "episodes": 10,
        "wall_time_s": steps[-1] / 900,
        "train_wall_time_s": steps[-1] / 1000,
    }
    (run / "metrics.json").write_text(json.dumps(metrics))


def write_sweep(root: Path, finals: dict[float, list[float]]) -> Path:
    """One job per (learning rate, seed) whose curve rises to the given final return."""
    job = 0
    for lr, values in finals.items():
        for seed, final in enumerate(values):
            write_run(root / f"{job}_lr={lr},seed={seed}", lr, seed, [0.0, final / 2, final])
            job += 1
    (root / "sweep.json").write_text(json.dumps({"status": "finished"}))
    return root


def write_solve_sweep(root: Path, solves: dict[float, list[int | None]]) -> Path:
    """One job per (learning rate, seed) that first reached the threshold at the given env
    step (None: never), after 5000 env steps of training."""
    job = 0
    for lr, values in solves.items():
        for seed, solved_at in enumerate(values):
            returns = [100.0, 300.0, 480.0 if solved_at else 400.0]
            run = root / f"{job}_lr={lr},seed={seed}"
            write_run(run, lr, seed, returns, [1000, 3000, 5000], solved_at)
            job += 1
    (root / "sweep.json").write_text(json.dumps({"status": "finished"}))
    return root


def table(text: str, column: str) -> list[dict[str, str]]:
    """The first Markdown table with a column named `column`, as dicts."""
    lines = text.splitlines()

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    start = next(i for i, line in enumerate(lines) if line[:1] == "|" and column in cells(line))
    header = [c.strip() for c in lines[start].strip().strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(
            dict(zip(header, (c.strip() for c in line.strip().strip("|").split("|")), strict=True))
        )
    return rows


# ---------------------------------------------------------------- hand-made sweeps


def test_clear_winner_with_five_seeds_is_best_and_no_warning(tmp_path, capsys):
    sweep = write_sweep(
        tmp_path / "s", {0.001: [400, 410, 420, 430, 440], 0.0001: [100, 110, 120, 130, 140]}
    )
    code, out, _ = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0
    assert not out.startswith("WARNING")
    rows = {r["configuration"]: r for r in table(out, "seeds")}
    assert rows["agent.learning_rate=0.001"][""] == "best"
    assert rows["agent.learning_rate=0.0001"]["P(leader better) [95% CI]"] == "1.00 [1.00, 1.00]"
    assert rows["agent.learning_rate=0.001"]["IQM final_eval_return [95% CI]"].startswith("420")
    assert "Best: **agent.learning_rate=0.001**" in out
    assert "5/5" not in rows["agent.learning_rate=0.001"]["solved"]  # threshold 475 not reached


def test_two_seeds_warn_first_and_overlapping_leaders_tie(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {0.001: [100, 300], 0.0001: [90, 290]})
    code, out, _ = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0
    assert out.splitlines()[0].startswith("WARNING: only 2 seed(s)")
    assert (tmp_path / "r" / "report.md").read_text().startswith("WARNING")
    marks = sorted(r[""] for r in table(out, "seeds"))
    assert marks == ["tied", "tied"] and "No best configuration" in out


def test_unreadable_runs_are_listed_with_their_reason(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410, 420], 0.0001: [100, 110, 120]})
    (sweep / "0_lr=0.001,seed=0" / ".hydra" / "config.yaml").write_text("agent: [unclosed\n")
    metrics = sweep / "3_lr=0.0001,seed=0" / "metrics.json"
    metrics.write_text(metrics.read_text()[:40])  # truncated
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert "Traceback" not in out + err
    assert "2 unreadable" in out
    assert "`0_lr=0.001,seed=0`" in out and "config.yaml: not valid YAML" in out
    assert "`3_lr=0.0001,seed=0`" in out and "metrics.json: not valid JSON" in out
    seeds = {r["configuration"]: r["seeds"] for r in table(out, "seeds")}
    assert seeds == {"agent.learning_rate=0.001": "2", "agent.learning_rate=0.0001": "2"}


def test_a_finished_job_without_its_metrics_is_unreadable_not_completed(tmp_path, capsys):
    """A sweep job's job.json says how it ended; its metrics.json holds the results. Without
    them the run counts as unreadable, not as a completed run with no values."""
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410, 420]})
    run = sweep / "1_lr=0.001,seed=1"
    (run / "metrics.json").unlink()
    (run / "job.json").write_text(json.dumps({"status": "completed", "seed": 1}))
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert "2 runs completed" in out and "1 unreadable" in out
    assert "`1_lr=0.001,seed=1`" in out
    assert "metrics.json: missing, though job.json says the run completed" in out


def test_a_single_run_without_its_metrics_is_named_as_unreadable(tmp_path, capsys):
    """A run that exported a policy wrote metrics.json at that evaluation: without it the
    report says so (as for a cut-off one), not just that no run has the metric."""
    run = tmp_path / "run"
    write_run(run, 0.001, 0, [100.0, 200.0])
    (run / "metrics.json").unlink()
    (run / ".rlexp.lock").write_text("")
    (run / "policy_best").mkdir()
    code, _, err = in_process(capsys, run, f"out={tmp_path / 'r'}")
    assert code == 2
    assert f"unreadable: {run} (metrics.json: missing, though the run exported policy_best/" in (
        err
    )


def test_csv_keeps_full_precision_and_markdown_rounds(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {0.001: [223.40000915527344, 250.0, 260.0]})
    code, out, _ = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0
    with open(tmp_path / "r" / "runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert runs[0]["final_eval_return"] == "223.40000915527344"
    assert "223.40000915527344" not in out
    per_seed = table(out, "run")
    assert per_seed[0]["final_eval_return"] == "223"  # interval width ~37: no decimals
    with open(tmp_path / "r" / "report.csv") as f:
        (row,) = csv.DictReader(f)
    assert float(row["mean_ci95_low"]) >= 223.40000915527344
    assert row["final_eval_return_mean"] == str((223.40000915527344 + 250 + 260) / 3)


def test_options_metric_x_format_and_out(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410], 0.0001: [100, 110]})
    out_dir = tmp_path / "elsewhere"
    code, out, err = in_process(
        capsys,
        sweep,
        "metric=best_eval_return",
        "x=train_wall_time_s",
        "format=svg",
        f"out={out_dir}",
    )
    assert code == 0, err
    assert "IQM best_eval_return [95% CI]" in out
    for name in ("learning_curves.svg", "profile.svg", "sensitivity.svg"):
        assert (out_dir / name).read_text().lstrip().startswith("<?xml"), name
    assert "training time (s)" in (out_dir / "learning_curves.svg").read_text()
    assert (
        "![sensitivity to the swept hyperparameters](sensitivity.svg)"
        in (out_dir / "report.md").read_text()
    )


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("metric=episodes_per_hour", "episodes_per_hour: not a metrics.json result; the "),
        ("x=episodes", "x=episodes: choose one of env_steps, train_wall_time_s"),
        ("format=jpg", "format=jpg: choose one of png, svg"),
        ("colour=red", "unknown option colour="),
        (
            ["metric=final_eval_return", "metric=best_eval_return"],
            "metric is given twice (metric=final_eval_return, metric=best_eval_return)",
        ),
    ],
)
def test_bad_options_are_explained(tmp_path, capsys, arg, message):
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410]})
    code, _, err = in_process(capsys, sweep, *([arg] if isinstance(arg, str) else arg))
    assert code == 2 and message in err


@pytest.mark.parametrize("status", ["interrupted", "aborted"])
@pytest.mark.parametrize(
    "sweeper, how",
    [
        (BASIC_SWEEPER, "rlexp resume {sweep}"),
        (OPTUNA_SWEEPER, "the same command again, with hydra.sweep.dir={sweep} (the study"),
    ],
)
def test_a_stopped_sweep_is_reported_incomplete_with_how_to_finish_it(
    tmp_path, capsys, status, sweeper, how
):
    """Jobs that never started leave no run: the runs there are all completed, yet the
    sweep is not; what finishes it depends on its sweeper (`rlexp resume` refuses a study)."""
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410]})
    record = {"status": status, "invocations": [{"sweeper": sweeper}]}
    (sweep / "sweep.json").write_text(json.dumps(record))
    code, out, _ = in_process(capsys, sweep)
    assert code == 0
    assert f"INCOMPLETE: the sweep {sweep} was {status} before all its jobs ran (to finish " in out
    assert f"(to finish it: {how.format(sweep=sweep)}" in out
    assert "; statistics cover the 2 completed runs" in out
    assert "complete: 2 runs completed" not in out


def test_a_solve_metric_of_runs_without_a_reward_threshold_is_explained(tmp_path, capsys):
    """Nothing to solve, so no solve time (not inf: there was no threshold to reach)."""
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410]})
    for path in sweep.glob("*/metrics.json"):
        path.write_text(json.dumps({**json.loads(path.read_text()), "reward_threshold": None}))
    code, _, err = in_process(capsys, sweep, "metric=solved_at_env_steps")
    assert code == 2 and "solved_at_env_steps: no run has it as a number; the " in err


@pytest.mark.parametrize("metric", ["reward_threshold", "env_steps", "best_eval_env_steps"])
def test_a_metric_that_describes_the_run_is_refused(tmp_path, capsys, metric):
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410]})
    code, out, err = in_process(capsys, sweep, f"metric={metric}")
    assert code == 2 and out == "", err
    assert f"metric={metric}: not a result: it describes the run or its env" in err
    assert "final_eval_return, best_eval_return (higher is better)" in err
    assert "solved_at_env_steps, solved_at_wall_time_s, train_wall_time_s, wall_time_s" in err


@pytest.mark.parametrize("metric", ["solved_at_env_steps", "solved_at_wall_time_s"])
def test_lower_is_better_metric_ranks_the_fastest_configuration_best(tmp_path, capsys, metric):
    sweep = write_solve_sweep(
        tmp_path / "s",
        {0.001: [1000, 1100, 1200, 1300, 1400], 0.0001: [3000, 3100, 3200, 3300, 3400]},
    )
    code, out, err = in_process(capsys, sweep, f"metric={metric}", f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert f"Best: **agent.learning_rate=0.001** (lowest IQM {metric};" in out
    assert f"Metric: `{metric}` (lower is better)" in out
    rows = {r["configuration"]: r for r in table(out, "seeds")}
    assert rows["agent.learning_rate=0.001"][""] == "best"
    assert rows["agent.learning_rate=0.0001"]["P(leader better) [95% CI]"] == "1.00 [1.00, 1.00]"


def test_a_run_that_never_solved_counts_as_infinitely_slow(tmp_path, capsys):
    """One seed of five solving quickly does not beat five of five solving a bit slower: the
    steady configuration leads; with 5 seeds the lucky one may still tie."""
    lucky, steady = "agent.learning_rate=0.001", "agent.learning_rate=0.0001"
    sweep = write_solve_sweep(
        tmp_path / "s",
        {0.001: [500, None, None, None, None], 0.0001: [2000, 2100, 2200, 2300, 2400]},
    )
    code, out, err = in_process(capsys, sweep, "metric=solved_at_env_steps", f"out={tmp_path}/r")
    assert code == 0, err
    rows = {r["configuration"]: r for r in table(out, "seeds")}
    assert (rows[lucky]["seeds"], rows[lucky]["solved"]) == ("5", "1/5")
    assert rows[steady]["P(leader better) [95% CI]"] == "leader"
    assert rows[lucky][""] != "best"
    assert rows[lucky]["P(leader better) [95% CI]"] == "0.80 [0.40, 1.00]"
    assert rows[lucky]["IQM solved_at_env_steps [95% CI]"].startswith("inf")
    assert rows[lucky]["median env steps to solve"] == "inf"
    assert "never reached the reward threshold counts as infinitely slow (inf)" in out
    with open(tmp_path / "r" / "runs.csv") as f:
        solves = [r["solved_at_env_steps"] for r in csv.DictReader(f)]
    assert solves[:5] == ["500.0", "inf", "inf", "inf", "inf"]


def test_a_sweep_in_which_nothing_solved_is_reported_not_refused(tmp_path, capsys):
    """It was refused: "metric=solved_at_env_steps: no run has it as a number"."""
    sweep = write_solve_sweep(tmp_path / "s", {0.001: [None] * 3, 0.0001: [None] * 3})
    code, out, err = in_process(capsys, sweep, "metric=solved_at_env_steps", f"out={tmp_path}/r")
    assert code == 0, err
    rows = table(out, "seeds")
    assert [r["solved"] for r in rows] == ["0/3", "0/3"]
    assert all(r["IQM solved_at_env_steps [95% CI]"].startswith("inf") for r in rows)
    assert "No best configuration" in out


def test_the_default_metric_still_ranks_the_highest_return(tmp_path, capsys):
    """Returns rank highest first; a run that never solved still has its return."""
    sweep = write_solve_sweep(
        tmp_path / "s",
        {0.001: [4000, 4100, 4200, 4300, 4400], 0.0001: [None, None, None, None, None]},
    )
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert "Metric: `final_eval_return` (higher is better)" in out
    assert "Best: **agent.learning_rate=0.001** (highest IQM final_eval_return;" in out
    rows = {r["configuration"]: r for r in table(out, "seeds")}
    assert rows["agent.learning_rate=0.0001"]["IQM final_eval_return [95% CI]"].startswith("400")


def test_profile_counts_unsolved_runs_and_follows_the_direction():
    taus = np.array([0.0, 1500.0, 3000.0])
    solves = np.array([1000.0, 2000.0, np.inf, np.inf])
    assert plots.profile_shares(solves, taus, lower=True).tolist() == [0.0, 0.25, 0.5]
    returns = np.array([100.0, 2000.0])
    assert plots.profile_shares(returns, taus, lower=False).tolist() == [1.0, 0.5, 0.0]


def test_several_sweeps_in_one_report(tmp_path, capsys):
    a = write_sweep(tmp_path / "a", {0.001: [400, 410, 420]})
    b = write_sweep(tmp_path / "b", {0.0003: [200, 210, 220]})
    code, out, _ = in_process(capsys, a, b, f"out={tmp_path / 'r'}")
    assert code == 0
    assert "6 runs in 2 configurations" in out
    assert {r["configuration"] for r in table(out, "seeds")} == {
        "agent.learning_rate=0.001",
        "agent.learning_rate=0.0003",
    }


def test_a_run_reached_by_several_arguments_counts_once(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "a", {0.001: [400, 410, 420]})
    job = next(sweep.glob("1_*"))
    twice = [sweep, job, tmp_path / "a" / ".." / "a" / job.name, sweep]
    code, out, _ = in_process(capsys, *twice, f"out={tmp_path / 'r'}")
    assert code == 0
    assert "3 runs in 1 configuration" in out
    assert [r["seeds"] for r in table(out, "seeds")] == ["3"]


def test_a_seed_run_twice_in_one_configuration_is_a_warning(tmp_path, capsys):
    a = write_sweep(tmp_path / "a", {0.001: [400, 410, 420]})
    b = write_sweep(tmp_path / "b", {0.001: [400, 410], 0.0003: [200, 210, 220]})
    code, out, _ = in_process(capsys, a, b, f"out={tmp_path / 'r'}")
    assert code == 0
    assert "WARNING: in configuration `agent.learning_rate=0.001`, seed(s) 0, 1 appear" in out
    assert "0.0003`, seed" not in out


def test_a_failing_figure_is_a_message_and_the_tables_are_written(tmp_path, capsys, monkeypatch):
    """The figures are drawn in a second process: its error still ends the command."""

    def broken(*args):
        raise ValueError("no room for the legend")

    monkeypatch.setattr(plots, "plot_profile", broken)
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410], 0.0001: [100, 110]})
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 1, err
    assert "the figures could not be drawn: ValueError: no room for the legend" in err
    assert "Traceback" not in out + err
    assert (tmp_path / "r" / "report.csv").is_file() and (tmp_path / "r" / "report.md").is_file()


def test_a_killed_figure_process_is_a_message(tmp_path, capsys, monkeypatch):
    me = os.getpid()

    def killed(*args):
        if os.getpid() != me:  # only the figure process
            os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(plots, "plot_curves", killed)
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410]})
    code, _, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 1 and "the figure process ended without a result (signal 9)" in err, err


def test_ctrl_c_while_drawing_is_a_message(tmp_path, capsys, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "plot_sensitivity", interrupted)
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410], 0.0001: [100, 110]})
    code, _, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 130 and "rlexp report: interrupted" in err and "Traceback" not in err, err


def test_each_configuration_has_the_optimality_gap_to_its_own_envs_threshold(tmp_path, capsys):
    """Runs of two envs in one report: the gap is to each one's threshold, not the first's."""
    sweep = write_sweep(tmp_path / "s", {0.001: [400] * 5, 0.0001: [400] * 5})
    for run in sweep.glob("*lr=0.0001*"):  # the second configuration's env: threshold 300
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({**metrics, "reward_threshold": 300.0}))
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    gaps = {r["configuration"]: r["optimality gap [95% CI]"].split()[0] for r in table(out, "")}
    assert gaps == {"agent.learning_rate=0.001": "75.0", "agent.learning_rate=0.0001": "0.0"}
    assert "each configuration's env's own: 300, 475" in out


def test_a_link_in_the_report_folder_is_never_written_through(tmp_path, capsys):
    # A received sweep's report/ (marked as the report's) may hold a link to any file.
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410]})
    out = sweep / "report"
    out.mkdir()
    (out / ".rlexp-report").touch()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "report.md").symlink_to(victim)
    code, _, err = in_process(capsys, sweep)
    assert code == 2, err
    assert "report.md in it: not a file the report wrote (a link or a folder)" in err
    assert victim.read_text() == "precious"


def test_a_folder_of_the_users_is_never_overwritten_but_its_own_is_rewritten(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410]})
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "report.md").write_text("my notes")
    code, _, err = in_process(capsys, sweep, f"out={mine}")
    assert code == 2, err
    assert "report.md" in err and "did not write" in err and "out=DIR" in err
    assert [p.name for p in mine.iterdir()] == ["report.md"]
    assert (mine / "report.md").read_text() == "my notes"

    ours = tmp_path / "r"
    assert in_process(capsys, sweep, f"out={ours}")[0] == 0
    (ours / "report.md").write_text("stale")
    assert in_process(capsys, sweep, f"out={ours}")[0] == 0  # its own folder: written again
    assert "# rlexp report" in (ours / "report.md").read_text()


def test_a_figure_that_cannot_be_written_names_its_file(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410]})
    (tmp_path / "r" / "profile.png").mkdir(parents=True)  # a folder where the figure goes
    code, _, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 2, err
    assert "profile.png" in err and "out=DIR" in err and "Traceback" not in err


def test_without_fork_the_figures_are_drawn_in_process(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(drawing, "FORK", False)  # as on macOS and Windows
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410], 0.0001: [100, 110]})
    code, _, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    for name in ("learning_curves.png", "profile.png", "sensitivity.png"):
        assert (tmp_path / "r" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    monkeypatch.setattr(plots, "plot_profile", lambda *a: 1 / 0)
    code, _, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 1 and "could not be drawn: ZeroDivisionError" in err, err


def test_common_grid_keeps_every_seed_at_every_point():
    curves = [
        [(0, 0.0), (500, 10.0), (1000, 20.0)],
        [(0, 0.0), (400, 8.0), (800, 16.0), (1200, 30.0)],
    ]
    grid = common_grid(curves)
    assert grid.tolist() == [0, 400, 500, 800, 1000]  # up to the last step both reached
    matrix = on_grid(curves, grid)
    assert np.isfinite(matrix).all()
    assert matrix[0].tolist() == pytest.approx([0, 8, 10, 16, 20])


# ---------------------------------------------------------------- the real 2x2 sweep


@pytest.fixture(scope="module")
def sweep_report(sweep_2x2, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = report(sweep_2x2.dir, f"out={out}")
    assert result.code == 0, result.describe()
    return out, result


def test_report_on_the_sweep_warns_and_has_one_row_per_configuration(sweep_report):
    out, result = sweep_report
    assert result.out.startswith("WARNING: only 2 seed(s)")
    rows = table(result.out, "seeds")
    assert sorted(r["configuration"] for r in rows) == [
        "agent.learning_rate=0.0001",
        "agent.learning_rate=0.001",
    ]
    for row in rows:
        assert row["seeds"] == "2"
        assert "[" in row["IQM final_eval_return [95% CI]"]
    assert "complete: 4 runs completed" in result.out and "PARTIAL" not in result.out
    assert sorted(r["run"] for r in table(result.out, "run")) == JOB_NAMES


def test_report_files_of_the_sweep(sweep_report, sweep_2x2):
    out, _ = sweep_report
    with open(out / "report.csv") as f:
        rows = list(csv.DictReader(f))
    finals = {
        job.name: json.loads((job / "metrics.json").read_text())["final_eval_return"]
        for job in sweep_2x2.job_dirs()
    }
    for row in rows:
        values = [finals[name] for name in row["runs"].split()]
        assert float(row["final_eval_return_mean"]) == pytest.approx(sum(values) / 2)
        assert (
            min(values)
            <= float(row["mean_ci95_low"])
            <= float(row["mean_ci95_high"])
            <= (max(values))
        )
    with open(out / "runs.csv") as f:
        assert sorted(r["run"] for r in csv.DictReader(f)) == JOB_NAMES
    for name in ("learning_curves.png", "profile.png", "sensitivity.png"):
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name


UNREAD_BY_REPORT = shutil.ignore_patterns("checkpoints", "policy", "policy_best")


def test_report_default_output_is_inside_the_sweep(sweep_2x2, tmp_path):
    copy = tmp_path / "sweep"
    shutil.copytree(sweep_2x2.dir, copy, ignore=UNREAD_BY_REPORT)
    result = report(copy)
    assert result.code == 0, result.describe()
    assert (copy / "report" / "report.csv").is_file()
    again = report(copy)  # the report folder is not mistaken for a run
    assert "4 runs in 2 configurations" in again.out


def test_report_on_a_running_sweep_is_partial(sweep_2x2, tmp_path):
    """A sweep still running: one run alive (its process holds its lock), one whose process died
    without a word (SIGKILL of the whole job), the rest completed."""
    copy = tmp_path / "sweep"
    shutil.copytree(sweep_2x2.dir, copy, ignore=UNREAD_BY_REPORT)
    record = json.loads((copy / "sweep.json").read_text())
    (copy / "sweep.json").write_text(json.dumps({**record, "status": "running"}))
    dead = subprocess.Popen(["true"])
    dead.wait()
    for name, pid in ((JOB_NAMES[1], os.getpid()), (JOB_NAMES[3], dead.pid)):
        metrics = json.loads((copy / name / "metrics.json").read_text())
        metrics.update(status="running")
        (copy / name / "metrics.json").write_text(json.dumps(metrics))
        job = json.loads((copy / name / "job.json").read_text())
        job.update(status="running", pid=pid, exit_code=None, end_time=None)
        (copy / name / "job.json").write_text(json.dumps(job))
    from rlexp.rundir import RunLock

    with RunLock(copy / JOB_NAMES[1]):  # as the process training it holds it
        result = report(copy, f"out={tmp_path / 'out'}")
    assert result.code == 0, result.describe()
    assert "PARTIAL" in result.out and "1 failed" in result.out
    assert JOB_NAMES[3] in result.out and "gone without a result" in result.out
    rows = {r["configuration"]: r for r in table(result.out, "seeds")}
    assert rows["agent.learning_rate=0.001"]["seeds"] == "1"  # seeds with a result so far
    assert rows["agent.learning_rate=0.001"]["running"] == "1"
    assert (tmp_path / "out" / "learning_curves.png").is_file()


def test_report_explains_bad_arguments(tmp_path):
    assert report(tmp_path / "missing").code == 2
    empty = report(tmp_path)
    assert empty.code == 2 and "no runs" in empty.err
    assert _run([str(RLEXP), "report"], None).code == 2


def test_report_reads_a_single_training_run(trained_run, tmp_path):
    result = report(trained_run.run_dir, f"out={tmp_path}")
    assert result.code == 0, result.describe()
    assert "1 run in 1 configuration;" in result.out
    assert (tmp_path / "learning_curves.png").is_file()


def test_a_single_run_killed_is_failed_not_running_and_one_killed_early_is_listed(tmp_path, capsys):
    # A single run has no job.json: its lock tells whether a process still trains it.
    from rlexp.rundir import RunLock
    from rlexp.sweeps.runs import find_runs

    killed, alive, early = tmp_path / "killed", tmp_path / "alive", tmp_path / "early"
    for run, seed in ((killed, 0), (alive, 1)):
        write_run(run, 0.001, seed, [100.0, 200.0])
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({**metrics, "status": "running"}))
    (killed / ".rlexp.lock").write_text("999999\n")  # its holder is gone: no lock on it
    (early / ".hydra").mkdir(parents=True)  # killed before its first evaluation
    (early / ".hydra" / "config.yaml").write_text("seed: 2\n")
    (early / ".rlexp.lock").write_text("999998\n")
    with RunLock(alive):
        status = {run.path.name: (run.status, run.error) for run in find_runs([tmp_path])}
        code, out, _ = in_process(capsys, killed, alive, early, f"out={tmp_path / 'r'}")
    assert status["alive"] == ("running", None)
    for name in ("killed", "early"):
        assert status[name][0] == "failed"
        assert "gone without a result" in status[name][1] and "rlexp resume" in status[name][1]
    assert code == 0
    assert "## Failed runs" in out and "`early`" in out


def test_a_run_whose_config_cannot_be_read_is_named_when_no_run_has_the_metric(tmp_path, capsys):
    run = tmp_path / "run"
    write_run(run, 0.001, 0, [100.0, 200.0])
    (run / ".hydra" / "config.yaml").write_text("seed: [unclosed")
    code, _, err = in_process(capsys, run, f"out={tmp_path / 'r'}")
    assert code == 2
    assert "unreadable:" in err and str(run) in err and "config.yaml: not valid YAML" in err


def test_a_run_config_with_yaml_aliases_is_unreadable_not_expanded(tmp_path, capsys):
    # A received run's config.yaml of a few hundred bytes could expand to gigabytes.
    from test_foreign_runs import ALIAS_BOMB

    from rlexp.sweeps.runs import find_runs

    good, bad = tmp_path / "good", tmp_path / "bad"
    write_run(good, 0.001, 0, [100.0, 200.0])
    write_run(bad, 0.001, 1, [100.0, 200.0])
    (bad / ".hydra" / "config.yaml").write_text(ALIAS_BOMB)
    runs = {run.path.name: run for run in find_runs([tmp_path])}
    assert runs["bad"].status == "unreadable" and "YAML aliases" in runs["bad"].error
    assert runs["good"].status == "completed"


# ---------------------------------------------------------------- what a report may claim


def test_a_clear_separation_with_three_seeds_is_not_called_best(tmp_path, capsys):
    """Every resample of 3 seeds all better than 3 others gives P = 1: the interval [1, 1]
    is no evidence (an exact Mann-Whitney test: p = 0.1)."""
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410, 420], 0.0001: [100, 110, 120]})
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    rows = {r["configuration"]: r for r in table(out, "seeds")}
    assert rows["agent.learning_rate=0.0001"]["P(leader better) [95% CI]"] == "1.00 [1.00, 1.00]"
    assert [r[""] for r in rows.values()] == ["", ""]
    assert "Best:" not in out
    assert (
        "No best configuration: fewer than 5 seeds with a result in "
        "`agent.learning_rate=0.001`, `agent.learning_rate=0.0001`; P(leader better) with so "
        "few seeds is not evidence." in out
    )
    with open(tmp_path / "r" / "report.csv") as f:
        assert [r["mark"] for r in csv.DictReader(f)] == ["", ""]


def test_a_configuration_without_a_result_blocks_best_and_has_no_p(tmp_path, capsys):
    """Its runs were interrupted (or failed): nothing says the leader beats it."""
    sweep = write_sweep(
        tmp_path / "s", {0.001: [400, 410, 420, 430, 440], 0.0001: [100, 110, 120, 130, 140]}
    )
    write_run(sweep / "10_lr=0.01,seed=0", 0.01, 0, [0.0, 50.0])
    metrics = sweep / "10_lr=0.01,seed=0" / "metrics.json"
    metrics.write_text(json.dumps({**json.loads(metrics.read_text()), "status": "interrupted"}))
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    rows = {r["configuration"]: r for r in table(out, "seeds")}
    assert rows["agent.learning_rate=0.01"]["seeds"] == "0"
    assert rows["agent.learning_rate=0.01"]["P(leader better) [95% CI]"] == "-"
    assert rows["agent.learning_rate=0.001"]["P(leader better) [95% CI]"] == "leader"
    assert [r[""] for r in rows.values()] == ["", "", ""]
    assert "Best:" not in out
    assert "No best configuration: fewer than 5 seeds with a result in " in out
    assert "`agent.learning_rate=0.01`" in out


def test_a_single_configuration_is_never_best(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410, 420, 430, 440]})
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert [r[""] for r in table(out, "seeds")] == [""]
    with open(tmp_path / "r" / "report.csv") as f:
        assert [r["mark"] for r in csv.DictReader(f)] == [""]


def test_configurations_of_different_envs_are_ranked_within_their_env(tmp_path, capsys):
    cartpole = write_sweep(tmp_path / "c", {0.001: [400, 410, 420, 430, 440], 0.0001: [100] * 5})
    acrobot = write_sweep(tmp_path / "a", {0.001: [-80, -82, -84, -86, -88], 0.0001: [-500] * 5})
    for config in acrobot.glob("*/.hydra/config.yaml"):
        config.write_text(config.read_text().replace("CartPole-v1", "Acrobot-v1"))
    code, out, err = in_process(capsys, cartpole, acrobot, f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert "NOTE: the configurations train on 2 envs (Acrobot-v1; CartPole-v1)" in out
    assert "Best on CartPole-v1: **agent.learning_rate=0.001,env.gym_id=CartPole-v1**" in out
    assert "Best on Acrobot-v1: **agent.learning_rate=0.001,env.gym_id=Acrobot-v1**" in out
    rows = {r["configuration"]: r for r in table(out, "seeds")}
    leaders = [k for k, r in rows.items() if r["P(leader better) [95% CI]"] == "leader"]
    assert leaders == [
        "agent.learning_rate=0.001,env.gym_id=Acrobot-v1",
        "agent.learning_rate=0.001,env.gym_id=CartPole-v1",
    ]


def test_labels_of_different_envs_leave_out_the_settings_each_env_schema_has(tmp_path, capsys):
    """Each env option has its own keys and defaults; labelled by every one that differs,
    a configuration's label ran to hundreds of characters."""
    cartpole = write_sweep(tmp_path / "c", {0.001: [400, 410], 0.0001: [100, 110]})
    acrobot = write_sweep(tmp_path / "a", {0.001: [-80, -82]})
    for config in cartpole.glob("*/.hydra/config.yaml"):
        text = config.read_text().replace("gym_id: CartPole-v1", "name: cartpole_tf")
        config.write_text(text.replace("env:\n", "env:\n  num_parallel_envs: 16\n"))
    for config in acrobot.glob("*/.hydra/config.yaml"):
        text = config.read_text().replace("gym_id: CartPole-v1", "name: acrobot")
        config.write_text(text.replace("env:\n", "env:\n  gym_id: Acrobot-v1\n"))
    code, out, err = in_process(capsys, cartpole, acrobot, f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert sorted(r["configuration"] for r in table(out, "seeds")) == [
        "agent.learning_rate=0.0001,env.name=cartpole_tf",
        "agent.learning_rate=0.001,env.name=acrobot",
        "agent.learning_rate=0.001,env.name=cartpole_tf",
    ]


def set_train_keys(run: Path, **keys) -> None:
    config = run / ".hydra" / "config.yaml"
    lines = "".join(f"  {k}: {v}\n" for k, v in keys.items())
    config.write_text(config.read_text() + "train:\n" + lines)


def test_a_key_that_changes_only_what_a_run_writes_does_not_split_a_configuration(tmp_path, capsys):
    """train.summary_interval leaves the results bit-equal (test_report_config_keys.py);
    train.checkpoint_interval does not (each checkpoint reseeds), so it still splits."""
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410, 420]})
    set_train_keys(next(sweep.glob("0_*")), summary_interval=512, checkpoints_to_keep=5)
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert "3 runs in 1 configuration" in out
    set_train_keys(next(sweep.glob("1_*")), checkpoint_interval=1000)
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert "3 runs in 2 configurations" in out, err


def test_runs_without_a_finite_result_are_listed_and_not_counted(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "s", {0.001: [400, 410, 420, 430, 440, 450]})
    for job, value in (("0_", math.nan), ("1_", math.inf)):
        path = next(sweep.glob(f"{job}*")) / "metrics.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "final_eval_return": value}))
    code, out, err = in_process(capsys, sweep, f"out={tmp_path / 'r'}")
    assert code == 0, err
    assert out.startswith("WARNING: only 4 seed(s) with a result in the smallest configuration")
    assert "6 runs completed (2 left out of the statistics, listed below)" in out
    assert [r["seeds"] for r in table(out, "seeds")] == ["4"]
    assert "`0_lr=0.001,seed=0`" in out and "no finite final_eval_return (NaN)" in out
    assert "`1_lr=0.001,seed=1`" in out and "no finite final_eval_return (Infinity)" in out
    from rlexp.sweeps.runs import find_runs, group_runs

    groups = group_runs(find_runs([sweep]))
    assert plots.few_seeds_note(groups, "final_eval_return").startswith("only 4 seed(s)")


def test_a_repeated_seed_is_counted_once_and_the_repeat_named(tmp_path, capsys):
    """A sweep given twice (or a copied run): its seeds are not new samples."""
    once = write_sweep(tmp_path / "a", {0.001: [100, 410, 420, 430, 900]})
    shutil.copytree(once, tmp_path / "copy")
    code, single, _ = in_process(capsys, once, f"out={tmp_path / 'r1'}")
    code, out, err = in_process(capsys, once, tmp_path / "copy", f"out={tmp_path / 'r2'}")
    assert code == 0, err
    ((row,),) = [table(out, "seeds")]
    assert row["seeds"] == "5" and out.startswith("WARNING: in configuration")
    iqm = "IQM final_eval_return [95% CI]"
    assert row[iqm] == table(single, "seeds")[0][iqm]
    assert "repeats seed 0 of `0_lr=0.001,seed=0`" in out
    assert "(5 left out of the statistics, listed below)" in out


def test_a_missing_iqm_curve_is_explained(tmp_path, capsys):
    """Seeds whose training times do not overlap (one started warm) share no x range."""
    write_run(tmp_path / "s" / "0", 0.001, 0, [10.0, 20.0, 30.0], [500, 1000, 1500])
    write_run(tmp_path / "s" / "1", 0.001, 1, [10.0, 20.0, 30.0], [3000, 3500, 4000])
    out_dir = tmp_path / "r"
    code, out, err = in_process(
        capsys, tmp_path / "s", "x=train_wall_time_s", "format=svg", f"out={out_dir}"
    )
    assert code == 0, err
    note = "no IQM curve for `all runs`: the seeds share no training time (s) range"
    assert f"NOTE: learning curves: {note}" in out and "x=env_steps aligns them" in out
    assert note in (out_dir / "learning_curves.svg").read_text()


def test_per_run_returns_are_rounded_by_their_own_spread(tmp_path, capsys):
    for seed in range(5):
        run = tmp_path / "s" / f"{seed}"
        write_run(run, 0.001, seed, [100, 300, 480 + 3.3 * seed], [1000, 3000, 5000], 1000 + seed)
    code, out, err = in_process(capsys, tmp_path / "s", "metric=solved_at_wall_time_s")
    assert code == 0, err
    finals = [r["final_eval_return"] for r in table(out, "run")]
    assert finals == ["480", "483", "487", "490", "493"]
