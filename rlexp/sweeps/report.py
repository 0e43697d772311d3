"""`rlexp report <sweeps | runs...> [metric=KEY] [x=env_steps|train_wall_time_s]
[format=png|svg] [out=DIR]`: compare configurations the way Agarwal et al. 2021 advise.

The metric is a result (`rlexp.rundir.RESULT_METRICS`): a return, where higher is better,
or a time or env steps to solve, where lower is better. A completed run that never solved
counts as solving at +inf. Runs are grouped by configuration (the whole config minus the
seed and the keys that change no result, `runs.NOT_CONFIG`); each seed counts once, and a
completed run without a finite result is left out and listed. Per configuration: mean,
median, IQM and optimality gap of the metric with 95% bootstrap intervals
(`rlexp.sweeps.statistics`), and the probability that the leader (the best IQM: highest, or
lowest) of its env beats it: configurations of different envs are ranked apart. The leader
is called best only when it and each other configuration of its env (one without a result
too) have MIN_SEEDS seeds and every such interval excludes 0.5; else the report says why
none is. Figures (`rlexp.sweeps.plots`, drawn in a second process while the rest is
written), tables and CSV (`rlexp.sweeps.tables`) go to `out`.

Reads only run directories (metrics.json with its evaluations, job.json, .hydra/config.yaml);
never imports TensorFlow or the training code. A run that cannot be read is listed with its
reason; a sweep still running gives a partial report and says so.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rlexp.rundir import (
    NUMERIC_METRICS,
    RESULT_METRICS,
    SOLVE_METRICS,
    lower_is_better,
    result_choices,
    unwritable_reason,
)
from rlexp.sweeps import tables
from rlexp.sweeps.drawing import Drawing, FigureError
from rlexp.sweeps.plots import TITLES, Figures, few_seeds_note, no_common_range_note
from rlexp.sweeps.runs import (
    UNREADABLE,
    Group,
    Run,
    fewest_seeds,
    find_runs,
    group_runs,
    short_reason,
    sweep_running,
    sweep_status,
    sweep_sweeper,
)
from rlexp.sweeps.statistics import MIN_SEEDS, rank, summarize
from rlexp.sweeps.sweepers import how_to_continue
from rlexp.sweeps.tables import ConfigResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_report", "report_command", "find_runs", "short_reason"]

USAGE = (
    "usage: rlexp report <sweep dir | run dirs...> [metric=final_eval_return] "
    "[x=env_steps|train_wall_time_s] [format=png|svg] [out=DIR]"
)
X_AXES = ("env_steps", "train_wall_time_s")
MARKER = ".rlexp-report"  # in a folder `rlexp report` made: it may write there again
TABLE_FILES = ("report.md", "report.csv", "runs.csv")
FORMATS = ("png", "svg")


@dataclass
class Options:
    paths: list[Path]
    metric: str = "final_eval_return"
    x: str = "env_steps"
    format: str = "png"
    out: Path | None = None


class UsageError(Exception):
    pass


def parse_options(args: list[str]) -> Options:
    from rlexp.arguments import split_paths

    try:  # paths may hold =
        names, values, unknown = split_paths(args, {"metric", "x", "format", "out"})
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    paths = [Path(a) for a in names]
    if unknown:
        raise UsageError(f"unknown option {unknown[0]}; the options are metric, x, format, out")
    if not paths:
        raise UsageError("no sweep or run directory given")
    options = Options(paths, **{k: v for k, v in values.items() if k != "out"})
    if "out" in values:
        options.out = Path(values["out"])
    check_metric(options.metric)
    if options.x not in X_AXES:
        raise UsageError(f"x={options.x}: choose one of {', '.join(X_AXES)}")
    if options.format not in FORMATS:
        raise UsageError(f"format={options.format}: choose one of {', '.join(FORMATS)}")
    missing = [p for p in paths if not p.is_dir()]
    if missing:
        raise UsageError(f"no such directory: {missing[0]}")
    return options


def check_metric(metric: str) -> None:
    """Refuse a metric that is not a result: ranking runs by their budget says nothing."""
    if metric in RESULT_METRICS:
        return
    why = (
        "not a result: it describes the run or its env, not how well the run did"
        if metric in NUMERIC_METRICS
        else "not a metrics.json result"
    )
    raise UsageError(f"metric={metric}: {why}; the metrics a report ranks by: {result_choices()}")


def result_keys(runs: list[Run]) -> list[str]:
    """The result metrics some run has, as a number or as a solve that never came (inf)."""
    return sorted({k for r in runs for k in RESULT_METRICS if not math.isnan(r.result(k))})


@dataclass
class Report:
    runs: list[Run]
    groups: list[Group]
    results: list[ConfigResult]
    partial: bool
    out_dir: Path
    markdown: str
    files: list[Path]


def analyse(groups: list[Group], metric: str) -> list[ConfigResult]:
    """Each configuration's statistics (the optimality gap to its own env's threshold) and
    the ranking of each env's configurations among themselves: returns of different tasks
    are not comparable."""
    samples = [g.results(metric) for g in groups]
    summaries = [
        summarize(v, _threshold(g.runs) if "return" in metric else None)
        for g, v in zip(groups, samples, strict=True)
    ]
    results: dict[int, ConfigResult] = {}
    for env, members in by_env(groups).items():
        ranking = rank(
            [samples[i] for i in members],
            [summaries[i] for i in members],
            lower=lower_is_better(metric),
        )
        for local, i in enumerate(members):
            mark = "best" if local == ranking.best else ("tied" if local in ranking.tied else "")
            p = ranking.improvement.get(local)
            few, leader = local in ranking.few, local == ranking.leader
            results[i] = ConfigResult(groups[i], summaries[i], p, mark, env, few, leader)
    return [results[i] for i in range(len(groups))]


def by_env(groups: list[Group]) -> dict[str, list[int]]:
    """The indices of the configurations of each env (`Group.env`), in order."""
    envs: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        envs.setdefault(g.env, []).append(i)
    return envs


def _threshold(runs: list[Run]) -> float:
    found = [r.value("reward_threshold") for r in runs]
    return next((t for t in found if math.isfinite(t)), math.nan)


def _thresholds(groups: list[Group]) -> set[float]:
    """The configurations' reward thresholds (one per env; none where it declares none)."""
    return {t for g in groups if math.isfinite(t := _threshold(g.runs))}


