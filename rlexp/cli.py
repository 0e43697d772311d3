"""The `rlexp` command: `train` (the default, through Hydra), `list`, `eval` and `report`.

TensorFlow is imported only once a run starts, so `--help`, `list` and config errors
answer at once; the registry, Hydra and OmegaConf are imported by the commands that use
them, so that `report` (which reads run directories only) imports none of them.
"""

from __future__ import annotations

import atexit
import contextlib
import difflib
import io
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from omegaconf import DictConfig

USAGE = """\
usage: rlexp [train] [overrides...] [-m] [hydra flags]
       rlexp --version
       rlexp list [--format text|markdown] [group]
       rlexp resume <run dir | sweep dir> [overrides...] [--config-dir DIR]
       rlexp eval <run dir | policy dir> [episodes=N] [seed=S] [video=true] [policy=best|final]
       rlexp report <sweep dir | run dirs...> [metric=KEY] [x=AXIS] [format=png|svg] [out=DIR]
       rlexp help [command]

Commands:
  train [overrides]   train one run (the default command); with -m, a sweep over every
                      combination of comma-separated values
  list [group]        the options of each group with their fields, defaults and docs;
                      `list experiment`: the presets; `list train`: the top-level keys
  resume <run dir>    continue a killed or interrupted run from its latest checkpoint,
                      exactly as if it had not stopped (with the config directories it
                      was composed with, or --config-dir DIR where they moved); given a
                      sweep directory, finish the sweep in its folders: completed runs
                      are kept, stopped ones resumed, the ones never started trained
  eval <dir> [...]    load a run's exported policy (no training code) and report the
                      mean and std of its return: policy=best (default: the policy of its
                      best evaluation, policy_best/) or policy=final (policy/);
                      video=true writes a GIF of one episode
  report <dirs> [...] compare the runs of a sweep: a table per configuration (seeds, mean
                      and 95% CI of final and best eval return, IQM, steps to solve, wall
                      time), learning curves, CSV and Markdown; no TensorFlow. Options:
                      metric=<result> (default final_eval_return): higher is better
                      for final_eval_return, best_eval_return; lower for
                      solved_at_env_steps, solved_at_wall_time_s (a run that never
                      solved counts as inf), train_wall_time_s, wall_time_s;
                      x=env_steps|train_wall_time_s (the curves' axis), format=png|svg,
                      out=DIR (default: report/ in the one directory given, else ./report)
  help [command]      this text, or one command's (as rlexp <command> --help)

Config groups (choose with group=option):
{groups}

Experiments (whole recipes: experiment=<preset>; rlexp list experiment):
{presets}

Examples:
  rlexp train agent=ddqn agent.learning_rate=5e-4 seed=3
  rlexp train experiment=seed_notebook
  rlexp -m agent.gamma=0.95,0.99 repeat=3          a sweep: 2 configs x 3 seeds, in parallel
  rlexp -m hydra/sweeper=optuna_study repeat=2     an Optuna study (pip install rlexp[optuna])
  rlexp report outputs/multirun/<date>/<time>
  rlexp train --cfg job          print the composed config (unchecked) and exit

Runs land in outputs/<date>/<time>/, sweeps in outputs/multirun/<date>/<time>/<job>/.
View them with:
  tensorboard --logdir outputs --host 127.0.0.1
Errors are one-line messages; rlexp --debug ... (or HYDRA_FULL_ERROR=1) shows tracebacks.
Hydra's own flags (--cfg, --info, -m, --multirun, -cd, ...): rlexp --hydra-help
"""


def main(argv: list[str] | None = None) -> int:
    global _DEBUG
    argv = list(sys.argv[1:] if argv is None else argv)
    _DEBUG = "--debug" in argv or os.environ.get("HYDRA_FULL_ERROR") == "1"
    argv = [a for a in argv if a != "--debug"]
    try:
        return _main(argv)
    except BrokenPipeError:  # `rlexp --help | head -1`: the reader left
        if debug():
            raise
        _silence_stdout()
        return 141  # as if killed by SIGPIPE, like other command-line tools


