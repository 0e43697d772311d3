"""A user's own project (examples/user_project, shown in docs/how-to/user-project.md): its
own config directory on Hydra's search path (`rlexp --config-dir conf`) with its own
experiment preset, whose `plugins:` import the project's own env module."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from rlexp.composition import compose_config, config_dirs, plugin_modules

PROJECT = EXAMPLES / "user_project"
CONF = PROJECT / "conf"


@pytest.mark.parametrize(
    "argv",
    [
        ["--config-dir", "conf", "experiment=signal_dqn"],
        ["-cd", "conf", "experiment=signal_dqn"],
        ["--config-dir=conf", "experiment=signal_dqn"],
        ["hydra.searchpath=[file://conf]", "experiment=signal_dqn"],
    ],
)
def test_plugins_of_a_preset_in_the_users_config_dir_are_found(argv, monkeypatch):
    monkeypatch.chdir(PROJECT)
    assert [str(d) for d in config_dirs(argv)] == ["conf"]
    assert plugin_modules(argv) == ["signal_env"]


def test_compose_config_takes_the_users_config_dirs(monkeypatch):
    monkeypatch.syspath_prepend(str(PROJECT))
    cfg = compose_config(["experiment=signal_dqn"], config_dirs=[CONF])
    assert cfg.env.name == "signal"
    assert list(cfg.plugins) == ["signal_env"]
    assert cfg.driver.num_steps == 64


def test_an_option_file_named_as_a_plugins_option_takes_its_place_quietly(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(PROJECT))
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "env" / "signal.yaml").parent.mkdir(exist_ok=True)
    (conf / "env" / "signal.yaml").write_text(
        "defaults: [/schema/env/signal@_here_, _self_]\nname: signal\nnum_signals: 5\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfg = compose_config(["experiment=signal_dqn"], config_dirs=[conf])
    assert cfg.env.num_signals == 5
    assert not [w for w in caught if "ConfigStore schema with the same name" in str(w.message)]


def test_a_sweep_of_a_users_preset_repeats_its_seeds_as_parallel_jobs(monkeypatch):
    """The sweep's command line was prepared from rlexp's configs alone, which have no such
    preset: `repeat=2` stayed one job training both seeds one after another."""
    from rlexp.composition import prepare_registry
    from rlexp.sweeps.multirun import prepare_argv

    monkeypatch.syspath_prepend(str(PROJECT))
    argv = ["-m", "--config-dir", str(CONF), "experiment=signal_dqn", "repeat=2"]
    prepare_registry(argv)
    prepared = prepare_argv(argv)
    assert "seed=0,1" in prepared and "repeat=1" in prepared and "repeat=2" not in prepared


@pytest.mark.slow
def test_the_user_project_trains_from_its_own_directory(run_cli, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        "--config-dir",
        "conf",
        "experiment=signal_dqn",
        "train.env_steps=600",
        "train.prefill_steps=100",
        "train.eval_interval=300",
        "train.eval_episodes=1",
        "train.progress=false",
        f"hydra.run.dir={run_dir}",
        cwd=PROJECT,
    )
    assert result.code == 0, result.describe()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert metrics["env_steps"] >= 600
    saved = (run_dir / ".hydra" / "config.yaml").read_text()
    assert "name: signal" in saved and "num_signals: 2" in saved


def test_docs_show_the_user_project():
    page = (ROOT / "docs" / "how-to" / "user-project.md").read_text()
    for path in (CONF / "experiment" / "signal_dqn.yaml", PROJECT / "signal_env.py"):
        assert path.read_text() in page, f"the how-to does not show {path.relative_to(ROOT)}"


def test_list_experiment_shows_the_projects_presets(cli):
    result = cli("list", "experiment", "--config-dir", str(CONF))
    assert result.code == 0, result.describe()
    assert re.search(r"^  signal_dqn\s", result.out, re.M)
    assert re.search(r"^  seed_notebook\s", result.out, re.M)  # rlexp's own presets too


@pytest.mark.parametrize(
    "argv",
    [
        ["seed=1", "--config-dir", str(CONF), "experiment=signal_dqn", "--cfg", "job"],
        ["seed=1", "--cfg", "job", "-cd", str(CONF), "experiment=signal_dqn"],
        ["experiment=signal_dqn", f"--config-dir={CONF}", "--cfg", "job", "seed=1"],
    ],
)
def test_hydras_flags_may_come_after_overrides(cli, argv, monkeypatch):
    """Hydra's own parser refused an override after a flag ("unrecognized arguments")."""
    monkeypatch.syspath_prepend(str(PROJECT))
    result = cli("train", *argv)
    assert result.code == 0, result.describe()
    assert re.search(r"^seed: 1$", result.out, re.M) and "name: signal" in result.out


