"""`rlexp resume <run dir>`: continue a run from its latest checkpoint, with its own config."""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rlexp import rundir
from rlexp.composition import config_dir_args


class ResumeError(ValueError):
    """A directory that cannot be resumed as asked."""


def saved_overrides(run_dir: Path) -> list[str]:
    """The run's `.hydra/overrides.yaml` ([] when absent or unreadable: for messages only)."""
    from rlexp.saved_run import read_overrides

    path = rundir.overrides_path(run_dir)
    try:
        return read_overrides(OmegaConf.load(path)) if path.is_file() else []
    except Exception:  # noqa: BLE001 (a damaged file: config_for_resume reports it)
        return []


def fresh_command(run_dir: Path, config_dirs: Sequence[Path] = ()) -> str:
    """The `rlexp train` command that starts the run afresh, ready to paste in a shell: its
    saved overrides, each shell-quoted, with `config_dirs` (default: the ones it was
    composed with) as `--config-dir`, or the search path for several."""
    from rlexp.saved_run import recorded_config_dirs

    dirs = list(config_dirs) or recorded_config_dirs(run_dir)
    return shlex.join(["rlexp", "train", *config_dir_args(dirs), *saved_overrides(run_dir)])


def is_completed(run_dir: Path) -> bool:
    return rundir.read_metrics(run_dir).get("status") == "completed"


def config_for_resume(
    run_dir: Path,
    overrides: Sequence[str] = (),
    config_dirs: Sequence[Path] = (),
    announce: bool = True,
) -> DictConfig:
    """The run's config recomposed from its saved overrides plus `overrides`, with
    `config_dirs` (default: those the run was composed with) searched after rlexp/conf.
    `announce`: say which plugins it imports (a sweep's resume says it once).

    Refuses with a unified diff when the result differs from the config the run started
    with (display-only settings aside), whether the difference comes from `overrides` or
    from changed defaults.
    """
    from rlexp.env_vars import record_env_values
    from rlexp.saved_run import SavedRunError, announce_plugins, override_problems, read_saved_run

    run_dir = Path(run_dir)
    saved_file = rundir.config_path(run_dir)
    if not run_dir.is_dir():
        raise ResumeError(f"{run_dir}: no such directory")
    if not saved_file.is_file():
        raise ResumeError(
            f"{run_dir} is not a run directory: it has no {saved_file.relative_to(run_dir)} "
            f"(rlexp resume takes a directory that `rlexp train` or `rlexp -m` created)"
        )
    try:
        run = read_saved_run(run_dir, config_dirs)
    except SavedRunError as exc:
        raise ResumeError(str(exc)) from None
    problems = override_problems(list(overrides))
    if problems:
        raise ResumeError("overrides that rlexp resume cannot take:\n" + "\n".join(problems))
    saved = _comparable(run.config)
    if announce:
        announce_plugins(run, "resume")
    cfg = _recompose(run_dir, [*run.overrides, *overrides], config_dirs)
    env_keys = record_env_values(cfg)  # the values the variables have now, as a run records
    given = _comparable(cfg)
    if given != saved:
        cause = (
            _env_cause(env_keys, run.config, cfg)
            or _primary_cause(run_dir)
            or _difference_cause(run_dir, overrides)
        )
        raise ResumeError(
            "refusing to resume: the config differs from the one the run started with.\n"
            f"{_diff(saved_file, saved, given)}{cause}"
        )
    return cfg


def _diff(saved_file: Path, saved: str, given: str) -> str:
    """A unified diff of the run's config and the one given now."""
    return "".join(
        difflib.unified_diff(
            saved.splitlines(keepends=True),
            given.splitlines(keepends=True),
            fromfile=f"{saved_file} (the run's config)",
            tofile="the config given now",
        )
    )