def shared_threshold(groups: list[Group]) -> float:
    """The reward threshold every configuration shares; NaN when their envs' differ."""
    found = _thresholds(groups)
    return found.pop() if len(found) == 1 else math.nan


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _extreme(metric: str) -> str:
    """Which IQM leads: the lowest or the highest."""
    return "lowest" if lower_is_better(metric) else "highest"


def _verdict(results: list[ConfigResult], metric: str) -> str:
    """Per env with two or more configurations: the best one, or why none is called best."""
    envs: dict[str, list[ConfigResult]] = {}
    for r in results:
        envs.setdefault(r.env, []).append(r)
    lines = []
    for env, members in envs.items():
        on = f" on {env}" if len(envs) > 1 else ""
        best = [r.group.label for r in members if r.mark == "best"]
        if len(members) < 2:
            continue
        if best:
            lines.append(
                f"Best{on}: **{best[0]}** ({_extreme(metric)} IQM {metric}; P(it beats each "
                f"other configuration) has a 95% interval above 0.5, with {MIN_SEEDS}+ seeds "
                f"in each)."
            )
            continue
        few = [f"`{r.group.label}`" for r in members if r.few]
        tied = [r.group.label for r in members if r.mark == "tied"]
        why = []
        if few:
            why.append(
                f"fewer than {MIN_SEEDS} seeds with a result in {', '.join(few)}; "
                f"P(leader better) with so few seeds is not evidence"
            )
        if tied:
            why.append(
                f"the leaders {', '.join(tied)} are tied (the 95% interval of P(leader beats "
                f"it) holds 0.5)"
            )
        if why:
            lines.append(f"No best configuration{on}: {'; '.join(why)}.")
    return "\n\n".join(lines)


def _warnings(opts: Options, groups: list[Group]) -> list[str]:
    """What the reader must know before the numbers: too few seeds, repeated seeds, several
    envs, curves without a common range."""
    fewest = fewest_seeds(groups, opts.metric)
    lines = []
    if fewest < MIN_SEEDS:
        lines += [
            f"WARNING: only {fewest} seed(s) with a result in the smallest configuration "
            f"(fewer than {MIN_SEEDS}): intervals are wide or missing, rankings unreliable, "
            f"and no configuration is called best.",
            "",
        ]
    for group, seeds in _repeated_seeds(groups):
        lines += [
            f"WARNING: in configuration `{group.label}`, seed(s) {', '.join(map(str, seeds))} "
            f"appear in more than one completed run: runs of one seed and config repeat one "
            f"sample (a run is repeatable), so pooling them would narrow the intervals "
            f"falsely; the statistics count one run of each seed (the others are listed "
            f'under "Left out of the statistics").',
            "",
        ]
    envs = by_env(groups)
    if len(envs) > 1:
        lines += [
            f"NOTE: the configurations train on {len(envs)} envs ({'; '.join(envs)}): "
            f"returns of different tasks are not comparable, so each env's configurations "
            f"are ranked among themselves (P(leader better): against its own env's leader).",
            "",
        ]
    unaligned = no_common_range_note(groups, opts.x, opts.metric)
    lines += [f"NOTE: learning curves: {unaligned}.", ""] if unaligned else []
    return lines