def test_hydra_flags_first_keeps_each_in_its_order():
    from rlexp.composition import hydra_flags_first

    argv = ["-m", "seed=0,1", "--config-dir", "conf", "agent=ddqn", "--info", "a=1"]
    assert hydra_flags_first(argv) == [
        "-m", "--config-dir", "conf", "--info", "seed=0,1", "agent=ddqn", "a=1",
    ]  # fmt: skip
    assert hydra_flags_first(["--info", "config", "a=1"]) == ["--info", "config", "a=1"]


@pytest.mark.parametrize(
    ("files", "choice", "message"),
    [
        (
            {"agent/broken.yaml": "name: dqn\ngamma: [1\n"},
            "agent=broken",
            r"agent/broken\.yaml:3:1: not valid YAML: while parsing a flow sequence \(from "
            r"line 2, column 8\), expected ',' or '\]'",
        ),
        (
            {"experiment/mine.yaml": "defaults:\n  - override /agent: ddqn\n"},
            "experiment=mine",
            r"experiment/mine\.yaml must start with the line `# @package _global_`",
        ),
        (
            {"experiment/mine.yaml": "agent:\n  gamma: 0.5\n"},
            "experiment=mine",
            r"experiment/mine\.yaml must start with the line `# @package _global_`",
        ),
        (
            {"env/signal_hard.yaml": "name: cartpole\nmax_episode_steps: 100\n"},
            "env=signal_hard",
            r"env: the YAML file selected for env sets name: cartpole but does not extend that "
            r"option's schema, .* `defaults: \[/schema/env/cartpole@_here_, _self_\]`",
        ),
        (
            {"env/signal_hard.yaml": "defaults: [/schema/env/cartpole@_here_, _self_]\n"},
            "env=signal_hard",
            r"env\.name: the option chosen \(env=signal_hard\) has no name \(it is \?\?\?\); its "
            r"YAML file must set the registered env builder it configures: `name: <one of .*"
            r"\bcartpole\b.*>`",
        ),
        (
            {"agent/my_dqn2.yaml": "defaults: [/schema/agent/dqn@_here_, _self_]\nname: my_dqn\n"},
            "agent=my_dqn2",
            r"agent\.name=my_dqn: .* \(the YAML file of agent=my_dqn2 sets name: my_dqn; its name: "
            r"must be the registered agent builder it configures, one of those above\)",
        ),
        (
            {"agent/dqn.yaml": "defaults: [/schema/agent/dqn@_here_, _self_]\nname: dqn\n"},
            "agent=dqn",
            r"conf/agent/dqn\.yaml is never read: rlexp's own agent/dqn comes first on the "
            r"config search path; give yours a name of its own \(e\.g\. agent/my_dqn\.yaml\)",
        ),
        (
            {"experiment/mine.yaml": "# @package _global_\ntrain: {env_step: 6000}\n"},
            "experiment=mine",
            r"experiment/mine\.yaml: train\.env_step: unknown key; did you mean "
            r"train\.env_steps\?",
        ),
    ],
    ids=[
        "not-yaml",
        "preset-without-header-defaults",
        "preset-without-header-values",
        "option-without-its-schema",
        "option-without-a-name",
        "option-naming-itself",
        "shadowed-by-rlexps-own",
        "misspelt-key-in-a-preset",
    ],
)
def test_a_broken_file_in_the_users_config_dir_is_named(cli, tmp_path, files, choice, message):
    for name, text in files.items():
        (tmp_path / "conf" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "conf" / name).write_text(text)
    for argv in (["train", choice], ["-m", "seed=0,1", choice]):
        result = cli(*argv, "--config-dir", str(tmp_path / "conf"))
        assert result.code == 2, result.describe()
        assert re.search(message, result.err), result.describe()
        assert "Traceback" not in result.err


