"""The `rlexp` command: `train` (the default, through Hydra), `list`, `eval` and `report`.

TensorFlow is imported only once a run starts, so `--help`, `list` and config errors
answer at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rlexp import registry
from rlexp.composition import config_dirs, plugin_modules, prepare_registry
from rlexp.options import option_node
from rlexp.tracking import provenance

USAGE = """\
usage: rlexp [train] [overrides...] [-m] [hydra flags]
       rlexp list [group]
       rlexp resume <run dir>
       rlexp eval <run dir | policy dir> [episodes=N] [seed=S] [video=true]
       rlexp report <sweep dir | run dirs...> [out=DIR]

Commands:
  train [overrides]   train one run (the default command); with -m, a sweep over every
                      combination of comma-separated values
  list [group]        registered components with their fields, defaults and docs
  resume <run dir>    continue a killed or interrupted run from its latest checkpoint,
                      exactly as if it had not stopped
  eval <dir> [...]    load a run's exported policy (no training code) and report the
                      mean and std of its return; video=true writes a GIF of one episode
  report <dirs> [...] compare the runs of a sweep: a table per configuration (seeds, mean
                      and 95% CI of final and best eval return, IQM, steps to solve, wall
                      time), learning curves, CSV and Markdown; no TensorFlow

Config groups (choose with group=option):
{groups}

Examples:
  rlexp train agent=ddqn agent.learning_rate=5e-4 seed=3
  rlexp train experiment=seed_notebook
  rlexp -m agent.gamma=0.95,0.99 repeat=3          a sweep: 2 configs x 3 seeds, in parallel
  rlexp -m hydra/sweeper=optuna_study repeat=2     an Optuna study (pip install rlexp[optuna])
  rlexp report outputs/multirun/<date>/<time>
  rlexp train --cfg job          print the composed config and exit

Runs land in outputs/<date>/<time>/, sweeps in outputs/multirun/<date>/<time>/<job>/.
View them with:
  tensorboard --logdir outputs --host 127.0.0.1
Hydra's own flags (--cfg, --info, -m, --multirun, -cd, ...): rlexp --hydra-help
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    provenance.set_command(["rlexp", *argv])
    try:
        registry.load_builtins()
        registry.load_plugins(plugin_modules(argv))
        if argv[:1] in (["-h"], ["--help"], ["help"]):
            print(USAGE.format(groups=_group_lines()))
            return 0
        if argv[:1] == ["list"]:
            return list_components(argv[1:])
        if argv[:1] == ["eval"]:
            return eval_policy(argv[1:])
        if argv[:1] == ["resume"]:
            return resume_run(argv[1:])
        if argv[:1] == ["report"]:
            from rlexp.sweeps.report import report_command

            return report_command(argv[1:])
        if argv[:1] == ["train"]:
            argv = argv[1:]
        prepare_registry(argv)
    except registry.RegistryError as exc:
        print(f"rlexp: error: {exc}", file=sys.stderr)
        return 2
    return _run_hydra(argv)


def _group_lines() -> str:
    lines = [f"  {g:<9} {', '.join(registry.names(g))}" for g in registry.CONFIG_GROUPS]
    lines.append("\nEnv wrappers (a list: 'env.wrappers=[{name: TimeLimit, duration: 200}]'):")
    lines += [f"  {g:<9} {', '.join(registry.names(g))}" for g in registry.PART_GROUPS]
    return "\n".join(lines)


def list_components(args: list[str]) -> int:
    """Print each registered component: name, doc, and its fields with preset values."""
    dirs = config_dirs(args)  # the user's own config dirs: their options' YAML files
    flags = ("--config-dir", "-cd")
    groups = [a for a in args if "=" not in a and a not in flags and Path(a) not in dirs]
    groups = groups or list(registry.GROUPS)
    unknown = [g for g in groups if g not in registry.GROUPS]
    if unknown:
        print(
            f"rlexp list: unknown group {unknown[0]!r}; groups are: {', '.join(registry.GROUPS)}",
            file=sys.stderr,
        )
        return 2
    for group in groups:
        print(f"{group}:")
        for component in registry.components(group):
            print(f"  {component.name:<14} {component.doc}")
            for key, value, type_name, doc in _fields(component, dirs):
                line = f"      {key}: {type_name} = {value}"
                print(f"{line:<58} {doc}" if doc else line)
        print()
    return 0


