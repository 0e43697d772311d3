"""The trust boundary: nothing in a config may make Hydra import or call code.

Hydra turns some config keys into code: `_target_` nodes are imported and called
(`hydra.callbacks`, the launcher, the sweeper and its sampler), logging configs go to
`logging.config.dictConfig` (`class`, `()` and `ext://` import), `hydra.searchpath`
entries `pkg://m` import `m`, launchers run setup commands, and `hydra.job.env_set` can
set variables that make a process load code (`LD_PRELOAD`). rlexp checks the composed
config (command line, presets, `--config-dir` files) before Hydra runs any of it, and
refuses everything that is not rlexp's own or one of Hydra's shipped defaults, naming the
key. User code enters only through `plugins:` (docs/concepts/security.md).

Imports nothing heavy; no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf, open_dict

from rlexp.override_errors import error_text
from rlexp.rundir import HYDRA_DIR

# Exactly these `_target_`s may appear under `hydra` (a regex per place; one class name each,
# so no attribute walk like `pkg.module.os.system` can match).
CALLBACKS = {"rlexp.sweeps.callbacks.SweepReview", "rlexp.training.claim.ClaimRunDir"}
PLUGIN_CLASS = re.compile(
    r"^(hydra_plugins\.\w+\.\w+|hydra\._internal\.core_plugins\.\w+)\.[A-Z]\w*(Launcher|Sweeper)$"
)
TARGET_RULES = {
    ("hydra", "launcher"): PLUGIN_CLASS,
    ("hydra", "sweeper"): PLUGIN_CLASS,
    ("hydra", "sweeper", "sampler"): re.compile(r"^optuna\.samplers\.[A-Z]\w*Sampler$"),
    ("hydra", "sweeper", "pruner"): re.compile(r"^optuna\.pruners\.[A-Z]\w*Pruner$"),
}
# Launcher settings that run shell commands or install code on the workers.
LAUNCHER_COMMAND_KEYS = {
    "setup",  # submitit: lines of the sbatch script
    "runtime_env",  # ray: pip packages, py_modules, setup hooks
    "setup_commands",
    "head_setup_commands",
    "worker_setup_commands",
    "initialization_commands",
    "head_start_ray_commands",
    "worker_start_ray_commands",
    "pip_packages",
    "commands",
    "setup_hook",
    "worker_process_setup_hook",
}
# The logging classes of Hydra's shipped logging configs (and the harmless NullHandler).
LOGGING_CLASSES = {
    "handlers": {"logging.StreamHandler", "logging.FileHandler", "logging.NullHandler"},
    "formatters": {"logging.Formatter"},
}
EXT_STREAMS = {"ext://sys.stdout", "ext://sys.stderr"}
LOG_FILE_PREFIX = "${hydra.runtime.output_dir}/"
# Environment variables that make a process (or its children) load code.
CODE_LOADING_ENV = re.compile(
    r"^(LD_\w*|DYLD_\w*|PYTHON\w*|PATH|BASH_ENV|ENV|SHELLOPTS|PS4|PROMPT_COMMAND|GCONV_PATH"
    r"|NODE_OPTIONS|PERL5\w*|RUBY\w*|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|MALLOC_\w*|GLIBC_TUNABLES"
    r"|TF_\w*PLUGIN\w*|HOME|XDG_CONFIG_HOME|SSL_CERT_\w*|REQUESTS_CA_BUNDLE)$"
)
NAME_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


class TrustError(ValueError):
    """A config that would make Hydra import or run code that is not rlexp's own."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "refused: configs are data, and these settings would make Hydra import or run code, "
            "or write outside the run directory (your own code enters only through `plugins:`; "
            "see docs/concepts/security.md):\n" + "\n".join(f"  - {p}" for p in problems)
        )


def name_problem(key: str, value: Any) -> str | None:
    """An option name must be a name (`a/b` at most), never a path out of the config tree.
    Top-level values (`seed`, `repeat`, ...: the root schema's fields with a default) are
    not options."""
    from rlexp.schemas import RlexpConfig

    values = {f.name for f in dataclasses.fields(RlexpConfig) if f.default is not MISSING}
    if value is None or not isinstance(value, str) or key.lstrip("+~") in values:
        return None
    segments = value.split("/")
    if all(NAME_SEGMENT.match(s) for s in segments):
        return None
    return f"{key}={value}: an option is a name, not a path; see `rlexp list` for the names"