def test_a_preset_that_extends_a_preset_takes_its_plugins(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(PROJECT))
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "experiment" / "signal_long.yaml").write_text(
        "# @package _global_\ndefaults: [signal_dqn, _self_]\ntrain: {env_steps: 6000}\n"
    )
    argv = ["--config-dir", str(conf), "experiment=signal_long"]
    assert plugin_modules(argv) == ["signal_env"]
    cfg = compose_config(["experiment=signal_long"], config_dirs=[conf])
    assert cfg.env.name == "signal" and cfg.train.env_steps == 6000


def _without_block(text: str, key: str) -> str:
    """A preset's text without its top-level `key:` block."""
    lines, skipping = [], False
    for line in text.splitlines(keepends=True):
        if not line.startswith((" ", "\t")):
            skipping = line.startswith(f"{key}:")
        if not skipping:
            lines.append(line)
    return "".join(lines)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["driver=episode"], "driver.num_steps"),
        (["network=q_rnn_network"], "network.fc_layer_params"),
        (["agent=c51", "network=categorical_q_network"], "network.dropout_layer_params"),
    ],
)
def test_a_preset_with_another_option_of_its_group_says_how_to_combine_them(
    cli, tmp_path, monkeypatch, overrides, key
):
    """The user wrote none of the preset's keys: the message says the preset sets one the
    chosen option lacks, and its copy-the-preset route works."""
    group = key.split(".")[0]
    chosen = next(o for o in overrides if o.startswith(f"{group}="))
    result = cli("train", "experiment=seed_notebook", *overrides, "--cfg", "job")
    assert result.code == 2, result.describe()
    assert (
        f"experiment=seed_notebook sets {key}, which {chosen} does not have: a preset fixes "
        f"its own options, so use it with its own {group} (leave out {chosen})"
    ) in " ".join(result.err.split())
    assert "did you mean" not in result.err

    monkeypatch.chdir(tmp_path)
    copy = re.search(r"\(mkdir -p (\S+); cp (\S+) (\S+)\)", " ".join(result.err.split()))
    assert copy, result.describe()
    (tmp_path / copy.group(1)).mkdir(parents=True)
    target = tmp_path / copy.group(3)
    target.write_text(_without_block(Path(copy.group(2)).read_text(), group))
    result = cli(
        "train", "--config-dir", "conf", f"experiment={target.stem}", *overrides, "--cfg", "job"
    )
    assert result.code == 0, result.describe()
    assert f"name: {chosen.partition('=')[2]}" in result.out