def _header(opts: Options, runs: list[Run], groups: list[Group], partial: bool) -> list[str]:
    lines = _warnings(opts, groups)
    counts = {
        s: sum(r.status == s for r in runs)
        for s in ("completed", "failed", "running", "interrupted")
    }
    unreadable = sum(r.status == UNREADABLE for r in runs)
    stopped = [(p, sweep_status(p)) for p in opts.paths]
    stopped = [(p, s) for p, s in stopped if s in ("interrupted", "aborted")]
    if partial:
        status = (
            f"PARTIAL: still running ({counts['running']} runs running); statistics cover "
            f"the {counts['completed']} completed runs"
        )
    elif stopped:
        path, how = stopped[0]
        status = (
            f"INCOMPLETE: the sweep {path} was {how} before all its jobs ran (to finish it: "
            f"{how_to_continue(sweep_sweeper(path), path)}); statistics cover the "
            f"{counts['completed']} completed runs"
        )
    else:
        status = f"complete: {counts['completed']} runs completed"
    left_out = sum(len(g.left_out(opts.metric)) for g in groups)
    if left_out:
        status += f" ({left_out} left out of the statistics, listed below)"
    lines += [
        f"# rlexp report: {', '.join(map(str, opts.paths))}",
        "",
        f"{_count(len(runs), 'run')} in {_count(len(groups), 'configuration')}; {status}; "
        f"{counts['interrupted']} interrupted (rlexp resume continues them); "
        f"{counts['failed']} failed; {unreadable} unreadable. Metric: `{opts.metric}` "
        f"({RESULT_METRICS[opts.metric]} is better).",
        "",
    ]
    return lines


def _repeated_seeds(groups: list[Group]) -> list[tuple[Group, list[int]]]:
    """Configurations whose completed runs share a seed, with those seeds."""
    found = []
    for group in groups:
        seeds = [r.seed for r in group.done() if r.seed is not None]
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:
            found.append((group, repeated))
    return found


def _problems(runs: list[Run], groups: list[Group], metric: str) -> list[str]:
    lines = []
    left_out = [f"- `{r.name}` ({r.path}): {why}" for g in groups for r, why in g.left_out(metric)]
    if left_out:
        lines += ["", "## Left out of the statistics (completed)", "", *left_out]
    for status, title in ((UNREADABLE, "Unreadable runs"), ("failed", "Failed runs")):
        bad = [r for r in runs if r.status == status]
        if bad:
            lines += ["", f"## {title}", ""]
            lines += [f"- `{r.name}` ({r.path}): {short_reason(r.error)}" for r in bad]
    for status, title in (("interrupted", "Interrupted runs"), ("running", "Running")):
        listed = [r for r in runs if r.status == status]
        if listed:
            lines += ["", f"## {title}", ""] + [f"- `{r.name}`" for r in listed]
    return lines


def report_dir(opts: Options) -> Path:
    """Where the report's files go: out=DIR, else report/ in the one path given, else ./report."""
    return opts.out or (opts.paths[0] / "report" if len(opts.paths) == 1 else Path("report"))


def foreign_files(out: Path, figure_format: str) -> str | None:
    """Why the report may not go into `out`: a folder that holds files and was not made by
    `rlexp report` (no MARKER), whose files it could overwrite; or, in one it made, a link or
    folder where a report file goes, which writing would follow."""
    if not out.is_dir():
        return None
    if (out / MARKER).exists():
        names = [*TABLE_FILES, *(f"{stem}.{figure_format}" for stem in TITLES)]
        odd = [n for n in names if (out / n).is_symlink() or (out / n).is_dir()]
        if odd:
            return f"{', '.join(odd)} in it: not a file the report wrote (a link or a folder)"
        return None
    names = sorted(p.name for p in out.iterdir())
    if not names:
        return None
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"it holds files rlexp report did not write ({shown}), which the report could overwrite"