def searchpath_problems(entries: Any, where: str) -> list[str]:
    """`pkg://m` imports package `m`; `file://` dirs (YAML only) are fine."""
    if not isinstance(entries, list | tuple | ListConfig):
        return []
    return [
        f"{where}: {entry!r} imports the Python package {entry[6:]!r} to read its configs; "
        f"add a config directory with --config-dir <dir> (or file://<dir>) instead"
        for entry in entries
        if isinstance(entry, str) and entry.startswith("pkg://")
    ]


def hydra_problems(cfg: DictConfig) -> list[str]:
    """Everything under `cfg.hydra` that would import or run code (unresolved values)."""
    hydra = cfg.get("hydra") if isinstance(cfg, DictConfig) else None
    if not isinstance(hydra, DictConfig):
        return []
    node = OmegaConf.to_container(hydra, resolve=False)
    problems = list(_target_problems(node))
    problems += _launcher_problems(node.get("launcher") or {})
    custom = (node.get("sweeper") or {}).get("custom_search_space")
    if custom:
        problems.append(
            f"hydra.sweeper.custom_search_space={custom}: Optuna would import and call it; "
            f"give the search space as hydra.sweeper.params instead"
        )
    for part in ("job_logging", "hydra_logging"):
        problems += _logging_problems(node.get(part), f"hydra.{part}")
    problems += _env_problems((node.get("job") or {}).get("env_set") or {})
    subdir = node.get("output_subdir", HYDRA_DIR)
    if subdir != HYDRA_DIR:
        problems.append(
            f"hydra.output_subdir={subdir}: rlexp keeps a run's config in <run dir>/.hydra "
            f"(rlexp resume, eval and report read it there); leave it unset"
        )
    problems += searchpath_problems(node.get("searchpath"), "hydra.searchpath")
    return problems


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(parent path, key, value) of every entry of a nested dict/list."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, str(key), value
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, f"[{i}]"))


def _dotted(path: tuple[str, ...], key: str) -> str:
    return ".".join((*path, key)).replace(".[", "[")


def _target_problems(node: dict) -> Iterator[str]:
    for path, key, value in _walk(node, ("hydra",)):
        if key != "_target_":
            continue
        where = _dotted(path, key)
        if len(path) == 3 and path[1] == "callbacks":
            if value not in CALLBACKS:
                yield (
                    f"{where}={value}: Hydra would import and call it; the only callback "
                    f"rlexp runs is its own ({', '.join(sorted(CALLBACKS))})"
                )
            continue
        rule = TARGET_RULES.get(path)
        if rule is None or not isinstance(value, str) or not rule.match(value):
            allowed = "nothing here" if rule is None else f"it must match {rule.pattern}"
            yield f"{where}={value}: Hydra would import and call it ({allowed})"


def _launcher_problems(launcher: dict) -> Iterator[str]:
    for path, key, value in _walk(launcher, ("hydra", "launcher")):
        if key in LAUNCHER_COMMAND_KEYS and value not in (None, "", [], {}):
            yield (
                f"{_dotted(path, key)}: the launcher would run commands or install code from "
                f"it; prepare the workers outside rlexp (their image, a module load)"
            )


def _logging_problems(config: Any, prefix: str) -> list[str]:
    """A `logging.config.dictConfig` config: shipped classes only, log files in the run dir."""
    if not isinstance(config, dict):
        return []
    problems = []
    for path, key, value in _walk(config, (prefix,)):
        where = _dotted(path, key)
        if key == "()":
            problems.append(f"{where}={value}: logging would import and call it")
        elif key == "class":
            section = path[1] if len(path) == 3 else None
            allowed = LOGGING_CLASSES.get(section or "", set())
            if value not in allowed:
                problems.append(
                    f"{where}={value}: logging would import it; allowed here: "
                    f"{', '.join(sorted(allowed)) or 'none'}"
                )
        elif isinstance(value, str) and value.startswith("ext://") and value not in EXT_STREAMS:
            problems.append(
                f"{where}={value}: logging would import it; "
                f"streams: {', '.join(sorted(EXT_STREAMS))}"
            )
        elif key == "filename" and len(path) == 3 and path[1] == "handlers":
            rest = str(value)[len(LOG_FILE_PREFIX) :]
            inside = str(value).startswith(LOG_FILE_PREFIX) and ".." not in rest.split("/")
            if not inside:
                problems.append(
                    f"{where}={value}: a log file must be inside the run directory "
                    f"({LOG_FILE_PREFIX}<name>.log)"
                )
        elif key == "mode" and len(path) == 3 and path[1] == "handlers" and value != "a":
            problems.append(
                f"{where}={value}: log files are appended to (mode: a), never truncated"
            )
    return problems