def entry_point() -> NoReturn:
    """The `rlexp` console command: `main()`, then exit with its code.

    A process that imported TensorFlow skips the interpreter's teardown of its modules
    (~1 s, a seventh of a default run's process) once the atexit handlers have run and the
    output is flushed: a run's files are all written and closed before `main` returns.
    A non-daemon thread still running gets the ordinary exit, which waits for it; daemon
    threads (an env's thread pool) it would not wait for, and their teardown can fail."""
    code = main()
    main_thread = threading.main_thread()
    waited_for = [t for t in threading.enumerate() if t is not main_thread and not t.daemon]
    if "tensorflow" in sys.modules and not waited_for:
        from rlexp import stop_signals

        atexit._run_exitfuncs()
        logging.shutdown()
        stop_signals.exit_now(code)
    sys.exit(code)


_DEBUG = False


def debug() -> bool:
    """Tracebacks wanted: `rlexp --debug ...` or HYDRA_FULL_ERROR=1 when rlexp started."""
    return _DEBUG


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _main(argv: list[str]) -> int:
    if argv[:1] == ["help"] and argv[1:2] and argv[1] not in (*COMMANDS, "-h", "--help"):
        print(_unknown_command_text(argv[1]), file=sys.stderr)
        return 2
    asked = _help_asked(argv)
    if asked == "train":
        argv = ["train", "--help"]  # Hydra's help, with rlexp's groups and options
    elif asked:
        print(command_help(asked))
        return 0
    if argv[:1] == ["report"]:  # reads run directories only: no components, no plugins,
        from rlexp.sweeps.report import report_command  # not even the registry (speed)

        return report_command(argv[1:])
    from rlexp.tracking import provenance

    provenance.set_command(["rlexp", *argv])
    try:
        return _command(argv)
    except KeyboardInterrupt as exc:
        return _aborted(exc, argv[0] if argv else "train")


def _aborted(exc: KeyboardInterrupt, command: str) -> int:
    """Ctrl-C that no run handled cleanly: in `rlexp eval` (which writes nothing until its
    episodes end), the second one in a run (the trainer marked it failed and says how to
    continue it), or one before any run began (a run directory this command created for
    it is removed: nothing to resume)."""
    if command == "eval":
        print("\nrlexp eval: stopped by Ctrl-C before it reported a result", file=sys.stderr)
        return 130
    trainer = sys.modules.get("rlexp.training.trainer")
    if trainer is not None and isinstance(exc, trainer.Aborted):
        print(f"\nrlexp: {exc}", file=sys.stderr)
        return 130
    removed = _discard_unstarted_runs()
    gone = f"; removed {', '.join(map(str, removed))}" if removed else ""
    print(
        f"\nrlexp: stopped by Ctrl-C before any run began{gone} (nothing to resume)",
        file=sys.stderr,
    )
    return 130


def _discard_unstarted_runs() -> list[Path]:
    """Remove the run directories this command claimed whose run never began; the ones
    removed."""
    claim = sys.modules.get("rlexp.training.claim")  # not imported: nothing was claimed
    return claim.discard_unstarted_runs() if claim else []


