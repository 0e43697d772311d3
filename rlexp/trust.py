"""The trust boundary: nothing in a config may make Hydra import or call code.

Hydra turns some config keys into code: `_target_` nodes are imported and called
(`hydra.callbacks`, the launcher, the sweeper and its sampler), logging configs go to
`logging.config.dictConfig` (`class`, `()` and `ext://` import, `.` sets attributes),
`hydra.searchpath` entries `pkg://m` import `m`, launchers run setup commands, and
`hydra.job.env_set` can set variables that make a process load code (`LD_PRELOAD`,
`GIT_CONFIG_*`, `OPENSSL_CONF`). Other settings decide where Hydra writes (`hydra.job.name`
names the log file, `hydra.sweep.subdir` a job's folder, `hydra.output_subdir`). rlexp
checks the composed config (command line, presets, `--config-dir` files, a resumed sweep's
record) before Hydra runs any of it, and refuses everything that is not rlexp's own or one
of Hydra's shipped defaults, naming the key. User code enters only through `plugins:`
(docs/concepts/security.md).

Imports nothing heavy; no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf, open_dict

from rlexp.override_errors import error_text, unknown_key_of
from rlexp.rundir import HYDRA_DIR

# rlexp's callbacks (rlexp/conf/config.yaml `hydra.callbacks`): Hydra instantiates every
# entry, so none may be added, and each key keeps exactly its own target. None may be
# removed or swapped either: ClaimRunDir is what refuses to write into a directory that
# already holds anything.
CALLBACKS = {
    "claim_run_dir": "rlexp.training.claim.ClaimRunDir",
    "sweep_review": "rlexp.sweeps.callbacks.SweepReview",
}
# Exactly these `_target_`s may appear elsewhere under `hydra` (a regex per place; one class
# name each, so no attribute walk like `pkg.module.os.system` can match).
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
# The parts of `hydra` that Hydra instantiates (recursively: a nested node with a
# `_target_` is called too) or hands to `logging.config.dictConfig`.
CODE_PARTS = ("launcher", "sweeper", "job_logging", "hydra_logging")
# The interpolations those parts may hold: references to Hydra's own string (or number)
# settings, and the time. Any other is resolved only when Hydra instantiates the part, past
# these checks: `${oc.create:...}` or `${oc.decode:...}` make a node with a `_target_` out
# of text, and a reference can bring in a node of the config these checks do not read.
SAFE_INTERPOLATION = re.compile(
    r"\$\{(?:hydra\.(?:sweep\.dir|run\.dir|runtime\.output_dir|job\.name|job\.num|job\.id)"
    r"|now:[^${}]*)\}"
)
# The logging classes of Hydra's shipped logging configs (and the harmless NullHandler).
LOGGING_CLASSES = {
    "handlers": {"logging.StreamHandler", "logging.FileHandler", "logging.NullHandler"},
    "formatters": {"logging.Formatter"},
}
EXT_STREAMS = {"ext://sys.stdout", "ext://sys.stderr"}
LOG_FILE_PREFIX = "${hydra.runtime.output_dir}/"
# What a log file's name may interpolate after LOG_FILE_PREFIX: the job's name (a plain
# name, checked) and number.
LOG_FILE_NAME_PARTS = re.compile(r"\$\{hydra\.job\.(?:name|num)\}")
# The environment variables `hydra.job.env_set` may set: an allowlist, since the variables
# that make some program load code or write files are too many to list (LD_PRELOAD, PATH,
# PYTHON*, GIT_CONFIG_* for the provenance's `git status`, OPENSSL_CONF and
# TF_PLUGGABLE_DEVICE_LIBRARY_PATH load a library, XLA_FLAGS --xla_dump_to writes files,
# ...). Each of these only tunes how a run uses the machine; none names a file, a library
# or a command, and each library reading one accepts a number or a word from a fixed set:
#   thread pools (TF's are also set per sweep run, sweep.*_op_threads): OMP_NUM_THREADS,
#     MKL_NUM_THREADS, OPENBLAS_NUM_THREADS, NUMEXPR_NUM_THREADS, TF_NUM_INTRAOP_THREADS,
#     TF_NUM_INTEROP_THREADS;
#   devices: CUDA_VISIBLE_DEVICES, CUDA_DEVICE_ORDER, TF_FORCE_GPU_ALLOW_GROWTH;
#   TensorFlow's behaviour: TF_CPP_MIN_LOG_LEVEL (its C++ log level), TF_DETERMINISTIC_OPS,
#     TF_CUDNN_DETERMINISTIC, TF_ENABLE_ONEDNN_OPTS;
#   headless rendering (rlexp sets the first three itself unless set): MUJOCO_GL (egl,
#     osmesa or glfw), SDL_VIDEODRIVER and SDL_AUDIODRIVER (SDL's built-in drivers, e.g.
#     dummy).
# PYTHON* stay refused (PYTHONPATH, PYTHONSTARTUP, PYTHONHOME load code; the harmless
# PYTHONHASHSEED is no run setting of rlexp's: `seed` is). Anything else: set it in the
# shell that starts rlexp, which is the user's own decision.
RUN_ENV = frozenset(
    {
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
        "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER",
        "TF_FORCE_GPU_ALLOW_GROWTH",
        "TF_CPP_MIN_LOG_LEVEL",
        "TF_DETERMINISTIC_OPS",
        "TF_CUDNN_DETERMINISTIC",
        "TF_ENABLE_ONEDNN_OPTS",
        "MUJOCO_GL",
        "SDL_VIDEODRIVER",
        "SDL_AUDIODRIVER",
    }
)
NAME_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
# What a sweep job's folder name (`hydra.sweep.subdir`) may interpolate: Hydra's job
# number, id, name and override_dirname (whose `..` segments are refused with the
# overrides), and the time.
SUBDIR_PARTS = re.compile(
    r"\$\{(?:hydra\.job\.(?:num|id|name|override_dirname)|now:[^${}/]*)\}"
)
OVERRIDE_DIRNAME = "${hydra.job.override_dirname}"


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
    """`pkg://m` imports package `m`; `file://` dirs (YAML only) are fine. An interpolation
    is resolved by Hydra after this check (into `pkg://...`, say): refused."""
    if isinstance(entries, str) and "${" in entries:
        entries = [entries]  # the whole list as an interpolation
    if not isinstance(entries, list | tuple | ListConfig):
        return []
    problems = []
    for entry in entries:
        if isinstance(entry, str) and entry.startswith("pkg://"):
            problems.append(
                f"{where}: {entry!r} imports the Python package {entry[6:]!r} to read its "
                f"configs; add a config directory with --config-dir <dir> (or file://<dir>) "
                f"instead"
            )
        elif isinstance(entry, str) and "${" in entry:
            problems.append(
                f"{where}: {entry!r} is resolved by Hydra after rlexp's checks; write the "
                f"directory itself (file://<dir>), or add it with --config-dir <dir>"
            )
    return problems


def hydra_problems(cfg: DictConfig) -> list[str]:
    """Everything under `cfg.hydra` that would import or run code, or write outside the
    run directory (unresolved values)."""
    hydra = cfg.get("hydra") if isinstance(cfg, DictConfig) else None
    if not isinstance(hydra, DictConfig):
        return []
    node = OmegaConf.to_container(hydra, resolve=False)
    problems = _callback_problems(node.get("callbacks"))
    problems += _target_problems(node)
    problems += _launcher_problems(node.get("launcher") or {})
    custom = (node.get("sweeper") or {}).get("custom_search_space")
    if custom:
        problems.append(
            f"hydra.sweeper.custom_search_space={custom}: Optuna would import and call it; "
            f"give the search space as hydra.sweeper.params instead"
        )
    job = node.get("job") or {}
    for part in ("job_logging", "hydra_logging"):
        problems += _logging_problems(node.get(part), f"hydra.{part}", job.get("name"))
    problems += _interpolation_problems(node)
    problems += _env_problems(job.get("env_set") or {}, job.get("env_copy") or [])
    problems += _job_problems(job)
    problems += _subdir_problems((node.get("sweep") or {}).get("subdir"))
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


def _callback_problems(callbacks: Any) -> list[str]:
    """`hydra.callbacks` is rlexp's own: each key keeps exactly its own target (and nothing
    else), none is removed, none added."""
    own = "; ".join(f"{key}: {target}" for key, target in CALLBACKS.items())
    keep = (
        f"rlexp runs exactly its own callbacks ({own}; the first refuses to write into a "
        f"directory that already holds anything); leave hydra.callbacks as it is"
    )
    if not isinstance(callbacks, dict):
        return [f"hydra.callbacks={callbacks}: {keep}"]
    problems = []
    for key, node in callbacks.items():
        where = f"hydra.callbacks.{key}"
        target = node.get("_target_") if isinstance(node, dict) else None
        shown = f"{where}._target_={target}" if target is not None else f"{where}={node}"
        if key not in CALLBACKS:
            problems.append(f"{shown}: Hydra would instantiate it as a callback; {keep}")
        elif target != CALLBACKS[key]:
            problems.append(f"{shown}: Hydra would instantiate it instead of rlexp's; {keep}")
        elif set(node) != {"_target_"}:
            extra = ", ".join(sorted(str(k) for k in node if k != "_target_"))
            problems.append(f"{where}: {extra} would be passed to {target}; {keep}")
    for key in CALLBACKS:
        if key not in callbacks:
            problems.append(f"hydra.callbacks.{key}: removed; {keep}")
    return problems


def _target_problems(node: dict) -> list[str]:
    problems = []
    for path, key, value in _walk(node, ("hydra",)):
        if key != "_target_" or path[1:2] == ("callbacks",):  # callbacks: _callback_problems
            continue
        where = _dotted(path, key)
        rule = TARGET_RULES.get(path)
        if rule is None or not isinstance(value, str) or not rule.match(value):
            allowed = "nothing here" if rule is None else f"it must match {rule.pattern}"
            problems.append(f"{where}={value}: Hydra would import and call it ({allowed})")
    return problems


def _interpolation_problems(node: dict) -> list[str]:
    """Interpolations in the parts Hydra instantiates or gives to logging (a whole part
    too): only SAFE_INTERPOLATION ones. A handler's log file is `_log_file_inside`'s."""
    problems = []
    for part in CODE_PARTS:
        for path, key, value in _walk({part: node.get(part)}, ("hydra",)):
            log_file = key == "filename" and path[2:3] == ("handlers",) and len(path) == 4
            unsafe = isinstance(value, str) and "${" in SAFE_INTERPOLATION.sub("", value)
            if unsafe and not log_file:
                problems.append(
                    f"{_dotted(path, key)}={value}: Hydra resolves this interpolation only when "
                    f"it instantiates hydra.{part}, after rlexp's checks (it could make a "
                    f"node to call, or bring one in); write the value itself"
                )
    return problems


def _launcher_problems(launcher: dict) -> Iterator[str]:
    for path, key, value in _walk(launcher, ("hydra", "launcher")):
        if key in LAUNCHER_COMMAND_KEYS and value not in (None, "", [], {}):
            yield (
                f"{_dotted(path, key)}: the launcher would run commands or install code from "
                f"it; prepare the workers outside rlexp (their image, a module load)"
            )


def _logging_problems(config: Any, prefix: str, job_name: Any = None) -> list[str]:
    """A `logging.config.dictConfig` config: shipped classes only, no attributes set past
    the checked settings (`.`), log files in the run dir, appended to."""
    if not isinstance(config, dict):
        return []
    problems = []
    for path, key, value in _walk(config, (prefix,)):
        where = _dotted(path, key)
        in_handler = len(path) == 3 and path[1] == "handlers"
        if key == "()":
            problems.append(f"{where}={value}: logging would import and call it")
        elif key == ".":
            names = ", ".join(map(str, value)) if isinstance(value, dict) else value
            problems.append(
                f"{_dotted(path, repr(key))}: logging would set these attributes ({names}) "
                f"on the object it made, past the checks of its settings (a handler's file "
                f"and mode); give the settings themselves (filename, mode, stream, level)"
            )
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
        elif key == "filename" and in_handler:
            if not _log_file_inside(value, job_name):
                problems.append(
                    f"{where}={value}: a log file must be inside the run directory "
                    f"({LOG_FILE_PREFIX}<name>.log; the name may use ${{hydra.job.name}})"
                )
        elif key == "mode" and in_handler and value != "a":
            problems.append(
                f"{where}={value}: log files are appended to (mode: a), never truncated"
            )
    return problems


def _log_file_inside(value: Any, job_name: Any) -> bool:
    """`${hydra.runtime.output_dir}/<name>`, a plain file name once the job's name and
    number are put in, as Hydra resolves it (`../victim` as the job's name is a path out of
    the run directory; a folder in the run directory would not exist yet)."""
    if not isinstance(value, str) or not value.startswith(LOG_FILE_PREFIX):
        return False
    plain = isinstance(job_name, str) and NAME_SEGMENT.match(job_name)
    name = job_name if plain else "job"  # a name that is not plain: `_job_problems`
    rest = LOG_FILE_NAME_PARTS.sub(
        lambda m: name if m.group(0).endswith("name}") else "0", value[len(LOG_FILE_PREFIX) :]
    )
    return bool(NAME_SEGMENT.match(rest))


def _env_problems(env_set: dict, env_copy: Any) -> list[str]:
    """Only RUN_ENV names. A name `hydra.job.env_copy` lists is exempt: Hydra sets it to the
    value it has in rlexp's own environment, whatever the config says."""
    if not isinstance(env_set, dict):
        return [f"hydra.job.env_set={env_set}: give the variables one by one (a mapping)"]
    copied = {str(n) for n in env_copy} if isinstance(env_copy, list) else set()
    refused = [str(n) for n in env_set if str(n) not in RUN_ENV and str(n) not in copied]
    allowed = f" (a config may set only {', '.join(sorted(RUN_ENV))})"
    return [
        f"hydra.job.env_set.{name}: a variable like this can make processes load code or "
        f"write files; set {name} in your shell if you mean it" + ("" if i else allowed)
        for i, name in enumerate(refused)
    ]