def _env_problems(env_set: dict) -> list[str]:
    return [
        f"hydra.job.env_set.{name}: this variable makes processes load code; set it in "
        f"your shell if you mean it"
        for name in env_set
        if CODE_LOADING_ENV.match(str(name))
    ]


def choice_problems(defaults: Any) -> list[str]:
    """Every config the defaults list loads comes from a name inside the config tree."""
    problems = []
    for item in getattr(defaults, "defaults", []):
        path = getattr(item, "config_path", None)
        if path and (path.startswith("/") or ".." in path.split("/")):
            problems.append(
                f"{path}: the defaults list reaches outside the config tree; "
                f"an option is a name, not a path"
            )
    return problems


def check_command(argv: list[str]) -> DictConfig | None:
    """Refuse `rlexp train` argv whose config (or any sweep point's) would run code, or whose
    sweep points cannot be composed, before Hydra runs anything. Raises TrustError or
    SweepPointError; a command line Hydra cannot compose at all raises Hydra's own error.
    Returns the composed config (sweep overrides left out), with its `hydra` node, or None
    when there is nothing to compose for (a single run of rlexp's own configs, values only).
    """
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode

    from rlexp.composition import command_composer

    args, _ = get_args_parser().parse_known_args(argv)
    if args.config_path is not None:
        raise TrustError(
            [
                f"--config-path {args.config_path}: rlexp's own config tree is the primary one; "
                f"add your configs with --config-dir <dir>"
            ]
        )
    overrides = list(args.overrides)
    parsed = OverridesParser.create().parse_overrides(overrides)
    problems = _override_problems(parsed)
    problems += _primary_config_problems(args.config_dir, args.config_name)
    if problems:
        raise TrustError(problems)
    if _only_rlexp_configs(args, parsed):
        return None  # nothing from outside rlexp's own config tree can reach `hydra`
    config_name = args.config_name or "config"
    with command_composer(args.config_dir) as hydra:
        base = hydra.compose_config(
            config_name,
            overrides,
            run_mode=RunMode.MULTIRUN,
            with_log_configuration=False,
            validate_sweep_overrides=False,
        )
        problems = _config_problems(hydra, config_name, overrides, RunMode.MULTIRUN, base)
        failures: list[str] = []
        invalid: list[str] = []
        if (args.multirun or base.hydra.mode == RunMode.MULTIRUN) and not problems:
            problems, failures, invalid = _sweep_point_problems(hydra, config_name, base, parsed)
    if problems:
        raise TrustError(list(dict.fromkeys(problems)))
    if failures:
        raise SweepPointError(failures)
    if invalid:
        raise SweepPointError(invalid, "setting(s) make every sweep point invalid")
    return base


def _sweep_point_problems(
    hydra: Any, config_name: str, base: DictConfig, parsed: list
) -> tuple[list[str], list[str], list[str]]:
    """Compose every sweep point: the trust problems of their configs, the points that
    cannot be composed at all (each with Hydra's reason), and the validation problems every
    point shares (a setting no swept value fixes: every job would be skipped)."""
    from hydra.types import RunMode

    from rlexp.validation import ConfigError, validate

    problems: list[str] = []
    failures: list[str] = []
    shared: set[str] | None = None  # the validation problems of every point so far
    groups = set(base.hydra.runtime.choices)
    for point in sweep_points(base, parsed):
        try:
            cfg = hydra.compose_config(
                config_name, point, run_mode=RunMode.RUN, with_log_configuration=False
            )
        except Exception as exc:  # noqa: BLE001 (Hydra's composition errors vary)
            text = error_text(exc)
            named = any(text.startswith(f"{o}:") for o in point)  # the override it names
            failures.append(text if named else f"{' '.join(point)}: {text}")
            continue
        problems += hydra_problems(cfg)
        if any(_structural(o.split("=", 1)[0], groups) for o in point):
            defaults = hydra.config_loader.compute_defaults_list(config_name, point, RunMode.RUN)
            problems += choice_problems(defaults)
        with open_dict(cfg):
            del cfg["hydra"]  # a job validates its own config, without Hydra's settings
        try:
            validate(cfg)
            found: set[str] = set()
        except ConfigError as exc:
            found = set(exc.problems)
        shared = found if shared is None else shared & found
    return problems, failures, sorted(shared or [])