def eval_policy(args: list[str]) -> int:
    """`rlexp eval <dir> [episodes=N] [seed=S] [video=true]`."""
    from rlexp.policies.saved import PolicyLoadError, evaluate

    options = {"episodes": "10", "seed": "0", "video": "false"}
    paths = [a for a in args if "=" not in a]
    for arg in (a for a in args if "=" in a):
        key, value = arg.split("=", 1)
        if key not in options:
            print(
                f"rlexp eval: unknown option {key!r}; options: {', '.join(options)}",
                file=sys.stderr,
            )
            return 2
        options[key] = value
    if len(paths) != 1:
        print(
            "usage: rlexp eval <run dir | policy dir> [episodes=N] [seed=S] [video=true]",
            file=sys.stderr,
        )
        return 2
    try:
        episodes, seed = int(options["episodes"]), int(options["seed"])
        video = {"true": True, "false": False}[options["video"].lower()]
        if episodes < 1:
            raise ValueError
    except (ValueError, KeyError):
        print(
            f"rlexp eval: episodes must be an integer >= 1, seed an integer, video true or false "
            f"(got episodes={options['episodes']} seed={options['seed']} video={options['video']})",
            file=sys.stderr,
        )
        return 2
    try:
        report = evaluate(Path(paths[0]), episodes=episodes, seed=seed, video=video)
    except (PolicyLoadError, registry.RegistryError) as exc:
        print(f"rlexp eval: error: {exc}", file=sys.stderr)
        return 2
    print(f"return over {episodes} episodes: mean {report.mean:.2f}, std {report.std:.2f}")
    if report.video:
        print(f"video: {report.video}")
    return 0


def _fields(component: registry.Component, dirs: Sequence[Path] = ()):
    """(key, value, type, doc) of each field: the values a run selecting the option gets."""
    node = option_node(component.group, component.name, dirs)
    yield from _walk(component.schema, node, OmegaConf.to_container(node, resolve=False), "")


def _walk(schema: type, node: DictConfig, values: dict, prefix: str):
    import dataclasses

    from rlexp.schemas import field_doc

    for f in dataclasses.fields(schema):
        key, value = f"{prefix}{f.name}", values.get(f.name)
        if f.name == "name":
            continue
        sub_schema = OmegaConf.get_type(node, f.name)
        if dataclasses.is_dataclass(sub_schema):  # nested (epsilon_greedy) or another option's
            if "name" in value:  # composed from an option (agent.value_network)
                option = _sub_node_option(value["name"], sub_schema)
                yield key, option.name, option.group, f"a `{option.group}` option: {option.doc}"
            yield from _walk(sub_schema, node[f.name], value, f"{key}.")
            continue
        yield key, _fmt(value), _type_name(f.type), field_doc(f)


def _sub_node_option(name: str, schema: type) -> registry.Component:
    """The registered option a sub-node (an agent's second network) is composed from."""
    return next(c for c in registry.components() if c.name == name and c.schema is schema)


def _fmt(value) -> str:
    value = getattr(value, "value", value)  # Enum members show their value
    return "null" if value is None else str(value)


def _type_name(annotation) -> str:
    text = (
        annotation
        if isinstance(annotation, str)
        else getattr(annotation, "__name__", str(annotation))
    )
    return text.replace("typing.", "")


def _run_hydra(argv: list[str]) -> int:
    import hydra

    from rlexp.sweeps.multirun import RepeatError, prepare_argv

    @hydra.main(config_path=str(registry.CONF_DIR), config_name="config", version_base="1.3")
    def hydra_main(cfg: DictConfig) -> float | None:
        from rlexp.sweeps.job import is_multirun, run_sweep_job

        return run_sweep_job(cfg) if is_multirun() else run_job(cfg)

    problem = _output_dir_problem(argv)
    if problem:
        print(f"rlexp: error: {problem}", file=sys.stderr)
        return 2
    try:
        argv = prepare_argv(argv)
    except RepeatError as exc:
        print(f"rlexp: error: {exc}", file=sys.stderr)
        return 2
    saved = sys.argv
    sys.argv = [saved[0] if saved else "rlexp", *argv]
    try:
        hydra_main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved
    return 0