def _conf_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """A copy of the user project's conf/ with `files` (path: text) added."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    for name, text in files.items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)
    return conf


def test_a_sweep_over_presets_takes_the_plugins_of_each(cli, monkeypatch, tmp_path):
    """`-m experiment=a,b`: every swept preset's plugins are imported, as for a single run
    (its sweep points were refused: "Could not find 'env/signal'")."""
    from rlexp.composition import prepare_registry
    from rlexp.trust import check_command

    monkeypatch.syspath_prepend(str(PROJECT))
    conf = _conf_with(tmp_path, {})
    argv = ["-m", "--config-dir", str(conf), "experiment=seed_notebook,signal_dqn"]
    assert plugin_modules(argv) == ["signal_env"]
    prepare_registry(argv)
    check_command(argv)  # every sweep point composes
    for swept in ("choice(signal_dqn,seed_notebook)", "glob(sig*)", "glob(*,exclude=seed*)"):
        assert plugin_modules([*argv[:3], f"experiment={swept}"]) == ["signal_env"], swept
    assert plugin_modules([*argv[:3], "experiment=glob(seed*)"]) == []


@pytest.mark.parametrize(
    ("name", "entry"),
    [
        ("long", "/experiment/signal_dqn"),
        ("long", "signal_dqn@_here_"),
        ("long", "/experiment/signal_dqn@_here_"),
        ("team/long", "/experiment/signal_dqn"),
        ("team/long2", "team/long"),  # relative to the group (Hydra's rule), not the folder
    ],
)
def test_a_preset_extending_a_preset_by_any_hydra_path_takes_its_plugins(
    monkeypatch, tmp_path, name, entry
):
    monkeypatch.syspath_prepend(str(PROJECT))
    preset = "# @package _global_\ndefaults: [{}, _self_]\ntrain: {{env_steps: 6000}}\n"
    conf = _conf_with(
        tmp_path,
        {
            f"experiment/{name}.yaml": preset.format(entry),
            "experiment/team/long.yaml": preset.format("/experiment/signal_dqn"),
        },
    )
    assert plugin_modules(["--config-dir", str(conf), f"experiment={name}"]) == ["signal_env"]
    cfg = compose_config([f"experiment={name}"], config_dirs=[conf])
    assert cfg.env.name == "signal" and cfg.train.env_steps == 6000


CIRCLE = "config files include each other in a circle through their defaults lists: "


@pytest.mark.parametrize("argv", [["train", "--cfg", "job"], ["-m", "seed=0,1"]])
def test_presets_that_extend_each_other_are_named(cli, tmp_path, argv):
    """Hydra recursed until Python's RecursionError (a long traceback, exit 1)."""
    preset = "# @package _global_\ndefaults:\n  - {}\n  - _self_\n"
    conf = _conf_with(
        tmp_path,
        {
            "experiment/cyca.yaml": preset.format("cycb"),
            "experiment/cycb.yaml": preset.format("/experiment/cyca"),
        },
    )
    result = cli(*argv, "--config-dir", str(conf), "experiment=cyca")
    assert result.code == 2, result.describe()
    a, b = conf / "experiment" / "cyca.yaml", conf / "experiment" / "cycb.yaml"
    assert f"{CIRCLE}{a} -> {b} -> {a}; remove one" in result.err, result.describe()
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "agent=cyc1", "--cfg", "job"],
        ["train", "experiment=mine", "--cfg", "job"],
        ["-m", "agent=dqn,cyc1"],
    ],
)
def test_option_files_that_include_each_other_are_named(cli, tmp_path, argv):
    option = "defaults:\n  - /schema/agent/dqn@_here_\n  - {}\n  - _self_\nname: dqn\n"
    conf = _conf_with(
        tmp_path,
        {
            "agent/cyc1.yaml": option.format("cyc2"),
            "agent/cyc2.yaml": option.format("cyc1@_here_"),
            "experiment/mine.yaml": "# @package _global_\ndefaults:\n  - override /agent: cyc2\n",
        },
    )
    result = cli(*argv, "--config-dir", str(conf))
    assert result.code == 2, result.describe()
    a, b = conf / "agent" / "cyc1.yaml", conf / "agent" / "cyc2.yaml"
    assert f"{CIRCLE}{a} -> {b} -> {a}; remove one" in result.err, result.describe()
    assert "Traceback" not in result.err


