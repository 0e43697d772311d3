"""`rlexp --help`, `rlexp list` and Hydra's own flags: fast, no TensorFlow, every option shown."""

from __future__ import annotations

import re
import textwrap

import pytest
from conftest import ROOT

from rlexp import registry

registry.load_builtins()
REGISTERED = [(c.group, c.name) for c in registry.components()]

NO_TF_MAIN = textwrap.dedent(
    """
    import sys

    from rlexp.cli import main

    code = main({argv!r})
    assert code == 0, f"exit code {{code}}"
    assert "tensorflow" not in sys.modules, "tensorflow was imported"
    """
)


def listed_options(listing: str) -> set[tuple[str, str]]:
    """(group, name) pairs of `rlexp list` output: `<group>:` headings, `  <name>  doc` lines;
    the registry's groups only."""
    pairs, group = set(), None
    for line in listing.splitlines():
        if heading := re.fullmatch(r"(\w+):", line):
            group = heading[1]
        elif option := re.match(r"^  (\S+)\s", line):
            pairs.add((group, option[1]))
    return {(g, n) for g, n in pairs if g in registry.GROUPS}


@pytest.mark.parametrize("argv", [["list"], ["--help"]], ids=["list", "help"])
def test_help_and_list_do_not_import_tensorflow(run_python, argv):
    result = run_python(NO_TF_MAIN.format(argv=argv))
    assert result.code == 0, result.describe()
    if argv == ["list"]:
        assert listed_options(result.out) == set(REGISTERED)
    else:
        for group, name in REGISTERED:  # `  <group>   a, b, c` in the usage text
            assert re.search(rf"^  {group}\s.*\b{re.escape(name)}\b", result.out, re.M), name


def test_console_script_help(run_cli):
    result = run_cli("--help")
    assert result.code == 0, result.describe()
    assert "usage: rlexp" in result.out
    for _, name in REGISTERED:
        assert re.search(rf"\b{re.escape(name)}\b", result.out), name


def test_console_script_list(run_cli):
    result = run_cli("list")
    assert result.code == 0, result.describe()
    headings = re.findall(r"^(\w+):$", result.out, re.M)
    assert headings == [*registry.GROUPS, "logger", "experiment", "train"]
    assert listed_options(result.out) == set(REGISTERED)


@pytest.mark.parametrize("argv", [["--version"], ["-V"], ["train", "--version"]])
def test_version_is_rlexps_and_its_stacks(cli, argv):
    from importlib.metadata import version

    result = cli(*argv)
    assert result.code == 0, result.describe()
    assert result.out.startswith(f"rlexp {version('rlexp')} (tensorflow {version('tensorflow')}")
    assert "Hydra 1.3" not in result.out  # Hydra's own --version answered it


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-m", "--cfg", "job"], "Only one of --run, --multirun, --cfg, --info and"),
        (["--shell-completion"], "Expecting one subcommand from ['install', 'uninstall'"),
    ],
)
def test_hydra_flags_that_do_not_go_together_are_a_usage_error(cli, argv, message):
    result = cli(*argv)
    assert result.code == 2, result.describe()
    assert result.err.startswith(f"rlexp: error: {message}")
    assert "--debug" not in result.err  # not a crash to debug


def test_list_one_group(cli):
    result = cli("list", "agent")
    assert result.code == 0, result.describe()
    assert result.out.startswith("agent:\n")
    assert "gamma" in result.out
    assert "env:" not in result.out and "buffer:" not in result.out


def test_list_unknown_group_exits_2(cli):
    result = cli("list", "nosuchgroup")
    assert result.code == 2, result.describe()
    assert "nosuchgroup" in result.err
    for group in registry.GROUPS:
        assert group in result.err


def test_unknown_group_through_the_console_script(run_cli):
    result = run_cli("list", "nosuchgroup")
    assert result.code == 2, result.describe()
    assert "nosuchgroup" in result.err