def _command(argv: list[str]) -> int:
    import yaml
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rlexp import registry
    from rlexp.composition import ConfigDirError, hydra_flags_first, prepare_registry
    from rlexp.env_vars import EnvVarError, expand_env_vars
    from rlexp.trust import SweepPointError, TrustError, check_command

    refused = (registry.RegistryError, TrustError, SweepPointError, EnvVarError, ConfigDirError)
    try:
        if {"--version", "-V"} & set(argv[:2]):  # rlexp's version, not Hydra's
            print(_version_line())
            return 0
        registry.load_builtins()
        if not _plugins_named(argv):
            return 0
        if argv[:1] in (["-h"], ["--help"], ["help"]):
            print(USAGE.format(groups=_group_lines(), presets=_preset_lines()))
            sys.stdout.flush()
            return 0
        if argv and _is_unknown_command(argv[0]):
            print(_unknown_command_text(argv[0]), file=sys.stderr)
            return 2
        if argv[:1] == ["list"]:
            return list_components(argv[1:])
        if argv[:1] == ["eval"]:
            return eval_policy(argv[1:])
        if argv[:1] == ["resume"]:
            return resume_run(argv[1:])
        problem = _misplaced_command(argv)
        if problem:
            print(f"rlexp: error: {problem}", file=sys.stderr)
            return 2
        if argv[:1] == ["train"]:
            argv = argv[1:]
        argv = expand_env_vars(hydra_flags_first(argv))
        prepare_registry(argv)
        base = check_command(argv)
    except refused as exc:
        if debug():
            raise
        print(f"rlexp: error: {exc}", file=sys.stderr)
        return 2
    except (HydraException, OmegaConfBaseException, yaml.YAMLError) as exc:
        if debug():
            raise
        from rlexp.override_errors import error_text

        print(f"rlexp: error: {error_text(exc)}", file=sys.stderr)
        return 2
    return _stoppable(lambda: _run_hydra(argv, base))


def _plugins_named(argv: list[str]) -> bool:
    """Import the plugins the command names, its `--config-dir` flags checked first; False
    when one failed and the command, which asked for no help, got the train help instead
    (Hydra's help composes with every plugin)."""
    from rlexp.composition import check_config_dir_flags

    if argv[:1] in (["eval"], ["resume"], ["report"]):  # they name no plugins here
        return True
    if argv[:1] != ["list"] and _misplaced_command(argv) is None:  # those say more
        check_config_dir_flags(argv)
    if _load_plugins(argv) or argv[:1] in (["-h"], ["--help"], ["help"]):
        return True
    print(command_help("train").lstrip("\n"))
    return False


def _load_plugins(argv: list[str]) -> bool:
    """Import the plugins `argv` names and the installed entry points; False when one
    failed for a command that asks for help, which is still given (the failure is a
    warning, its components are left out). Other commands get the error."""
    from rlexp import registry
    from rlexp.composition import plugin_modules

    try:
        registry.load_plugins(plugin_modules(argv))
    except registry.RegistryError as exc:
        if not ({"-h", "--help"} & set(argv) or argv[:1] == ["help"]) or debug():
            raise
        print(f"rlexp: warning: {exc}\n(the help below leaves its components out)", file=sys.stderr)
        return False
    return True


def _stoppable(command: Callable[[], int]) -> int:
    """Run `command` with stop signals recorded until a run or sweep takes them
    (`rlexp.stop_signals`); one nothing took ends the process as that signal would."""
    from rlexp import stop_signals

    with stop_signals.recorded():
        code = command()
        untaken = stop_signals.take_early()
    return 128 + untaken if untaken is not None and code == 0 else code


def _version_line() -> str:
    """rlexp's version and its stack's, from the installed packages (no import)."""
    from importlib.metadata import PackageNotFoundError, version

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    stack = ", ".join(f"{p} {of(p)}" for p in ("tensorflow", "tf-agents", "hydra-core"))
    return f"rlexp {of('rlexp')} ({stack}; Python {sys.version.split()[0]})"


def _group_lines() -> str:
    from rlexp import registry

    lines = [f"  {g:<9} {', '.join(registry.names(g))}" for g in registry.CONFIG_GROUPS]
    from rlexp.loggers.schemas import LOGGER_SCHEMAS

    lines.append(f"  {'logger':<9} {', '.join(LOGGER_SCHEMAS)}")
    lines.append("\nEnv wrappers (a list: 'env.wrappers=[{name: TimeLimit, duration: 200}]'):")
    lines += [f"  {g:<9} {', '.join(registry.names(g))}" for g in registry.PART_GROUPS]
    return "\n".join(lines)


