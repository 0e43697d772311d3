"""The command line of a sweep, prepared before Hydra sees it.

**Folder names.** Hydra names a job's folder `<num>_<override_dirname>`, which lists every
override; overrides shared by all jobs of the sweep only make names long (past the file
system's limit quickly), so they are excluded: the folder shows what varies
(`3_agent.learning_rate=0.0001,seed=1`) and `.hydra/overrides.yaml` in it holds them all.

**Continuing a sweep.** Run again with `hydra.sweep.dir=<an existing sweep>` (how an
interrupted Optuna study continues), the jobs of the k-th continuation go to
`c<k>-<num>_<overrides>/`, since Hydra numbers every invocation's jobs from 0 again. With
a `hydra.sweep.subdir` of the user's, `job_folders` names a basic sweep's folders before it
starts, and the claim (`rlexp.training.claim.check_job_folders`) refuses names that repeat
or exist.

**`repeat=N`.** A job whose config says `repeat=N` trains seeds seed..seed+N-1 itself, one
after another (`rlexp.sweeps.job`); that is what the Optuna sweeper gets, so a trial's value
is the mean over its seeds and Optuna never sees the seed. The basic sweeper only
enumerates, so rlexp hands it the seeds as one more axis instead: `repeat=3` (base seed 0)
becomes `seed=0,1,2` and `repeat=1` for the jobs, which the launcher runs side by side.
Either way the seeds come from the base seed, and `rlexp report` groups runs by their
config minus the seed.

**An Optuna study's settings** that Optuna would reject only once the sweep has started are
refused before it starts (`check_optuna_study`).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import ListConfig, OmegaConf

from rlexp.rundir import RESULT_METRICS, SWEEP_FILE
from rlexp.sweeps.sweepers import BASIC_SWEEPER, OPTUNA_SWEEPER

DIRNAME_EXCLUDE = "hydra.job.config.override_dirname.exclude_keys"
ALWAYS_EXCLUDED = ("experiment", "repeat")
MAX_REPEAT = 10_000


class SweepArgumentError(ValueError):
    """A sweep's command line that cannot work: its repeat, or its Optuna study's settings."""


def prepare_argv(argv: list[str]) -> list[str]:
    """argv for Hydra; unchanged unless it is a multirun (-m)."""
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args, _ = get_args_parser().parse_known_args(argv)
    if not args.multirun:
        return argv
    try:
        parsed = OverridesParser.create().parse_overrides(list(args.overrides))
    except Exception:  # noqa: BLE001 (Hydra itself reports a bad command line next)
        return argv
    cfg = _compose(args.config_name, args.config_dir, parsed)
    if cfg is None and values_under_swept_groups(parsed):
        argv = _forced(argv, values_under_swept_groups(parsed))
        args, _ = get_args_parser().parse_known_args(argv)
        parsed = OverridesParser.create().parse_overrides(list(args.overrides))
        cfg = _compose(args.config_name, args.config_dir, parsed)
    if cfg is not None:  # else Hydra itself reports a bad command line next
        check_optuna_study(cfg.hydra.sweeper, cfg.sweep.objective)
        if cfg.hydra.launcher.get("n_jobs") == 0:  # joblib refuses it only once jobs start
            raise SweepArgumentError(
                "hydra.launcher.n_jobs=0: no worker would run a job; give the workers at once "
                "(hydra.launcher.n_jobs=2), or -1 for one per core"
            )
        argv = expand_repeat(argv, cfg, parsed)
    argv = continuation_subdir(argv, parsed)
    if not any(o.key_or_group == DIRNAME_EXCLUDE for o in parsed):
        shared = [
            o.key_or_group
            for o in parsed
            if not o.is_sweep_override()
            and not o.key_or_group.startswith("hydra")
            and o.key_or_group not in ("seed", *ALWAYS_EXCLUDED)
        ]
        keys = ",".join(dict.fromkeys([*ALWAYS_EXCLUDED, *shared]))
        argv = [*argv, f"{DIRNAME_EXCLUDE}=[{keys}]"]
    return argv


def values_under_swept_groups(parsed: list) -> list:
    """The overrides that set a value under a group the command sweeps
    (`agent.entropy_regularization=0.01` with `agent=ppo,reinforce`). Hydra composes a
    sweep's shared config with its swept groups at their default option, which may lack
    such a key although every swept option has it (the trust check checks each point's)."""
    under = tuple(
        f"{o.key_or_group.lstrip('+~')}." for o in parsed if o.is_sweep_override()
    )
    return [
        o
        for o in parsed
        if under and not o.is_sweep_override() and o.key_or_group.lstrip("+~").startswith(under)
    ]


def _forced(argv: list[str], values: list) -> list[str]:
    """argv with the plain `key=value` among `values` as `++key=value`, which Hydra adds to
    the shared config where its default option lacks the key; each job's option has it
    (the trust check composed every sweep point with the plain override)."""
    plain = [o for o in values if not (o.is_delete() or o.is_add() or o.is_force_add())]
    forced = {o.input_line: f"++{o.input_line}" for o in plain}
    return [forced.get(a, a) for a in argv]


def _compose(config_name: str | None, config_dir: str | None, parsed: list) -> Any:
    """The config the sweep's shared overrides make (with the user's `--config-dir`), with
    its `hydra` node; None where Hydra cannot compose it."""
    from hydra.types import RunMode

    from rlexp.composition import command_composer

    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    try:
        with command_composer(config_dir) as hydra:
            return hydra.compose_config(
                config_name or "config",
                plain,
                run_mode=RunMode.MULTIRUN,
                with_log_configuration=False,
            )
    except Exception:  # noqa: BLE001 (reported by Hydra)
        return None


def _directions(value: Any) -> list[str]:
    """The study's direction(s) as text: a string, the plugin's `Direction` enum, or a list
    of either (a multi-objective study)."""
    values = value if isinstance(value, list | tuple | ListConfig) else [value]
    return [getattr(v, "name", str(v)) for v in values if v is not None]


def check_optuna_study(sweeper: Any, objective: str) -> None:
    """Refuse Optuna study settings that Optuna rejects only once the sweep has started, in
    its own words (`n_trials=0`: "Record does not exist"), and a direction that would seek
    the worst `objective` (the highest steps to solve)."""
    if sweeper.get("_target_") != OPTUNA_SWEEPER:
        return
    problems = [
        f"hydra.sweeper.{key}={sweeper[key]}: must be > 0 ({what})"
        for key, what in (
            ("n_trials", "the trials the study runs"),
            ("n_jobs", "the trials launched at once"),
        )
        if sweeper.get(key) is not None and sweeper[key] < 1
    ]
    better = RESULT_METRICS.get(objective)
    wanted = {"higher": "maximize", "lower": "minimize"}.get(better or "", "maximize")
    bare = isinstance(sweeper.get("direction"), Enum)  # the plugin's default, never set
    if bare:
        problems.append(
            "hydra/sweeper=optuna is the Optuna plugin's bare study: it minimises "
            "sweep.objective (by default the final eval return) over no search space; use "
            "rlexp's study, hydra/sweeper=optuna_study, or set "
            f"hydra.sweeper.direction={wanted} and hydra.sweeper.params"
        )
    directions = _directions(sweeper.get("direction"))
    for direction in directions:
        if direction.lower() not in ("maximize", "minimize"):
            problems.append(
                f"hydra.sweeper.direction={direction}: must be maximize or minimize (of "
                f"sweep.objective)"
            )
    if better and not bare and len(directions) == 1:
        if directions[0].lower() in ("maximize", "minimize") and directions[0].lower() != wanted:
            problems.append(
                f"hydra.sweeper.direction={directions[0]} would seek the worst "
                f"sweep.objective={objective}, where {better} is better; set "
                f"hydra.sweeper.direction={wanted}"
            )
    rate = sweeper.get("max_failure_rate")
    if rate is not None and not 0 <= rate <= 1:
        problems.append(f"hydra.sweeper.max_failure_rate={rate}: must be >= 0 and <= 1")
    if problems:
        raise SweepArgumentError("; ".join(problems))


def expand_repeat(argv: list[str], cfg: Any, parsed: list) -> list[str]:
    """With the basic sweeper and repeat > 1: `seed=<base>,...,<base+N-1> repeat=1`. With
    any sweeper, a repeat below 1, or above 1 beside a swept seed, is refused."""
    repeat = int(cfg.get("repeat", 1))
    if repeat < 1:  # any sweeper's every point would fail; the basic one's would list no seed
        raise SweepArgumentError(f"repeat={repeat}: must be > 0 (the seeds of each sweep point)")
    if repeat == 1:
        return argv
    # The basic sweeper's repeat seeds would replace a swept seed's list; each Optuna trial
    # would count its repeat seeds up from a seed the study samples as a hyperparameter.
    swept = [o.input_line for o in parsed if o.key_or_group == "seed" and o.is_sweep_override()]
    params = OmegaConf.to_container(cfg.hydra.sweeper, resolve=False).get("params") or {}
    if "seed" in params:  # a preset's (or the command line's) hydra.sweeper.params
        swept.append(f"hydra.sweeper.params.seed: {params['seed']}")
    if swept:
        raise SweepArgumentError(
            f"repeat={repeat} derives the seeds from the base seed; do not also sweep seed "
            f"({swept[0]}): use seed=<base> repeat={repeat}, or sweep seed without repeat"
        )
    if cfg.hydra.sweeper._target_ != BASIC_SWEEPER:
        return argv
    if repeat > MAX_REPEAT:  # before listing the seeds: a typo must not hang the command
        raise SweepArgumentError(f"repeat={repeat}: at most {MAX_REPEAT} seeds per sweep point")
    seeds = ",".join(str(int(cfg.seed) + i) for i in range(repeat))
    dropped = {o.input_line for o in parsed if o.key_or_group in ("seed", "repeat")}
    return [a for a in argv if a not in dropped] + ["repeat=1", f"seed={seeds}"]


def continuation_subdir(argv: list[str], parsed: list) -> list[str]:
    """Into an existing sweep dir, prefix this invocation's job folders with `c<k>-`."""
    values = {o.key_or_group: o.value() for o in parsed if not o.is_sweep_override()}
    sweep_dir = values.get("hydra.sweep.dir")
    if not isinstance(sweep_dir, str) or "hydra.sweep.subdir" in values:
        return argv
    k = recorded_invocations(Path(sweep_dir))
    if not k:  # a new sweep; an unreadable sweep.json is refused by the claim (ClaimRunDir)
        return argv
    return [*argv, f"hydra.sweep.subdir={job_subdir(k)}"]


def recorded_invocations(sweep_dir: Path) -> int | None:
    """How many invocations the sweep record (sweep.json) in `sweep_dir` lists; None when
    it has none, or one that is not an rlexp sweep record (unreadable, no `invocations`)."""
    try:
        record = json.loads((Path(sweep_dir) / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        return None
    invocations = record.get("invocations") if isinstance(record, dict) else None
    return len(invocations) if isinstance(invocations, list) and invocations else None


def job_subdir(k: int) -> str:
    """The job folders' names of a sweep's k-th invocation into its sweep directory."""
    return f"{invocation_prefix(k)}${{hydra.job.num}}_${{hydra.job.override_dirname}}"


def invocation_prefix(k: int) -> str:
    return f"c{k}-" if k else ""


def job_folders(config: Any) -> list[Path] | None:
    """The folder of each job the sweep `config` launches, in job order, as Hydra's
    launchers name them (`hydra.sweep.subdir` of each job's config, composed as the
    launcher composes it); None with another sweeper than the basic one (its jobs are not
    known before they start) or where a job's config cannot be composed (Hydra says why)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf, open_dict

    from rlexp.sweeps.callbacks import sweep_overrides

    if OmegaConf.select(config, "hydra.sweeper._target_") != BASIC_SWEEPER:
        return None
    loader = GlobalHydra.instance().config_loader()
    joblib = "joblib" in str(OmegaConf.select(config, "hydra.launcher._target_"))
    hydra_config, folders = HydraConfig.instance().cfg, []
    try:
        parsed = OverridesParser.create(config_loader=loader).parse_overrides(
            sweep_overrides(config)
        )
        jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
        for num, overrides in enumerate(jobs):
            job = loader.load_sweep_config(config, list(overrides))
            with open_dict(job):
                job.hydra.job.num = num
                job.hydra.job.id = f"{job.hydra.job.name}_{num}" if joblib else num
            HydraConfig.instance().set_config(job)  # for `${hydra:...}` in the subdir
            folders.append(Path(config.hydra.sweep.dir, str(job.hydra.sweep.subdir)))
    except Exception:  # noqa: BLE001 (the sweeper composes the same and reports it)
        return None
    finally:
        HydraConfig.instance().cfg = hydra_config
    return folders