def _output_dir_problem(argv: list[str]) -> str | None:
    """Report an output directory that cannot be written before Hydra or training starts."""
    from rlexp.training.run_files import unwritable_reason

    key = "hydra.sweep.dir" if {"-m", "--multirun"} & set(argv) else "hydra.run.dir"
    value = next((a.split("=", 1)[1] for a in argv if a.startswith(f"{key}=")), "outputs")
    reason = unwritable_reason(value)
    if reason is None:
        return None
    return f"{key}={value}: {reason}; choose a writable directory with {key}=<dir>"


def run_job(cfg: DictConfig) -> float | None:
    """One Hydra job: validate, train into Hydra's output dir, print where the run is."""
    from hydra.core.hydra_config import HydraConfig

    from rlexp.validation import ConfigError, validate

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        validate(cfg)
    except ConfigError as exc:
        _discard_unstarted(run_dir)
        print(f"rlexp: error: {exc}", file=sys.stderr)
        sys.exit(2)

    from rlexp.context import BuildError
    from rlexp.training.trainer import TrainingError, train

    try:
        metrics = train(cfg, run_dir)
    except (TrainingError, BuildError) as exc:
        print(f"rlexp: training failed: {exc}\nrun directory: {run_dir}", file=sys.stderr)
        sys.exit(1)
    _print_summary(metrics, run_dir)
    return metrics["final_eval_return"]


def resume_run(args: list[str]) -> int:
    """`rlexp resume <run dir> [overrides]`: continue from the latest checkpoint."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rlexp.training.checkpoints import CheckpointError
    from rlexp.training.resume import ResumeError, config_for_resume, is_completed, saved_overrides
    from rlexp.validation import ConfigError

    paths = [a for a in args if "=" not in a]
    if len(paths) != 1:
        print("usage: rlexp resume <run dir> [overrides]", file=sys.stderr)
        return 2
    run_dir = Path(paths[0])
    try:
        cfg = config_for_resume(run_dir, [a for a in args if "=" in a])
    except (ResumeError, ConfigError, HydraException, OmegaConfBaseException) as exc:
        print(f"rlexp resume: error: {exc}", file=sys.stderr)
        return 2
    if is_completed(run_dir):
        print(f"{run_dir} has already completed; nothing to resume")
        return 0

    from rlexp.training.trainer import TrainingError, train

    try:
        metrics = train(cfg, run_dir, resume=True)
    except CheckpointError as exc:
        fresh = " ".join(["rlexp train", *saved_overrides(run_dir)])
        print(
            f"rlexp resume: error: {exc}\nThe run directory is left as it is. "
            f"To start this run afresh in a new directory: {fresh}",
            file=sys.stderr,
        )
        return 2
    except TrainingError as exc:
        print(f"rlexp: training failed: {exc}\nrun directory: {run_dir}", file=sys.stderr)
        return 1
    _print_summary(metrics, run_dir)
    return 0


def _print_summary(metrics: dict, run_dir: Path) -> None:
    final, best = metrics["final_eval_return"], metrics["best_eval_return"]
    print(f"final eval return: {final:.2f} (best {best:.2f})")
    print(f"run directory: {run_dir}")
    print(f"view it: tensorboard --logdir {run_dir} --host 127.0.0.1")


def _discard_unstarted(run_dir: Path) -> None:
    """Remove a run dir that holds only Hydra's own files, so it never looks like a run."""
    import shutil

    if not run_dir.is_dir():
        return
    hydra_only = all(p.name == ".hydra" or p.suffix == ".log" for p in run_dir.iterdir())
    if hydra_only:
        shutil.rmtree(run_dir)


if __name__ == "__main__":
    sys.exit(main())