COMMANDS = ("train", "list", "resume", "eval", "report", "help")


def _help_asked(argv: list[str]) -> str | None:
    """The command whose help `rlexp <command> -h|--help` or `rlexp help <command>` asks
    for (None: another request)."""
    if argv[:1] == ["help"] and argv[1:2] and argv[1] in COMMANDS:
        return argv[1]
    if argv[1:2] in (["-h"], ["--help"]) and argv[0] in ("list", "resume", "eval", "report"):
        return argv[0]
    return None


def command_help(name: str) -> str:
    """One command's usage line(s) and its paragraph of `USAGE`."""
    usage, commands = USAGE.split("\n\n")[:2]
    forms = (line.strip().removeprefix("usage:").strip() for line in usage.splitlines())
    lines = [f"usage: {form}" for form in forms if form.startswith(f"rlexp {name} ")]
    paragraph = commands.splitlines()[1:]
    start = next(i for i, line in enumerate(paragraph) if line.startswith(f"  {name} "))
    end = next(
        (i for i in range(start + 1, len(paragraph)) if not paragraph[i].startswith("   ")),
        len(paragraph),
    )
    return "\n".join([*lines, "", *paragraph[start:end], "", "All commands: rlexp --help"])


def _usage_line(name: str) -> str:
    """`usage: rlexp <name> ...`, printed with an error about the command's arguments."""
    return command_help(name).splitlines()[0]


def _is_unknown_command(word: str) -> bool:
    """A bare first word that is no command, no override (`k=v`, `~k`) and no flag."""
    return (
        word not in COMMANDS
        and "=" not in word
        and not word.startswith(("-", "~", "+"))
        and bool(word.strip())
    )


def _misplaced_command(argv: list[str]) -> str | None:
    """Why a command word after the first argument (`rlexp -m train ...`, `rlexp
    --config-dir conf list`) is refused: Hydra would take it for a malformed override. A
    word that is the value of a Hydra flag (`--config-dir list`) is no command."""
    import shlex

    from hydra._internal.utils import get_args_parser

    actions = get_args_parser()._option_string_actions
    for i, word in enumerate(argv[1:], start=1):
        flag = actions.get(argv[i - 1])
        if word not in COMMANDS or (flag is not None and flag.nargs in (None, "?")):
            continue
        if argv[0] in COMMANDS:
            return (
                f"{word!r} is a command, and so is {argv[0]!r}: give one command, as the first "
                f"word (rlexp --help)"
            )
        before, after = argv[:i], argv[i + 1 :]
        rest = [*after, *before] if word in ("resume", "eval") else [*before, *after]
        fixed = shlex.join(["rlexp", word, *rest])  # resume and eval: the directory first
        return f"{word!r} is a command: put it first, as in: {fixed}"
    return None


def _unknown_command_text(word: str) -> str:
    close = difflib.get_close_matches(word, COMMANDS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"rlexp: unknown command {word!r}{hint}\n"
        f"Commands: {', '.join(COMMANDS)} (overrides are key=value; rlexp --help)"
    )


def _preset_lines() -> str:
    from rlexp.listing import presets

    return _wrapped(", ".join(presets()), "  ")


def _wrapped(text: str, indent: str) -> str:
    import textwrap

    return textwrap.fill(text, width=88, initial_indent=indent, subsequent_indent=indent)


def list_components(args: list[str]) -> int:
    """`rlexp list [--format text|markdown] [group]`: options, presets and top-level keys."""
    from rlexp.composition import (
        ConfigDirError,
        check_config_dir_flags,
        config_dirs,
        refuse_shadowed,
    )
    from rlexp.listing import ListError, list_command

    try:
        check_config_dir_flags(args)
        refuse_shadowed(config_dirs(args))  # as train does: Hydra never reads such a file
        print(list_command(args, config_dirs(args)), end="")
    except (ListError, ConfigDirError) as exc:
        print(f"rlexp list: {exc}\n{_usage_line('list')}", file=sys.stderr)
        return 2
    return 0