def test_hydra_cfg_job_prints_the_composed_config(run_cli, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("train", "--cfg", "job", "agent.gamma=0.625", f"hydra.run.dir={run_dir}")
    assert result.code == 0, result.describe()
    assert re.search(r"^agent:$", result.out, re.M)
    assert re.search(r"^  gamma: 0\.625$", result.out, re.M)
    assert not run_dir.exists(), "--cfg job must not start a run"


def test_list_env_documents_every_env_option(cli):
    result = cli("list", "env")
    assert result.code == 0, result.describe()
    for component in registry.components("env"):
        line = rf"^  {re.escape(component.name)}\s+{re.escape(component.doc)}$"
        assert re.search(line, result.out, re.M), component.name
    for key in ("wrappers", "num_parallel_envs", "batching", "validate_py_environment"):
        assert re.search(rf"^      {key}: ", result.out, re.M), key
    assert re.search(r"^      num_actions: int = 5\s", result.out, re.M)  # pendulum_discrete


def test_list_wrapper_documents_the_wrappers(cli):
    result = cli("list", "wrapper")
    assert result.code == 0, result.describe()
    expected = {
        "TimeLimit",
        "ActionDiscretizeWrapper",
        "RunStats",
        "ActionClipWrapper",
        "FlattenObservationsWrapper",
        "HistoryWrapper",
    }
    # A subset: plugin tests earlier in the session may have registered more (RewardScale).
    assert expected <= {name for _, name in listed_options(result.out)}
    assert re.search(r"^      duration: int = \?\?\?", result.out, re.M)


PRESETS = sorted(p.stem for p in (registry.CONF_DIR / "experiment").glob("*.yaml"))


def test_every_preset_has_a_doc_line():
    from rlexp.listing import DOC_LINE

    for name in PRESETS:
        text = (registry.CONF_DIR / "experiment" / f"{name}.yaml").read_text()
        assert DOC_LINE.search(text), f"experiment/{name}.yaml has no `# doc: ...` line"


def test_list_experiment_shows_each_preset_with_its_doc(cli):
    from rlexp.listing import DOC_LINE

    result = cli("list", "experiment")
    assert result.code == 0, result.describe()
    for name in PRESETS:
        doc = DOC_LINE.search((registry.CONF_DIR / "experiment" / f"{name}.yaml").read_text())[1]
        assert re.search(rf"^  {name}\s+{re.escape(doc)}$", result.out, re.M), name


def test_list_train_shows_the_top_level_keys_with_defaults(cli):
    from rlexp.schemas import TrainConfig

    result = cli("list", "train")
    assert result.code == 0, result.describe()
    assert re.search(r"^  seed: int = 0\s+run seed", result.out, re.M)
    assert re.search(r"^  sweep\.objective: str = final_eval_return\s", result.out, re.M)
    budget = TrainConfig().env_steps
    assert re.search(rf"^  train\.env_steps: int = {budget}\s", result.out, re.M)


def test_help_names_the_presets(cli):
    result = cli("--help")
    assert result.code == 0, result.describe()
    for name in PRESETS:
        assert re.search(rf"\b{name}\b", result.out), name


@pytest.mark.parametrize(("word", "hint"), [("trian", "train"), ("lsit", "list"), ("xyz", None)])
def test_unknown_command_names_the_commands(cli, word, hint):
    result = cli(word)
    assert result.code == 2, result.describe()
    assert f"unknown command {word!r}" in result.err
    assert (f"did you mean {hint!r}?" in result.err) == (hint is not None)
    assert "train, list, resume, eval, report" in result.err


def test_list_markdown_is_a_table_per_option(cli):
    result = cli("list", "--format", "markdown", "buffer")
    assert result.code == 0, result.describe()
    assert result.out.startswith("# buffer\n")
    for name in registry.names("buffer"):
        assert f"\n## {name}\n" in result.out
    assert "| `max_length` | int |" in result.out
    assert cli("list", "--format", "html").code == 2


def test_hydra_help_hides_the_internal_groups(run_cli):
    result = run_cli("train", "-h")
    assert result.code == 0, result.describe()
    assert "schema/" not in result.out
    assert "rlexp list experiment" in result.out
    assert re.search(r"^  gamma: ", result.out, re.M)  # the composed config follows


@pytest.mark.parametrize("command", ["list", "resume", "eval", "report"])
@pytest.mark.parametrize("ask", ["-h", "--help", "help"])
def test_each_command_has_its_help(cli, command, ask):
    argv = ("help", command) if ask == "help" else (command, ask)
    result = cli(*argv)
    assert result.code == 0, result.describe()
    assert result.out.startswith(f"usage: rlexp {command} "), result.out
    assert re.search(rf"^  {command} ", result.out, re.M)  # its paragraph of `rlexp --help`
    assert "Config groups" not in result.out  # not the whole usage text


def test_help_for_an_unknown_command_names_the_commands(cli):
    result = cli("help", "evl")
    assert result.code == 2, result.describe()
    assert "unknown command 'evl'; did you mean 'eval'?" in result.err


def test_report_help_names_every_option(cli):
    import dataclasses

    from rlexp.rundir import RESULT_METRICS
    from rlexp.sweeps.report import Options

    text = cli("report", "--help").out
    for field in dataclasses.fields(Options):
        if field.name != "paths":
            assert f"{field.name}=" in text, field.name
    for metric in RESULT_METRICS:
        assert metric in text, metric


# `rlexp.cli.entry_point` with `main` replaced: it prints without a newline (left in the
# buffer), registers an atexit handler and keeps an object whose finalizer runs only in the
# interpreter's teardown; `{thread}` may leave a non-daemon thread running.
ENTRY_POINT = textwrap.dedent(
    """
    import atexit, sys, threading, time

    import tensorflow

    from rlexp import cli

    class Teardown:
        def __del__(self):
            print(" teardown", end="")

    kept = Teardown()
    atexit.register(lambda: print(" atexit", end=""))

    def main():
        {thread}
        print("main", end="")
        return 3

    cli.main = main
    cli.entry_point()
    """
)


@pytest.mark.parametrize(
    ("thread", "expected"),
    [
        ("pass", "main atexit"),
        ("threading.Thread(target=time.sleep, args=(0.5,)).start()", "main atexit teardown"),
    ],
    ids=["skips-teardown", "other-thread-waits"],
)
def test_the_command_exits_with_mains_code_and_its_output(run_python, thread, expected):
    """With TensorFlow imported, the command skips the interpreter's teardown but still runs
    the atexit handlers and flushes the output; another live thread gets the ordinary exit."""
    result = run_python(ENTRY_POINT.format(thread=thread))
    assert result.code == 3, result.err
    assert result.out == expected


@pytest.mark.parametrize(
    "extra, composes",
    [
        pytest.param([], 1, id="rlexp-configs"),  # the trust check composes nothing
        pytest.param(["hydra.job.name=train"], 2, id="a-hydra-setting"),  # it composes once
    ],
)
def test_a_run_composes_its_config_once_for_hydra(extra, composes, tmp_path, monkeypatch):
    """Hydra's compose to read `hydra.mode` (`Hydra.get_mode`) is skipped: rlexp knows it."""
    from conftest import SWEEP_RUN_OVERRIDES, invoke_main
    from hydra._internal.hydra import Hydra

    calls = []
    compose = Hydra.compose_config
    monkeypatch.setattr(
        Hydra, "compose_config", lambda *a, **k: calls.append(1) or compose(*a, **k)
    )
    run_dir = tmp_path / "run"
    result = invoke_main("train", *SWEEP_RUN_OVERRIDES, *extra, f"hydra.run.dir={run_dir}")
    assert result.code == 0, result.describe()
    assert (run_dir / "metrics.json").is_file()
    assert len(calls) == composes


def test_hydra_mode_multirun_in_the_overrides_still_sweeps(tmp_path):
    from conftest import SWEEP_RUN_OVERRIDES, invoke_main

    sweep_dir = tmp_path / "sweep"
    result = invoke_main(
        "train", *SWEEP_RUN_OVERRIDES, "hydra.mode=MULTIRUN", f"hydra.sweep.dir={sweep_dir}"
    )
    assert result.code == 0, result.describe()
    jobs = [p.parent.name for p in sweep_dir.glob("*/metrics.json")]
    assert len(jobs) == 1 and jobs[0].startswith("0_")


def test_help_of_help_is_the_help(run_cli):
    result = run_cli("help", "--help")
    assert result.code == 0, result.describe()
    assert result.out.startswith("usage: rlexp")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["-m", "seed=0,1", "hydra.run.dir={dir}"],
            "hydra.run.dir={dir}: a sweep (-m) writes to hydra.sweep.dir, and Hydra would "
            "ignore hydra.run.dir; give hydra.sweep.dir=<dir> instead",
        ),
        (
            ["hydra.sweep.dir={dir}"],
            "hydra.sweep.dir={dir}: a single run (without -m) writes to hydra.run.dir, and "
            "Hydra would ignore hydra.sweep.dir; give hydra.run.dir=<dir> instead",
        ),
    ],
    ids=["run-dir-of-a-sweep", "sweep-dir-of-a-run"],
)
def test_an_output_directory_the_mode_ignores_is_refused(argv, message, tmp_path, monkeypatch):
    """Hydra wrote the sweep to outputs/multirun/... (or the run to outputs/...) instead."""
    from conftest import SWEEP_RUN_OVERRIDES, invoke_main

    monkeypatch.chdir(tmp_path)
    wanted = tmp_path / "mine"
    argv = [a.format(dir=wanted) for a in argv]
    result = invoke_main("train", *SWEEP_RUN_OVERRIDES, *argv)
    assert result.code == 2, result.describe()
    assert f"rlexp: error: {message.format(dir=wanted)}" in result.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["agent=dqn"], "takes a group, not an option; `rlexp list agent` lists every agent"),
        (["seed=3"], "takes no overrides but plugins=[...]"),
        (["--format"], "--format needs a value"),
        (["--format", "agent"], "unknown format 'agent'"),
        (["--verbose", "agent"], "unknown option '--verbose'"),
        (["-cd"], "-cd needs a directory after it: -cd DIR"),
    ],
)
def test_list_refuses_what_it_does_not_understand(cli, args, message):
    """Each listed everything (or ignored the flag) with exit 0."""
    result = cli("list", *args)
    assert result.code == 2, result.describe()
    assert message in result.err and "usage: rlexp list" in result.err
    assert not result.out