def build_report(opts: Options, runs: list[Run] | None = None) -> Report:
    """Statistics, tables and figures of `runs` (default: those under opts.paths), written
    to the report folder; the figures are drawn in a second process meanwhile."""
    runs = find_runs(opts.paths) if runs is None else runs
    groups = group_runs(runs)
    threshold = shared_threshold(groups)
    results = analyse(groups, opts.metric)
    partial = any(r.status == "running" for r in runs) or any(map(sweep_running, opts.paths))
    out = report_dir(opts)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).touch()
    best = {i for i, r in enumerate(results) if r.mark == "best"}
    note = few_seeds_note(groups, opts.metric)
    figures = Figures(out, opts.format, groups, opts.x, opts.metric, threshold, best, note)
    with Drawing(figures.draw) as drawing:
        run_frame = tables.run_frame(groups, opts.metric)
        tables.configuration_frame(results, opts.metric).to_csv(out / "report.csv", index=False)
        run_frame.to_csv(out / "runs.csv", index=False)
        lines = _header(opts, runs, groups, partial)
        verdict = _verdict(results, opts.metric)
        lines += [verdict, ""] if verdict else []
        lines += _tables(opts.metric, results, run_frame)
        lines += _problems(runs, groups, opts.metric)
        lines += [""] + [f"![{t}]({figures.path(n).name})" for n, t in figures.titles().items()]
        markdown = "\n".join(lines) + "\n"
        (out / "report.md").write_text(markdown)
        drawing.wait()
    files = [out / name for name in TABLE_FILES]
    files += [figures.path(name) for name in figures.titles()]
    return Report(runs, groups, results, partial, out, markdown, files)


def _tables(metric: str, results: list[ConfigResult], run_frame: pd.DataFrame) -> list[str]:
    return [
        _explanation(metric, [r.group for r in results]),
        "",
        tables.configuration_markdown(results, metric),
        "",
        "## Runs",
        "",
        tables.run_markdown(run_frame, results, metric),
    ]


def _explanation(metric: str, groups: list[Group]) -> str:
    """The sentence above the configuration table: what its columns mean."""
    censored = f"`{metric}` and " if metric in SOLVE_METRICS else ""
    return (
        "Configurations differ only in the keys shown; seeds are pooled. Intervals: 95% "
        "percentile bootstrap over seeds (Agarwal et al. 2021), clipped to the observed range. "
        "IQM: interquartile mean. Optimality gap (of a return): mean shortfall below the "
        f"reward threshold ({_shown(groups)}). {RESULT_METRICS[metric].capitalize()} "
        f"`{metric}` is better; "
        f"P(leader better): probability that a run of the leader ({_extreme(metric)} IQM) "
        "beats a run of this configuration. A completed run that never reached the reward "
        f"threshold counts as infinitely slow (inf) in {censored}the median env steps to solve."
    )


def _shown(groups: list[Group]) -> str:
    found = sorted(_thresholds(groups))
    if len(found) > 1:
        return f"each configuration's env's own: {', '.join(f'{t:g}' for t in found)}"
    return f"{found[0]:g}" if found else "none: no env declares one"


def report_command(args: list[str]) -> int:
    """`rlexp report ...`: print the report, write its files; 2 on bad arguments."""
    try:
        opts = parse_options(args)
    except UsageError as exc:
        print(f"rlexp report: error: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    runs = find_runs(opts.paths)
    if not runs:
        where = ", ".join(map(str, opts.paths))
        print(
            f"rlexp report: error: no runs (metrics.json or job.json) under {where}",
            file=sys.stderr,
        )
        return 2
    keys = result_keys(runs)
    if opts.metric not in keys:
        unreadable = [f"{r.path} ({r.error})" for r in runs if r.status == UNREADABLE]
        print(
            f"rlexp report: error: metric={opts.metric}: no run has it as a number; the "
            f"results the runs have: {', '.join(keys) or 'none'}"
            + (f"; unreadable: {', '.join(unreadable)}" if unreadable else ""),
            file=sys.stderr,
        )
        return 2
    out = report_dir(opts)
    problem = unwritable_reason(str(out)) or foreign_files(out, opts.format)
    if problem is None:
        try:
            report = build_report(opts, runs)
        except OSError as exc:  # a full disk while writing
            problem = f"cannot write {exc.filename or out} ({exc.strerror or exc})"
        except FigureError as exc:
            print(
                f"rlexp report: error: the figures could not be drawn: {exc}; the tables are "
                f"written ({out / 'report.md'}, report.csv, runs.csv)",
                file=sys.stderr,
            )
            return 1
        except KeyboardInterrupt:
            print(
                f"\nrlexp report: interrupted; {out} may hold part of the report", file=sys.stderr
            )
            return 130
    if problem:
        print(
            f"rlexp report: error: cannot write the report to {out}: {problem}; choose "
            f"another folder with out=DIR",
            file=sys.stderr,
        )
        return 2
    print(report.markdown.split("\n![")[0].rstrip())
    print(f"\nwritten: {', '.join(map(str, report.files))}")
    return 0