def eval_policy(args: list[str]) -> int:
    """`rlexp eval <dir> [episodes=N] [seed=S] [video=true] [policy=best|final]`: the first
    argument is the directory (it may hold `=`, as every sweep job folder does)."""
    from rlexp import registry
    from rlexp.arguments import given_twice
    from rlexp.context import BuildError
    from rlexp.policies.saved import PolicyLoadError, evaluate

    if not args:
        print(_usage_line("eval"), file=sys.stderr)
        return 2
    path = Path(args[0])
    options = {"episodes": "10", "seed": "0", "video": "false", "policy": "best"}
    given: set[str] = set()
    for arg in args[1:]:
        key, eq, value = arg.partition("=")
        if not eq or key not in options:
            print(
                f"rlexp eval: unknown option {arg!r}; options: {', '.join(options)} "
                f"(the directory comes first)\n{_usage_line('eval')}",
                file=sys.stderr,
            )
            return 2
        if key in given:
            print(f"rlexp eval: error: {given_twice(key, options[key], value)}", file=sys.stderr)
            return 2
        options[key] = value
        given.add(key)
    try:
        episodes, seed, video = _eval_options(options)
    except ValueError as exc:
        print(f"rlexp eval: error: {exc}", file=sys.stderr)
        return 2
    try:
        which = options["policy"] if "policy" in given else None  # None: the path decides
        report = evaluate(path, episodes=episodes, seed=seed, video=video, which=which)
    except (PolicyLoadError, registry.RegistryError, BuildError) as exc:
        if debug():
            raise
        print(f"rlexp eval: error: {exc}", file=sys.stderr)
        return 2
    print(f"policy: {report.policy_dir}")
    noun = "episode" if episodes == 1 else "episodes"
    print(f"return over {episodes} {noun}: mean {report.mean:.2f}, std {report.std:.2f}")
    if report.video:
        print(f"video: {report.video}")
    return 0


def _eval_options(options: dict[str, str]) -> tuple[int, int, bool]:
    """episodes, seed and video, checked against the same bounds as training's."""
    from rlexp.bounds import value_problem
    from rlexp.schemas import RlexpConfig, TrainConfig

    problems = []
    values = {}
    for key, schema, field in (
        ("episodes", TrainConfig, "eval_episodes"),
        ("seed", RlexpConfig, "seed"),
    ):
        try:
            values[key] = int(options[key])
        except ValueError:
            problems.append(f"{key}={options[key]}: must be an integer")
            continue
        problem = value_problem(schema, field, values[key])
        if problem:
            problems.append(f"{key}={options[key]}: {problem}")
    video = {"true": True, "false": False}.get(options["video"].lower())
    if video is None:
        problems.append(f"video={options['video']}: must be true or false")
    if options["policy"] not in ("best", "final"):
        problems.append(f"policy={options['policy']}: must be best or final")
    if problems:
        raise ValueError("; ".join(problems))
    return values["episodes"], values["seed"], bool(video)