def _env_cause(env_keys: list[str], saved: DictConfig, given: DictConfig) -> str:
    """When values read from environment variables differ from those the run recorded: which
    keys, and that the variables must be set as they were."""
    changed = [
        key
        for key in env_keys
        if OmegaConf.select(saved, key, throw_on_resolution_failure=False)
        != OmegaConf.select(given, key)
    ]
    if not changed:
        return ""
    return (
        f"The run's presets or options read {', '.join(changed)} from environment variables "
        f"(${{oc.env:...}}), which have other values now: set them to the values the run "
        f"trained with (its .hydra/config.yaml, above) to resume it.\n"
    )


def _primary_cause(run_dir: Path) -> str:
    """For a run composed from a primary config of the user's (`--config-name`, which
    `rlexp train` refuses): resume recomposes rlexp's own, so that file's values must come
    as overrides."""
    from rlexp.saved_run import recorded_config_name

    name = recorded_config_name(run_dir)
    if name in (None, "config"):
        return ""
    return (
        f"The run was started with --config-name {name}; rlexp resume composes rlexp's own "
        f"primary config, so the values {name}.yaml set are missing: give them as overrides "
        f"(the lines marked - above: rlexp resume {shlex.quote(str(run_dir))} key=value ...), "
        f"or start a new run with them in an experiment preset (docs/how-to/user-project.md).\n"
    )


def _difference_cause(run_dir: Path, overrides: Sequence[str]) -> str:
    """What likely made the recomposed config differ from the saved one, and the way out."""
    if overrides:
        return "Resume without those overrides, or start a new run with `rlexp train`."
    saved_file, overrides_file = rundir.config_path(run_dir), rundir.overrides_path(run_dir)
    if not overrides_file.is_file():
        cause = (
            f"{overrides_file} is missing, so the run's overrides are lost (it was deleted): "
            f"restore it"
        )
    else:
        cause = (
            f"{saved_file} or {overrides_file} was edited since the run started, or a preset "
            f"or option they select (rlexp's or in a config directory of yours) changed: "
            f"restore what changed"
        )
    return f"No overrides were given: {cause}, or start a new run with `rlexp train`."


# Settings that change what the terminal shows, never what a run computes: a resume may
# set them anew.
DISPLAY_ONLY = ("train.progress",)


def _comparable(cfg: DictConfig) -> str:
    """The config as YAML, with the display-only settings left out."""
    copy = OmegaConf.to_container(cfg, enum_to_str=True)
    for key in DISPLAY_ONLY:
        *parents, leaf = key.split(".")
        node = copy
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    return OmegaConf.to_yaml(OmegaConf.create(copy))


def _recompose(run_dir: Path, overrides: list[str], config_dirs: Sequence[Path]) -> DictConfig:
    """`overrides` composed with `config_dirs`, or else the directories the run recorded."""
    from hydra.errors import MissingConfigException

    from rlexp.composition import compose_config
    from rlexp.registry import RegistryError
    from rlexp.saved_run import recorded_config_dirs, started_elsewhere_hint

    missing = [d for d in config_dirs if not Path(d).is_dir()]
    if missing:
        raise ResumeError(f"--config-dir {missing[0]}: no such directory")
    dirs = [Path(d) for d in config_dirs] or recorded_config_dirs(run_dir)
    try:
        return compose_config(overrides, config_dirs=[d for d in dirs if d.is_dir()])
    except RegistryError as exc:  # a plugin that cannot be imported from here
        hint = started_elsewhere_hint(run_dir, "run")
        if hint is None:
            raise
        raise ResumeError(f"{exc}\n{hint}") from exc
    except MissingConfigException as exc:
        where = ", ".join(f"{d}{'' if d.is_dir() else ' (gone)'}" for d in dirs) or "none"
        raise ResumeError(
            f"{' '.join(str(exc).split())}\nThe run's config directories (--config-dir): "
            f"{where}. If its presets or options moved, name their folder: rlexp resume "
            f"{shlex.quote(str(run_dir))} --config-dir <dir>"
        ) from exc