def _job_problems(job: dict) -> list[str]:
    """`hydra.job.name` names the run's log file (<run dir>/<name>.log): a plain name.
    `hydra.job.chdir`: rlexp runs in the directory it was started in."""
    problems = []
    name = job.get("name")
    if name not in (None, "???") and not (isinstance(name, str) and NAME_SEGMENT.match(name)):
        problems.append(
            f"hydra.job.name={name}: a job's name is a plain name (letters, digits, _ . -): "
            f"Hydra writes its log to <run dir>/<name>.log"
        )
    chdir = job.get("chdir")
    if chdir not in (None, False):
        problems.append(
            f"hydra.job.chdir={str(chdir).lower()}: rlexp runs in the directory it was "
            f"started in (its plugins are imported from there, a run's files are written by "
            f"path, and a sweep's training processes must not start in a job's folder); "
            f"leave it false"
        )
    separators = ((job.get("config") or {}).get("override_dirname") or {})
    for key in ("kv_sep", "item_sep"):
        value = separators.get(key)
        if value is not None and (not isinstance(value, str) or "/" in value or "${" in value):
            problems.append(
                f"hydra.job.config.override_dirname.{key}={value}: it joins the overrides "
                f"that name a sweep job's folder; a separator is text without '/'"
            )
    return problems