def _run_hydra(argv: list[str], base: DictConfig | None = None) -> int:
    import hydra

    from rlexp import registry
    from rlexp.sweeps import signals as sweep_signals
    from rlexp.sweeps.multirun import SweepArgumentError, prepare_argv

    @hydra.main(config_path=str(registry.CONF_DIR), config_name="config", version_base="1.3")
    def hydra_main(cfg: DictConfig) -> float | None:
        from hydra.core.hydra_config import HydraConfig

        from rlexp.env_vars import record_env_values
        from rlexp.sweeps.job import is_multirun, run_sweep_job
        from rlexp.training.job import run_job

        # The run trains with, and its .hydra/config.yaml records, the values of the
        # environment variables its presets and options read.
        record_env_values(cfg, Path(HydraConfig.get().runtime.output_dir))
        return run_sweep_job(cfg) if is_multirun() else run_job(cfg)

    problem = _config_name_problem(argv) or _output_dir_problem(argv, base)
    if problem:
        print(f"rlexp: error: {problem}", file=sys.stderr)
        return 2
    try:
        argv = prepare_argv(argv)
    except SweepArgumentError as exc:
        print(f"rlexp: error: {exc}", file=sys.stderr)
        return 2
    saved = sys.argv
    sys.argv = [saved[0] if saved else "rlexp", *argv]
    full_error = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises; rlexp reports it (below)
    reason = None
    try:
        with _mode_known(base):
            hydra_main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except sweep_signals.SweepStopped:  # a sequential launcher's loop ended by a stop
        from rlexp.sweeps.callbacks import end_stopped_sweeps

        end_stopped_sweeps()
    except Exception as exc:
        removed = _discard_unstarted_runs()  # Hydra failed before the run began
        if debug():
            raise
        code, reason = _hydra_failure(exc, removed)
        return code
    finally:
        sys.argv = saved
        _restore_env("HYDRA_FULL_ERROR", full_error)
        _close_unfinished_sweeps(reason)
    stopped_by = sweep_signals.take_received()
    if stopped_by is not None:
        return 128 + stopped_by
    return 1 if _fruitless_sweeps() else 0


def _hydra_failure(exc: Exception, removed: list[Path]) -> tuple[int, str | None]:
    """What Hydra's `exc` ends the command with, said on stderr: the exit code, and the
    reason a sweep it cut short is stamped `aborted` with (None: an input error).
    `removed`: the run directories discarded because their run never began."""
    from rlexp.override_errors import error_text, is_input_error
    from rlexp.sweeps import signals as sweep_signals

    if is_input_error(exc):  # Hydra composes a single run's config here
        print(f"rlexp: error: {error_text(exc)}", file=sys.stderr)
        return 2, None
    if removed:  # a start that failed (Hydra writing the run's files): nothing to resume
        print(f"rlexp: error: {_unstarted_text(exc, removed)}", file=sys.stderr)
        return 2, None
    reason = f"{type(exc).__name__}: {error_text(exc)}"
    stopped_by = sweep_signals.take_received()
    if stopped_by is not None:  # what the stop cut short, not why the command failed
        print(f"rlexp: the stopped sweep ended with {reason}", file=sys.stderr)
        return 128 + stopped_by, reason
    if "optuna" in sys.modules and str(exc) == "Record does not exist.":
        reason = (  # the Optuna sweeper asks its study for the best of no trials
            "no trial of the Optuna study completed (each one's failure is above), so it "
            "has no best parameters"
        )
    print(f"rlexp: error: {reason}\n(rlexp --debug ... shows the traceback)", file=sys.stderr)
    return 1, reason


def _unstarted_text(exc: Exception, removed: list[Path]) -> str:
    """Why the run never began, and that its directories were removed."""

    from rlexp.override_errors import error_text
    from rlexp.rundir import free_space_hint, no_space_left

    where = ", ".join(map(str, removed))
    gone = f"removed {where}, which held nothing of the run yet"
    if no_space_left(exc):
        return (
            f"no space left on device while writing the run directory {where}; {gone}. "
            f"{free_space_hint(removed[0])}, then try again"
        )
    return f"{type(exc).__name__}: {error_text(exc)} while starting the run in {where}; {gone}"


@contextlib.contextmanager
def _mode_known(base: DictConfig | None) -> Iterator[None]:
    """Hydra composes the whole config once more only to read `hydra.mode` (`get_mode`,
    ~0.15 s). The trust check read it from the config it composed (`base`), or, composing
    none, knows it unset: the config is rlexp's own, and none of rlexp's configs sets it."""
    from hydra._internal.hydra import Hydra

    mode = None if base is None else base.hydra.mode
    get_mode = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: mode
    try:
        yield
    finally:
        Hydra.get_mode = get_mode


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _fruitless_sweeps() -> list[Path]:
    """Sweeps that just ended with no run completed, said on stderr: the command fails."""
    callbacks = sys.modules.get("rlexp.sweeps.callbacks")  # imported only by a sweep
    fruitless = callbacks.take_fruitless() if callbacks is not None else []
    for sweep_dir in fruitless:
        print(f"rlexp: no run of the sweep {sweep_dir} completed", file=sys.stderr)
    return fruitless


