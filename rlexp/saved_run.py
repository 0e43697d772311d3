"""A run directory from elsewhere, read as data before anything it names is imported.

`rlexp resume` and `rlexp eval` take run directories that may come from a colleague or an
archive. Their `.hydra/config.yaml` and `.hydra/overrides.yaml` are checked here first:
both readable, the overrides plain `key=value`s with option names (no Hydra settings, no
paths), and both naming the same `plugins`; only then are the plugins announced and
imported. (The two files are written together by Hydra; files that disagree were edited.)
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from rlexp import registry, rundir

CONFIG_FILE = Path(rundir.HYDRA_DIR) / rundir.CONFIG_FILE
OVERRIDES_FILE = Path(rundir.HYDRA_DIR) / rundir.OVERRIDES_FILE


class SavedRunError(ValueError):
    """A run directory whose saved config cannot be trusted or read."""


@dataclass
class SavedRun:
    run_dir: Path
    config: DictConfig
    overrides: list[str]
    plugins: list[str]


def read_overrides(loaded: ListConfig) -> list[str]:
    """The overrides as written: an interpolation in one (`a=${b}`) stays text, not resolved
    against the list."""
    return [str(o) for o in OmegaConf.to_container(loaded, resolve=False)]


def recorded_config_dirs(run_dir: Path) -> list[Path]:
    """The user's config directories the run was composed with (`--config-dir`,
    `hydra.searchpath`), as its .hydra/hydra.yaml lists them; [] when unreadable. A relative
    one (`hydra.searchpath=[file://conf]` keeps it as written) is taken from the working
    directory the run was started in."""
    try:
        sources = _recorded_hydra(run_dir)["runtime"]["config_sources"]
        dirs = [
            Path(s["path"]) for s in sources if s["schema"] == "file" and s["provider"] != "main"
        ]
    except Exception:  # noqa: BLE001 (absent or damaged: the recomposition says what is missing)
        return []
    started_in = recorded_cwd(run_dir)
    if started_in is None:
        return dirs
    return [d if d.is_absolute() else started_in / d for d in dirs]


def recorded_config_name(run_dir: Path) -> str | None:
    """The primary config the run was composed from (Hydra's `--config-name`; rlexp's own
    is `config`), as its .hydra/hydra.yaml records it; None when unreadable."""
    try:
        return str(_recorded_hydra(run_dir)["job"]["config_name"])
    except Exception:  # noqa: BLE001 (absent or damaged)
        return None


def recorded_cwd(run_dir: Path) -> Path | None:
    """The working directory the run was started in (where its plugins were importable),
    as its .hydra/hydra.yaml records it; None when unreadable."""
    try:
        return Path(_recorded_hydra(run_dir)["runtime"]["cwd"])
    except Exception:  # noqa: BLE001 (absent or damaged)
        return None


def started_elsewhere_hint(run_dir: Path, what: str) -> str | None:
    """For plugins that cannot be imported here: where the run (`what`: run or sweep) was
    started, where they were importable, and how to resume from there; None when it was
    started here or the record does not say."""
    started_in = recorded_cwd(run_dir)
    if started_in is None or started_in == Path.cwd():
        return None
    return (
        f"The {what} was started in {started_in}, where its plugins were importable: resume "
        f"it from there (cd {shlex.quote(str(started_in))}), or put their modules on "
        f"PYTHONPATH"
    )


def _recorded_hydra(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / rundir.HYDRA_DIR / rundir.HYDRA_SETTINGS_FILE
    settings = _load(path, DictConfig, "Hydra's settings")
    return OmegaConf.to_container(settings, resolve=False)["hydra"]


def read_saved_run(run_dir: Path, config_dirs: Sequence[Path] = ()) -> SavedRun:
    """The run's saved config and overrides, checked as described above (imports nothing).
    A preset's `plugins` are read from `config_dirs` (default: the run's recorded ones)."""
    from rlexp.composition import plugin_modules

    run_dir = Path(run_dir)
    config = _load(run_dir / CONFIG_FILE, DictConfig, "a mapping of config keys")
    overrides_file = run_dir / OVERRIDES_FILE
    overrides = (
        read_overrides(_load(overrides_file, ListConfig, "a list of key=value overrides"))
        if overrides_file.is_file()
        else []
    )
    problems = override_problems(overrides)
    if problems:
        raise SavedRunError(
            f"{overrides_file} is not what rlexp wrote (edited?); nothing was imported:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
    plugins = config.get("plugins", [])
    plugins = list(plugins) if isinstance(plugins, ListConfig) else plugins
    if not isinstance(plugins, list) or not all(
        isinstance(m, str) and registry.MODULE_NAME.match(m) for m in plugins
    ):
        raise SavedRunError(
            f"{run_dir / CONFIG_FILE}: plugins={plugins} is not a list of module names; "
            f"nothing was imported"
        )
    dirs = list(config_dirs) or recorded_config_dirs(run_dir)
    from_overrides = plugin_modules([*overrides, *(f"--config-dir={d}" for d in dirs)])
    if list(from_overrides) != plugins:
        raise SavedRunError(
            f"the saved files of {run_dir} disagree: {CONFIG_FILE} names plugins {plugins} "
            f"but {OVERRIDES_FILE} (with the presets it selects) gives "
            f"{list(from_overrides)}. They were edited after the run started, or a preset "
            f"changed or moved (rlexp resume ... --config-dir <its folder>); nothing was "
            f"imported. Restore them, or start a new run with `rlexp train`."
        )
    return SavedRun(run_dir, config, overrides, plugins)


def override_problems(overrides: list[str]) -> list[str]:
    """Overrides a run may carry: `key=value` on config keys, option names (no Hydra
    settings, which Hydra never saves there, and no paths)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rlexp.trust import name_problem

    problems = []
    for text in overrides:
        try:
            (override,) = OverridesParser.create().parse_overrides([text])
        except Exception as exc:  # noqa: BLE001 (Hydra's parser raises several types)
            problems.append(f"{text!r}: not an override ({' '.join(str(exc).split())})")
            continue
        key = override.key_or_group
        if key.lstrip("+~").startswith(("hydra.", "hydra/")) or key == "hydra":
            problems.append(f"{text}: a Hydra setting, which a run's overrides never hold")
        elif override.is_sweep_override():
            problems.append(f"{text}: a sweep, which a run's overrides never hold")
        elif "." not in key and (problem := name_problem(key, override.value())):
            problems.append(problem)
    return problems


def announce_plugins(saved: SavedRun, command: str) -> None:
    """Say which modules are about to be imported, and why, before importing them."""
    if saved.plugins:
        print(
            f"rlexp {command}: importing the plugins {saved.run_dir / CONFIG_FILE} names: "
            f"{', '.join(saved.plugins)} (a plugin is Python code: use only run directories "
            f"you trust)",
            file=sys.stderr,
        )


def _load(path: Path, kind: type, what: str):
    try:
        if rundir.yaml_aliases(Path(path).read_text()):
            raise SavedRunError(
                f"{path} uses YAML aliases, which Hydra never writes in a run's files: it was "
                f"edited (nested aliases can expand to gigabytes when loaded)"
            )
        loaded = OmegaConf.load(path)
    except SavedRunError:
        raise
    except Exception as exc:  # noqa: BLE001 (YAML and OmegaConf raise many types)
        raise SavedRunError(
            f"cannot read {path}: {' '.join(str(exc).split())}; it is damaged or not a file "
            f"rlexp wrote (a run's config is YAML written by Hydra)"
        ) from exc
    if not isinstance(loaded, kind):
        raise SavedRunError(f"{path} does not hold {what}; it is damaged or was edited")
    return loaded