def test_list_takes_its_flags_and_the_overrides_that_add_options(cli, examples_dir):
    conf = examples_dir / "user_project" / "conf"
    for args in (["--format=markdown", "buffer"], ["--config-dir", conf, "experiment"]):
        result = cli("list", *args)
        assert result.code == 0, result.describe()
    result = cli("list", "env", "plugins=[]", "--format", "text")
    assert result.code == 0, result.describe()


@pytest.mark.parametrize(
    ("args", "fixed"),
    [
        (["-m", "train", "seed=0,1"], "put it first, as in: rlexp train -m seed=0,1"),
        (["-cd", "conf", "list", "experiment"], "as in: rlexp list -cd conf experiment"),
        (["seed=3", "train", "--cfg", "job"], "as in: rlexp train seed=3 --cfg job"),
        (["-cd", "conf", "resume", "my run"], "as in: rlexp resume 'my run' -cd conf"),
        (["train", "list"], "'list' is a command, and so is 'train': give one command"),
    ],
)
def test_a_command_word_that_is_not_first_is_named(cli, args, fixed):
    """Hydra took it for an override and the error was about quoting."""
    result = cli(*args)
    assert result.code == 2, result.describe()
    assert fixed in result.err and "quote" not in result.err


def test_a_hydra_flag_value_that_spells_a_command_is_no_command(cli):
    result = cli("--cfg", "job", "--info", "searchpath", "-cn", "list")
    assert "is a command" not in result.err


def test_cfg_prints_the_composed_config_unchecked_as_the_help_says(cli):
    """Hydra's --cfg prints without rlexp's checks; the help and docs say so, since a
    value it shows (a negative learning rate) is refused when the run starts."""
    shown = cli("train", "agent.learning_rate=-1", "--cfg", "job")
    assert shown.code == 0 and "learning_rate: -1" in shown.out, shown.describe()
    assert "print the composed config (unchecked) and exit" in cli("--help").out
    for page in ("README.md", "docs/concepts/configuration.md"):
        assert "only prints the config as composed" in (ROOT / page).read_text()