def _close_unfinished_sweeps(reason: str | None) -> None:
    """A sweep whose launcher raised is stamped `aborted`, never left `running`."""
    callbacks = sys.modules.get("rlexp.sweeps.callbacks")  # imported only by a sweep
    if callbacks is not None:
        callbacks.close_unfinished(*([reason] if reason else []))


def _config_name_problem(argv: list[str]) -> str | None:
    """Why `--config-name` (Hydra's flag, short `-cn`) is refused: every run is composed
    from rlexp's own primary config, as `rlexp resume` recomposes it; a user's settings go
    in an experiment preset."""
    from hydra._internal.utils import get_args_parser

    args = get_args_parser().parse_known_args(argv)[0]
    name, where = args.config_name, args.config_dir or "<your config dir>"
    if name is None or name.removesuffix(".yaml") == "config":
        return None
    name = name.removesuffix(".yaml")
    return (
        f"--config-name {name}: rlexp composes every run from its own primary config "
        f"(rlexp/conf/config.yaml), as `rlexp resume` recomposes it. Make {name}.yaml an "
        f"experiment preset instead: move it to {where}/experiment/{name}.yaml, start it "
        f"with the line `# @package _global_`, drop `config` from its defaults, and run: "
        f"rlexp train --config-dir {where} experiment={name} "
        f"(docs/how-to/user-project.md)"
    )


def _output_dir_problem(argv: list[str], base: DictConfig | None = None) -> str | None:
    """Report an output directory that cannot be written before Hydra or training starts,
    or one given under the key the mode ignores (`hydra.run.dir` with -m).

    The directory is the composed config's (`base`, whatever set it: `hydra.run.dir=`,
    `++hydra.run.dir=`, a preset), else the command line's."""
    from omegaconf import OmegaConf

    from rlexp.rundir import unwritable_reason

    multirun = {"-m", "--multirun"} & set(argv) or (
        base is not None and str(OmegaConf.select(base, "hydra.mode")) == "RunMode.MULTIRUN"
    )
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    other = "hydra.run.dir" if multirun else "hydra.sweep.dir"
    ignored = next((a for a in argv if a.lstrip("+").startswith(f"{other}=")), None)
    if ignored is not None:
        what = "a sweep (-m) writes" if multirun else "a single run (without -m) writes"
        return (
            f"{ignored}: {what} to {key}, and Hydra would ignore {other}; give "
            f"{key}=<dir> instead"
        )
    value = None
    if base is not None:
        value = OmegaConf.to_container(base.hydra, resolve=False)[key.split(".")[1]]["dir"]
    if value is None:
        prefixes = (f"{key}=", f"+{key}=", f"++{key}=")
        value = next((a.split("=", 1)[1] for a in argv if a.startswith(prefixes)), "outputs")
    value = str(value)
    if not value.strip():
        return (
            f"{key} is empty (an unset shell variable?): it would put the run in the current "
            f"directory; give a directory with {key}=<dir>, or leave {key} unset for a fresh "
            f"timestamped one"
        )
    reason = unwritable_reason(value)
    if reason is None:
        return None
    return f"{key}={value}: {reason}; choose a writable directory with {key}=<dir>"