def test_compose_config_names_a_circle_of_option_files(tmp_path):
    conf = _conf_with(
        tmp_path,
        {"agent/cyc1.yaml": "defaults: [/schema/agent/dqn@_here_, cyc1, _self_]\nname: dqn\n"},
    )
    with pytest.raises(ValueError, match=re.escape(f"{CIRCLE}{conf}/agent/cyc1.yaml -> {conf}")):
        compose_config(["agent=cyc1"], config_dirs=[conf])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--config-dir", "{conf}", "-cd", "{other}", "experiment=signal_dqn"],
            r"--config-dir given 2 times \(\S+/conf, \S+/other\): Hydra reads only the last "
            r"one\. Give one, or put every directory on the search path: "
            r"'hydra\.searchpath=\[file://\S+/conf,file://\S+/other\]'",
        ),
        (
            ["train", "--config-dir", "{conf}/experiment/signal_dqn.yaml"],
            r"--config-dir \S+/signal_dqn\.yaml: a file, not a directory; give the directory",
        ),
        (["train", "experiment=seed_notebook", "--cfg", "job", "--config-dir"], "needs a dir"),
        (["train", "--config-dir=", "experiment=seed_notebook"], "needs a directory"),
        (["train", "-cd", "--cfg", "job"], r"-cd needs a directory after it: -cd DIR"),
        (["list", "experiment", "--config-dir", "{other}/nowhere"], r"nowhere: no such dir"),
        (["list", "experiment", "--config-dir", "{conf}/experiment/signal_dqn.yaml"], "a file"),
        (["list", "experiment", "--config-dir"], "--config-dir needs a directory"),
        (["list", "experiment", "-cd", "{conf}", "-cd", "{other}"], "given 2 times"),
    ],
)
def test_a_config_dir_flag_hydra_would_misread_is_refused(cli, tmp_path, argv, message):
    """Hydra keeps the last of several `--config-dir` flags (rlexp read plugins from the
    first), took the next argument for a flag without one, and said a file was "not
    found"; `rlexp list` listed rlexp's presets for a directory that does not exist."""
    (tmp_path / "other").mkdir()
    dirs = {"conf": CONF, "other": tmp_path / "other"}
    result = cli(*(arg.format(**dirs) for arg in argv))
    assert result.code == 2, result.describe()
    assert re.search(message, result.err), result.describe()
    assert result.out == ""


@pytest.mark.parametrize(
    ("mode", "key"), [(["train"], "hydra.run.dir"), (["-m", "seed=0,1"], "hydra.sweep.dir")]
)
def test_a_presets_directory_naming_an_unset_variable_is_refused(
    cli, tmp_path, monkeypatch, mode, key
):
    """The claim read the directory outside its guard: Hydra warned about the callback's
    error and the command exited 1, naming neither the key nor how to fix it."""
    monkeypatch.delenv("RLEXP_TEST_UNSET", raising=False)
    section, leaf = key.split(".")[1:]
    conf = _conf_with(
        tmp_path,
        {
            "experiment/rooted.yaml": "# @package _global_\ndefaults: [signal_dqn, _self_]\n"
            f"hydra:\n  {section}:\n    {leaf}: ${{oc.env:RLEXP_TEST_UNSET}}/runs\n"
        },
    )
    monkeypatch.syspath_prepend(str(PROJECT))
    monkeypatch.chdir(tmp_path)
    result = cli(*mode, "--config-dir", str(conf), "experiment=rooted")
    assert result.code == 2, result.describe()
    assert f"{key}=${{oc.env:RLEXP_TEST_UNSET}}/runs: cannot be resolved" in result.err
    assert "Environment variable 'RLEXP_TEST_UNSET' not found" in result.err
    assert f"{key}=<dir>" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf"]


def test_list_experiment_shows_presets_in_subfolders_by_the_name_that_selects_them(
    cli, tmp_path
):
    conf = _conf_with(
        tmp_path,
        {
            "experiment/team/fast.yaml": "# @package _global_\n# doc: the team's preset\n"
            "defaults: [/experiment/signal_dqn, _self_]\n"
        },
    )
    result = cli("list", "experiment", "--config-dir", str(conf))
    assert result.code == 0, result.describe()
    assert re.search(r"^  team/fast\s+the team's preset$", result.out, re.M), result.out


def test_list_refuses_a_file_that_shadows_one_of_rlexps_own_as_train_does(cli, tmp_path):
    conf = _conf_with(tmp_path, {"experiment/seed_notebook.yaml": "# @package _global_\n"})
    for argv in (["list", "experiment"], ["train", "--cfg", "job"]):
        result = cli(*argv, "--config-dir", str(conf))
        assert result.code == 2, result.describe()
        assert f"{conf}/experiment/seed_notebook.yaml is never read" in result.err