def _subdir_problems(subdir: Any) -> list[str]:
    """A sweep job's folder, `hydra.sweep.subdir`, is a relative path inside the sweep
    directory: its unresolved text holds no `..` segment, and interpolates only Hydra's job
    number, id, name (a plain name) and override_dirname (whose overrides are checked by
    `dirname_problems`), and the time."""
    if subdir is None:
        return []
    text = SUBDIR_PARTS.sub("x", subdir) if isinstance(subdir, str) else ""
    if text and "${" not in text and not text.startswith("/") and ".." not in text.split("/"):
        return []
    return [
        f"hydra.sweep.subdir={subdir}: a sweep job's folder is a relative path inside the "
        f"sweep directory (no '..', not absolute; it may use ${{hydra.job.num}} and "
        f"{OVERRIDE_DIRNAME}); leave it unset for <num>_<overrides>"
    ]


def dirname_problems(base: DictConfig, parsed: list) -> list[str]:
    """In a sweep whose job folders are named after their overrides (`hydra.sweep.subdir`
    uses `${hydra.job.override_dirname}`, as by default), an override in the name with a
    `..` path segment (`key=a/../..`, in any swept value) would put a job's folder outside
    the sweep directory. Not in the name: Hydra settings, the keys of
    `override_dirname.exclude_keys`, and (unless the command sets those keys itself) the
    values every job shares, which rlexp adds to them (`rlexp.sweeps.multirun`)."""
    from rlexp.sweeps.multirun import DIRNAME_EXCLUDE

    sweep = OmegaConf.to_container(base.hydra.sweep, resolve=False)
    if OVERRIDE_DIRNAME not in str(sweep.get("subdir")):
        return []
    excluded = OmegaConf.select(base, DIRNAME_EXCLUDE, default=None) or []
    own_excludes = any(o.key_or_group == DIRNAME_EXCLUDE for o in parsed)
    params = OmegaConf.select(base, "hydra.sweeper.params", default=None)
    params = OmegaConf.to_container(params, resolve=False) if OmegaConf.is_dict(params) else {}
    named = [(str(k), f"{k}={v}") for k, v in params.items()]
    named += [
        (o.key_or_group, o.input_line)
        for o in parsed
        if not o.is_hydra_override()
        and (own_excludes or o.is_sweep_override() or o.key_or_group == "seed")
    ]
    return [
        f"{text}: a sweep job's folder is named after its overrides (hydra.sweep.subdir "
        f"uses {OVERRIDE_DIRNAME}), and a path with '..' in one would put the folder "
        f"outside the sweep directory"
        for key, text in named
        if key not in excluded and ("/.." in text or "../" in text)
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


def _check_flags(args: Any) -> None:
    """Hydra's flags that read code or config from outside rlexp's tree."""
    if args.config_path is not None:
        raise TrustError(
            [
                f"--config-path {args.config_path}: rlexp's own config tree is the primary one; "
                f"add your configs with --config-dir <dir>"
            ]
        )
    if args.experimental_rerun is not None:
        raise TrustError(
            [
                f"--experimental-rerun {args.experimental_rerun}: Hydra would unpickle that "
                f"file, which can run any code; rerun a run with its command line (its "
                f"provenance.json), or go on with it: rlexp resume <run dir>"
            ]
        )


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

    from rlexp.composition import command_composer, config_dirs
    from rlexp.config_cycles import cycles_named

    args, _ = get_args_parser().parse_known_args(argv)
    _check_flags(args)
    overrides = list(args.overrides)
    parsed = OverridesParser.create().parse_overrides(overrides)
    problems = _override_problems(parsed)
    problems += _primary_config_problems(args.config_dir, args.config_name)
    if problems:
        raise TrustError(problems)
    if _only_rlexp_configs(args, parsed):
        return None  # nothing from outside rlexp's own config tree can reach `hydra`
    config_name = args.config_name or "config"
    with command_composer(args.config_dir) as hydra, cycles_named(config_dirs(argv)):
        base = _compose_base(hydra, config_name, overrides, parsed)
        problems = _config_problems(hydra, config_name, overrides, RunMode.MULTIRUN, base)
        failures: list[str] = []
        invalid: list[str] = []
        multirun = args.multirun or base.hydra.mode == RunMode.MULTIRUN
        if multirun:
            problems += dirname_problems(base, parsed)
        if multirun and not problems:
            invalid = _unswept_problems(base, parsed)
        if multirun and not problems and not invalid:
            problems, failures, invalid = _sweep_point_problems(hydra, config_name, base, parsed)
    if problems:
        raise TrustError(list(dict.fromkeys(problems)))
    if failures:
        raise SweepPointError(failures)
    if invalid:
        raise SweepPointError(invalid, "setting(s) make every sweep point invalid")
    return base


def _compose_base(hydra: Any, config_name: str, overrides: list[str], parsed: list) -> DictConfig:
    """The command's config with its sweep overrides left out (Hydra's MULTIRUN
    composition). A swept group (`agent=ppo,reinforce`) is then at its default option, which
    may lack a key the command sets under it (`agent.entropy_regularization=0.01`): if that
    is why the config cannot be composed, compose it without the values set under swept
    groups, which each sweep point checks against its own option (and which the sweep hands
    Hydra as `++key=value`: `rlexp.sweeps.multirun.prepare_argv`)."""
    from hydra.types import RunMode

    from rlexp.sweeps.multirun import values_under_swept_groups

    def compose(chosen: list[str]) -> DictConfig:
        return hydra.compose_config(
            config_name,
            chosen,
            run_mode=RunMode.MULTIRUN,
            with_log_configuration=False,
            validate_sweep_overrides=False,
        )

    try:
        return compose(overrides)
    except Exception as first:
        deferred = {o.input_line for o in values_under_swept_groups(parsed)}
        try:
            if deferred:
                return compose([o for o in overrides if o not in deferred])
        except Exception:  # noqa: BLE001 (not the swept groups' doing: Hydra's first error)
            pass
        raise first


# A sweep with more points than this says on stderr that it checks them (~0.15 s each).
NOTICE_POINTS = 100


def _unswept_problems(base: DictConfig, parsed: list) -> list[str]:
    """The validation problems of the base config (sweep values left out) that name no
    swept key: every sweep point has them, so the sweep is refused before its points are
    composed. None when a group option is swept: the base's default option is no point's."""
    from rlexp.validation import ConfigError, validate

    params = OmegaConf.select(base, "hydra.sweeper.params", default=None)
    swept = [str(k) for k in params] if OmegaConf.is_dict(params) else []
    swept += [o.key_or_group.lstrip("+~") for o in parsed if o.is_sweep_override()]
    groups = set(base.hydra.runtime.choices)
    if any(key in groups or "/" in key for key in swept):
        return []
    cfg = base.copy()
    with open_dict(cfg):
        settings = cfg.pop("hydra")
    try:
        validate(cfg, settings)
        return []
    except ConfigError as exc:
        names = [re.compile(rf"(?<![\w.]){re.escape(key)}(?!\w)") for key in swept]
        return [p for p in exc.problems if not any(name.search(p) for name in names)]


def _sweep_point_problems(
    hydra: Any, config_name: str, base: DictConfig, parsed: list
) -> tuple[list[str], list[str], list[str]]:
    """Compose every sweep point: the trust problems of their configs, the points that
    cannot be composed at all (each with Hydra's reason), and the validation problems every
    point shares (a setting no swept value fixes: every job would be skipped)."""
    from hydra.types import RunMode

    from rlexp.validation import ConfigError, validate

    problems: list[str] = []
    failures: list[tuple[str | None, str | None, str]] = []  # (key it lacks, option, text)
    shared: set[str] | None = None  # the validation problems of every point so far
    groups = set(base.hydra.runtime.choices)
    points = sweep_points(base, parsed)
    if len(points) > NOTICE_POINTS:
        print(f"rlexp: checking {len(points)} sweep points ...", file=sys.stderr, flush=True)
    for point in points:
        try:
            cfg = hydra.compose_config(
                config_name, point, run_mode=RunMode.RUN, with_log_configuration=False
            )
        except RecursionError:
            raise  # config files that include each other: `cycles_named` names them
        except Exception as exc:  # noqa: BLE001 (Hydra's composition errors vary)
            text = error_text(exc)
            named = any(text.startswith(f"{o}:") for o in point)  # the override it names
            key, option = _option_lacking(unknown_key_of(exc), point, groups) or (None, None)
            failures.append((key, option, text if named else f"{' '.join(point)}: {text}"))
            continue
        problems += hydra_problems(cfg)
        if any(_structural(o.split("=", 1)[0], groups) for o in point):
            defaults = hydra.config_loader.compute_defaults_list(config_name, point, RunMode.RUN)
            problems += choice_problems(defaults)
        with open_dict(cfg):
            settings = cfg.pop("hydra")  # a job validates its own config, Hydra's node aside
        try:
            validate(cfg, settings)
            found: set[str] = set()
        except ConfigError as exc:
            found = set(exc.problems)
        shared = found if shared is None else shared & found
    return problems, _named_options(failures, len(points)), sorted(shared or [])


def _option_lacking(key: str | None, point: list[str], groups: set[str]) -> tuple | None:
    """(`agent.num_atoms`, `agent=dqn`): the key a point's config lacks and the point's
    option of the group it belongs to, when the point chooses that option itself."""
    for override in point:
        group = override.split("=", 1)[0].lstrip("+~")
        if key is not None and group in groups and key.startswith(f"{group}."):
            return key, override.lstrip("+~")
    return None


def _named_options(failures: list[tuple[str | None, str | None, str]], points: int) -> list[str]:
    """Each point that cannot be composed, said: one whose option lacks a key that only
    some points' options lack names that option; a key every point lacks keeps Hydra's
    message, with the nearest valid key."""
    lacked = Counter(key for key, _, _ in failures if key is not None)
    return [
        text
        if key is None or lacked[key] == points
        else f"{key}: {option} has no such key; sweep only the options that have it"
        for key, option, text in failures
    ]


# Hydra settings a single run may set to a string that nothing reads as code: composing the
# config to check it would only cost a run ~0.3 s.
PLAIN_HYDRA_VALUES = ("hydra.run.dir",)


def _only_rlexp_configs(args: Any, parsed: list) -> bool:
    """A single run whose config comes only from rlexp's own tree (and Hydra's) plus value
    overrides: no --config-dir, no Hydra setting but its run directory, no sweep, no option
    placed elsewhere (`+logger@hydra.callbacks.x=...`). Its option names were checked."""
    if args.config_dir is not None or args.config_name is not None or args.multirun:
        return False
    return not any(
        o.is_sweep_override()
        or o.package is not None
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
            + "\n".join(f"  - {f}" for f in dict.fromkeys(failures))
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
    hydra = loaded.get("hydra") if isinstance(loaded, DictConfig) else None
    entries = (
        OmegaConf.to_container(hydra, resolve=False).get("searchpath")
        if isinstance(hydra, DictConfig)
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