def resume_run(args: list[str]) -> int:
    """`rlexp resume <run dir> [overrides]`: continue from the latest checkpoint."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rlexp.composition import split_config_dir_flags
    from rlexp.env_vars import EnvVarError, expand_env_vars
    from rlexp.rundir import SWEEP_FILE
    from rlexp.training.checkpoints import CheckpointError
    from rlexp.training.resume import ResumeError, config_for_resume, fresh_command, is_completed
    from rlexp.validation import ConfigError

    if not args:  # the directory comes first (it may hold `=`); overrides follow
        print(_usage_line("resume"), file=sys.stderr)
        return 2
    run_dir = Path(args[0])
    dirs, overrides = split_config_dir_flags(args[1:])
    if (run_dir / SWEEP_FILE).is_file():
        return _resume_sweep(run_dir, dirs, overrides)
    if not overrides and is_completed(run_dir):  # before the recomposition imports plugins
        print(f"{run_dir} has already completed; nothing to resume")
        return 0
    try:
        cfg = config_for_resume(run_dir, expand_env_vars(overrides), dirs)
    except (ResumeError, ConfigError, EnvVarError, HydraException, OmegaConfBaseException) as exc:
        from rlexp.override_errors import error_text

        if debug():
            raise
        ours = isinstance(exc, ResumeError | ConfigError | EnvVarError)  # a diff, a list
        print(f"rlexp resume: error: {exc if ours else error_text(exc)}", file=sys.stderr)
        return 2
    if is_completed(run_dir):  # overrides that left the config as it was
        print(f"{run_dir} has already completed; nothing to resume")
        return 0
    problem = _resume_write_problem(run_dir)
    if problem:
        print(f"rlexp resume: error: {problem}", file=sys.stderr)
        return 2

    from rlexp.sweeps.job import record_resumed_run
    from rlexp.training.job import train_and_report

    def go_on() -> int:
        train_and_report(cfg, run_dir, resume=True)  # exits on a stop or failure
        record_resumed_run(run_dir, cfg)  # a sweep's run: its job.json, HParams session
        return 0

    try:
        return _stoppable(go_on)
    except CheckpointError as exc:
        print(
            f"rlexp resume: error: {exc}\nNo checkpoint or result was changed. "
            f"To start this run afresh in a new directory: {fresh_command(run_dir, dirs)}",
            file=sys.stderr,
        )
        return 2


def _resume_sweep(sweep_dir: Path, config_dirs: list[Path], overrides: list[str]) -> int:
    """`rlexp resume <sweep dir>`: launch the sweep again, each job going on in its folder."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rlexp.sweeps.resume import NothingToResume, SweepResumeError, launching, sweep_argv
    from rlexp.validation import ConfigError

    if overrides:
        print(
            f"rlexp resume: error: a sweep resumes with the settings it was launched with; "
            f"it takes no overrides ({' '.join(overrides)}), only --config-dir DIR",
            file=sys.stderr,
        )
        return 2
    try:
        argv, invocation = sweep_argv(sweep_dir, config_dirs)
    except NothingToResume as exc:
        print(f"{exc}; nothing to resume")
        return 0
    except (SweepResumeError, ConfigError, HydraException, OmegaConfBaseException) as exc:
        from rlexp.override_errors import error_text

        if debug():
            raise
        ours = isinstance(exc, SweepResumeError | ConfigError)
        print(f"rlexp resume: error: {exc if ours else error_text(exc)}", file=sys.stderr)
        return 2
    with launching(invocation):
        return _command(argv)


def _resume_write_problem(run_dir: Path) -> str | None:
    """Why a resume could not write the run directory or its checkpoints/, before it starts."""
    import shlex

    from rlexp.rundir import CHECKPOINT_DIR, unwritable_reason

    folders = [run_dir, run_dir / CHECKPOINT_DIR]
    reason = next(
        (r for r in (unwritable_reason(str(f)) for f in folders if f.is_dir()) if r), None
    )
    if reason is None:
        return None
    return (
        f"cannot resume {run_dir}: {reason}. Resuming writes checkpoints, metrics.json and "
        f"event files into the run directory; nothing was changed. Make it writable, or "
        f"copy it and resume the copy (cp -a {shlex.quote(str(run_dir))} NEW_DIR && rlexp "
        f"resume NEW_DIR)"
    )


if __name__ == "__main__":
    sys.exit(main())
