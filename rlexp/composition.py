"""Compose a config exactly as `rlexp train` does, for tests, notebooks and benchmarks."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlexp import registry
from rlexp.config_cycles import cycle_text, cycles_named
from rlexp.listing import presets
from rlexp.options import option_file


def prepare_registry(overrides: Sequence[str]) -> None:
    """Register built-ins, the plugins the config names, and their schemas in ConfigStore."""
    from rlexp.schemas import store_root_schema

    registry.load_builtins()
    registry.load_plugins(plugin_modules(overrides))
    dirs = config_dirs(overrides)  # an option file there stands for a plugin's option
    refuse_shadowed(dirs)
    registry.store_schemas(lambda group, name: option_file(group, name, dirs) is not None)
    store_root_schema()


def refuse_shadowed(dirs: Sequence[Path]) -> None:
    """A file of the user's config dirs named as one of rlexp's own (`agent/dqn.yaml`) is
    never read: Hydra searches rlexp/conf first. Refuse it rather than ignore it."""
    for directory in dirs:
        for path in sorted(Path(directory).rglob("*.yaml")):
            relative = path.relative_to(directory)
            if (registry.CONF_DIR / relative).is_file():
                option = relative.with_suffix("").as_posix()
                raise registry.RegistryError(
                    f"{path} is never read: rlexp's own {option} comes first on the config "
                    f"search path; give yours a name of its own (e.g. {relative.parent}/"
                    f"my_{path.stem}.yaml) and select that"
                )


def plugin_modules(overrides: Sequence[str]) -> list[str]:
    """The `plugins` the config will name, read before Hydra composes it.

    Plugins must be imported before composition because they add config options. They
    come from rlexp/conf/config.yaml, a selected experiment preset (in rlexp/conf or in the
    user's own config directories, `config_dirs`), and a `plugins=[...]` override.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    modules = list(OmegaConf.load(registry.CONF_DIR / "config.yaml").get("plugins", []))
    relevant = [o for o in overrides if re.match(r"^\+{0,2}(plugins|experiment)=", o)]
    for override in OverridesParser.create().parse_overrides(relevant):
        if override.key_or_group == "plugins" and override.is_sweep_override():
            raise registry.RegistryError(
                f"{override.input_line}: plugins cannot be swept (they are imported before "
                f"the sweep starts); list every module once: plugins=[a,b]"
            )
        if override.key_or_group == "experiment":
            for name in _chosen_names(override, config_dirs(overrides)):
                modules += _preset_plugins(name, config_dirs(overrides))
        elif override.key_or_group == "plugins":
            value = override.value()
            modules = list(value) if isinstance(value, list) else [value]
    return list(dict.fromkeys(modules))


def _chosen_names(override: Any, dirs: Sequence[Path]) -> list[str]:
    """The preset names an `experiment=...` override chooses: one, or each of a discrete
    sweep's (`experiment=a,b`, `glob(a*)`: every sweep point imports its preset's plugins)."""
    from hydra.core.override_parser.types import Glob

    value = override.value()
    if isinstance(value, Glob):
        return value.filter(list(presets(dirs)))
    if override.is_discrete_sweep():
        return list(override.sweep_string_iterator())
    return [value] if isinstance(value, str) else []


CONFIG_DIR_FLAGS = ("--config-dir", "-cd")


class ConfigDirError(ValueError):
    """A `--config-dir` flag that Hydra would not read as it was meant."""


def check_config_dir_flags(argv: Sequence[str]) -> None:
    """Refuse `--config-dir DIR` flags Hydra would misread: one without a directory (Hydra
    took the next argument for it, once its flags were moved first), several (Hydra's
    parser keeps only the last and drops the others without a word), or a DIR that is not
    a directory. `rlexp resume` takes several (the run's recorded ones may be several)."""
    for i, arg in enumerate(argv):
        flag, eq, value = arg.partition("=")
        if flag not in CONFIG_DIR_FLAGS:
            continue
        if not eq:
            value = argv[i + 1] if i + 1 < len(argv) else ""
        if not value or (not eq and value.startswith("-")):
            raise ConfigDirError(f"{flag} needs a directory after it: {flag} DIR")
    dirs, _ = split_config_dir_flags(argv)
    if len(dirs) > 1:
        raise ConfigDirError(
            f"--config-dir given {len(dirs)} times ({', '.join(map(str, dirs))}): Hydra reads "
            f"only the last one. Give one, or put every directory on the search path: "
            f"'{searchpath_override(dirs)}'"
        )
    for directory in dirs:
        if directory.is_file():
            raise ConfigDirError(
                f"--config-dir {directory}: a file, not a directory; give the directory that "
                f"holds your experiment/ (and option) folders"
            )
        if not directory.is_dir():
            raise ConfigDirError(f"--config-dir {directory}: no such directory")


def searchpath_override(dirs: Sequence[Path | str]) -> str:
    """The override that puts `dirs` on Hydra's search path, after rlexp/conf, in order."""
    return f"hydra.searchpath=[{','.join(f'file://{Path(d).resolve()}' for d in dirs)}]"


def config_dir_args(dirs: Sequence[Path | str]) -> list[str]:
    """The arguments that give a command `dirs`, as a user types them: `--config-dir DIR`
    for one (Hydra reads only one such flag, and rlexp refuses several), the search path
    for more."""
    if len(dirs) == 1:
        return ["--config-dir", str(dirs[0])]
    return [searchpath_override(dirs)] if dirs else []


def split_config_dir_flags(argv: Sequence[str]) -> tuple[list[Path], list[str]]:
    """(the directories of `--config-dir DIR` / `-cd DIR` flags, the other arguments)."""
    dirs, rest = [], []
    args = iter(argv)
    for arg in args:
        if arg in CONFIG_DIR_FLAGS:
            value = next(args, None)
            if value is not None:
                dirs.append(Path(value))
        elif arg.startswith(("--config-dir=", "-cd=")):
            dirs.append(Path(arg.split("=", 1)[1]))
        else:
            rest.append(arg)
    return dirs, rest


def hydra_flags_first(argv: Sequence[str]) -> list[str]:
    """`argv` with Hydra's flags (and their values) before the overrides, each in its
    order: Hydra's parser takes the overrides as one run of positional arguments, so
    `rlexp -m seed=0,1 --config-dir conf agent=ddqn` failed ("unrecognized arguments")."""
    from hydra._internal.utils import get_args_parser

    actions = get_args_parser()._option_string_actions
    flags: list[str] = []
    overrides: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        action = actions.get(arg.split("=", 1)[0])
        i += 1
        if action is None:
            overrides.append(arg)
            continue
        flags.append(arg)
        takes_value = "=" not in arg and i < len(argv) and action.nargs in (None, "?")
        # `--info` takes an optional word: never an override nor a flag
        if takes_value and (action.nargs is None or not re.search(r"=|^-", argv[i])):
            flags.append(argv[i])
            i += 1
    return flags + overrides


def _preset_plugins(name: str, dirs: Sequence[Path], chain: tuple[Path, ...] = ()) -> list:
    """The `plugins` of experiment preset `name` and of the presets its `defaults` list
    extends (`- other`, `- /experiment/other`, `- other@_here_`), the extended ones' first.
    Raises RegistryError for presets that extend each other (Hydra would recurse until
    Python's stack runs out)."""
    preset = option_file("experiment", name, dirs)
    if preset is None:
        return []
    if preset in chain:
        raise registry.RegistryError(cycle_text([*chain[chain.index(preset) :], preset]))
    node = OmegaConf.load(preset)
    modules = []
    for entry in node.get("defaults") or []:
        extended = _extended_preset(entry) if isinstance(entry, str) else None
        if extended is not None:
            modules += _preset_plugins(extended, dirs, (*chain, preset))
    return modules + list(node.get("plugins") or [])


def _extended_preset(entry: str) -> str | None:
    """The experiment preset a preset's `defaults` entry names, or None (`_self_`, another
    group's config): Hydra reads `other` and `other@pkg` (`team/other` too, from a preset
    in experiment/team/) in the experiment group, `/experiment/other` from the root."""
    path = entry.split("@", 1)[0].strip()
    if path.startswith("/"):
        group, _, option = path.lstrip("/").partition("/")
        return option if group == "experiment" and option else None
    return None if path == "_self_" else path


def config_dirs(argv: Sequence[str]) -> list[Path]:
    """The user's own config directories a command line adds to Hydra's search path, after
    rlexp/conf: `--config-dir DIR` (`-cd DIR`) and `hydra.searchpath=[file://DIR, ...]`."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    dirs, _ = split_config_dir_flags(argv)
    searchpath = [o for o in argv if re.match(r"^\+{0,2}hydra\.searchpath=", o)]
    for override in OverridesParser.create().parse_overrides(searchpath):
        value = override.value()
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, str) and entry.startswith("file://"):
                dirs.append(Path(entry.removeprefix("file://")))
    return dirs


def compose_config(overrides: Sequence[str] = (), config_dirs: Sequence[Path] = ()) -> DictConfig:
    """The validated config for `overrides`; raises ConfigError or Hydra's errors.

    `config_dirs`: the user's own config directories (experiment presets, options), searched
    after rlexp/conf as `rlexp --config-dir DIR` does.
    """
    from hydra import compose, initialize_config_dir

    from rlexp.validation import validate

    overrides = list(overrides)
    if config_dirs:
        overrides.append(searchpath_override(config_dirs))
    prepare_registry(overrides)
    with initialize_config_dir(config_dir=str(registry.CONF_DIR), version_base="1.3"):
        with cycles_named(config_dirs):
            cfg = compose("config", overrides=overrides)
    validate(cfg)
    return cfg


@contextlib.contextmanager
def command_composer(config_dir: str | None = None) -> Iterator[Any]:
    """Hydra's composer as `rlexp train` sets it up (rlexp's config tree, plus `--config-dir`
    first), for composing without running anything: no callbacks, logging or launcher."""
    import os

    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_config_search_path
    from hydra.core.config_search_path import SearchPathQuery
    from hydra.errors import SearchPathException
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    search_path = create_config_search_path(str(registry.CONF_DIR))
    if config_dir is not None:
        absolute = os.path.abspath(config_dir)
        if not os.path.isdir(absolute):
            raise SearchPathException(f"Additional config directory '{absolute}' not found")
        search_path.prepend(
            provider="command-line",
            path=f"file://{absolute}",
            anchor=SearchPathQuery(provider="schema"),
        )
    backup = get_gh_backup()
    try:
        yield Hydra.create_main_hydra2(task_name="train", config_search_path=search_path)
    finally:
        restore_gh_from_backup(backup)