# Hydra settings a single run may set to a string that nothing reads as code: composing the
# config to check it would only cost a run ~0.3 s.
PLAIN_HYDRA_VALUES = ("hydra.run.dir",)


def _only_rlexp_configs(args: Any, parsed: list) -> bool:
    """A single run whose config comes only from rlexp's own tree (and Hydra's) plus value
    overrides: no --config-dir, no Hydra setting but its run directory, no sweep. Its option
    names were checked."""
    if args.config_dir is not None or args.multirun:
        return False
    return not any(
        o.is_sweep_override()
        or (
            o.key_or_group.lstrip("+~").startswith("hydra")
            and not (o.key_or_group in PLAIN_HYDRA_VALUES and isinstance(o.value(), str))
        )
        for o in parsed
    )


class SweepPointError(ValueError):
    """Sweep points that cannot be composed, or a sweep none of whose points is valid: the
    sweep is refused before any job starts."""

    def __init__(self, failures: list[str], what: str = "sweep point(s) cannot be composed"):
        self.failures = failures
        super().__init__(
            f"{len(failures)} {what}; no job was started. Fix or drop these values:\n"
            + "\n".join(f"  - {f}" for f in failures)
        )


def _override_problems(parsed: list) -> list[str]:
    problems = []
    for override in parsed:
        key = override.key_or_group
        if override.get_key_element() == "hydra.searchpath":
            problems += searchpath_problems(override.value(), "hydra.searchpath")
        if "." in key and "/" not in key:
            continue  # a value, not a group choice
        values = (
            list(override.sweep_string_iterator())
            if override.is_discrete_sweep()
            else [override.value()]
        )
        problems += [p for v in values if (p := name_problem(key, v))]
    return problems


def _primary_config_problems(config_dir: str | None, config_name: str | None) -> list[str]:
    """A primary config from --config-dir may set hydra.searchpath (read before composing)."""
    from pathlib import Path

    if not config_dir or not config_name:
        return []
    primary = Path(config_dir) / f"{config_name.removesuffix('.yaml')}.yaml"
    try:
        loaded = OmegaConf.load(primary)
    except Exception:  # noqa: BLE001 (absent or broken: Hydra reports it)
        return []
    entries = (
        OmegaConf.select(loaded, "hydra.searchpath", default=None)
        if isinstance(loaded, DictConfig)
        else None
    )
    return searchpath_problems(entries, f"{primary}: hydra.searchpath")


def _config_problems(hydra: Any, config_name: str, overrides: list[str], mode: Any, cfg) -> list:
    defaults = hydra.config_loader.compute_defaults_list(config_name, overrides, mode)
    return choice_problems(defaults) + hydra_problems(cfg)


def sweep_points(base: DictConfig, parsed: list) -> list[list[str]]:
    """The sweep points worth composing before the sweep starts.

    Only group choices and `hydra.*` keys can change what Hydra imports, so every
    combination of their swept values is composed; each other swept value is composed once
    per such combination (its key alone is what can fail: a wrong type, an unknown enum
    value). Discrete sweeps only: a sampled interval (Optuna) has no points to list.
    """
    import itertools

    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = OmegaConf.select(base, "hydra.sweeper.params", default=None) or {}
    extra = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    swept = {o.get_key_element(): o for o in [*extra, *parsed] if o.is_discrete_sweep()}
    fixed = [
        o.input_line
        for o in parsed
        if not o.is_sweep_override() and o.get_key_element() not in swept
    ]
    values = {key: [f"{key}={v}" for v in o.sweep_string_iterator()] for key, o in swept.items()}
    groups = set(OmegaConf.select(base, "hydra.runtime.choices", default=None) or {})
    structural = [key for key in values if _structural(key, groups)]
    others = [key for key in values if key not in structural]
    points = []
    for combo in itertools.product(*(values[k] for k in structural)):
        firsts = {k: values[k][0] for k in others}
        points.append([*fixed, *combo, *firsts.values()])
        for key in others:
            for choice in values[key][1:]:
                points.append([*fixed, *combo, *{**firsts, key: choice}.values()])
    return points


def _structural(key: str, groups: set[str]) -> bool:
    """A group choice (`agent`, `hydra/launcher`) or a Hydra setting."""
    key = key.lstrip("+~")
    return key in groups or "/" in key or key.startswith("hydra.")
