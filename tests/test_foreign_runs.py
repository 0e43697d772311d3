"""Run directories from elsewhere: `rlexp resume` and `rlexp eval` read the saved config as
data, refuse damaged or edited files before importing anything, announce the plugins they
import, and take directories whose names hold `=`, spaces or non-ASCII characters."""

from __future__ import annotations

import itertools
import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES
from omegaconf import OmegaConf

from rlexp.composition import compose_config

PROJECT = EXAMPLES / "user_project"
CONF = PROJECT / "conf"

OVERRIDES = ["env=cartpole", "driver=step", "train.env_steps=2000"]
_COUNTER = itertools.count()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def fake_run(run_dir: Path, overrides=OVERRIDES, plugins=(), status="completed") -> Path:
    """A run directory as `rlexp train` leaves it, minus what training writes (no TF)."""
    cfg = compose_config(list(overrides))
    (run_dir / ".hydra").mkdir(parents=True)
    cfg.plugins = list(plugins)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(list(overrides)), run_dir / ".hydra" / "overrides.yaml")
    (run_dir / "metrics.json").write_text(json.dumps({"status": status}))
    (run_dir / "policy").mkdir()
    (run_dir / "policy" / "saved_model.pb").write_bytes(b"not a SavedModel")
    return run_dir


@pytest.fixture
def marker(tmp_path, monkeypatch) -> str:
    """A module in the working directory that leaves IMPORTED next to it when imported."""
    name = f"run_marker_{next(_COUNTER)}_{tmp_path.name[-6:].replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "from pathlib import Path\nPath(__file__).with_name('IMPORTED').write_text('x')\n"
    )
    monkeypatch.chdir(tmp_path)
    return name


def assert_clean_refusal(result, root: Path, before: dict, *phrases: str) -> None:
    assert result.code == 2, result.describe()
    for phrase in phrases:
        assert phrase in result.err, f"{phrase!r} not in:\n{result.describe()}"
    assert "Traceback" not in result.output
    assert not (root / "IMPORTED").exists(), "a plugin was imported before the refusal"
    assert snapshot(root) == before


# ~400 bytes that expand to 10**9 strings when loaded: never in a file Hydra wrote.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


@pytest.mark.parametrize("command", ["resume", "eval"])
@pytest.mark.parametrize(
    ("damage", "phrase"),
    [
        ("config: [unclosed", "cannot read"),
        ("- just\n- a list\n", "does not hold a mapping"),
        (ALIAS_BOMB, "uses YAML aliases"),
    ],
    ids=["not-yaml", "not-a-mapping", "alias-bomb"],
)
def test_damaged_saved_config_is_named(cli, tmp_path, marker, command, damage, phrase):
    run_dir = fake_run(tmp_path / "run", status="running")
    (run_dir / ".hydra" / "config.yaml").write_text(damage)
    before = snapshot(tmp_path)
    result = cli(command, run_dir)
    assert_clean_refusal(result, tmp_path, before, phrase, "config.yaml")


@pytest.mark.parametrize("command", ["resume", "eval"])
def test_edited_overrides_naming_a_plugin_are_refused_before_import(cli, tmp_path, marker, command):
    run_dir = fake_run(tmp_path / "run", status="running")
    overrides = run_dir / ".hydra" / "overrides.yaml"
    OmegaConf.save(OmegaConf.create([*OVERRIDES, f"plugins=[{marker}]"]), overrides)
    before = snapshot(tmp_path)
    result = cli(command, run_dir)
    assert_clean_refusal(result, tmp_path, before, "disagree", marker, "nothing was imported")


@pytest.mark.parametrize(
    "line",
    ["+hydra.callbacks.x._target_=builtins.open", "experiment=../../x", "seed=1,2"],
    ids=["hydra-setting", "path", "sweep"],
)
def test_overrides_a_run_never_holds_are_refused(cli, tmp_path, marker, line):
    run_dir = fake_run(tmp_path / "run", status="running")
    OmegaConf.save(OmegaConf.create([*OVERRIDES, line]), run_dir / ".hydra" / "overrides.yaml")
    before = snapshot(tmp_path)
    result = cli("resume", run_dir)
    assert_clean_refusal(result, tmp_path, before, "overrides.yaml", line.split("=")[0])


def test_plugins_both_files_name_are_announced_before_import(tmp_path, marker, capsys):
    from rlexp.training.resume import config_for_resume

    run_dir = fake_run(
        tmp_path / "run", [*OVERRIDES, f"plugins=[{marker}]"], plugins=[marker], status="running"
    )
    cfg = config_for_resume(run_dir, [])
    assert list(cfg.plugins) == [marker]
    err = capsys.readouterr().err
    assert f"importing the plugins {run_dir / '.hydra' / 'config.yaml'} names: {marker}" in err
    assert (tmp_path / "IMPORTED").exists()


def test_a_completed_run_is_not_resumed_and_its_plugins_not_imported(cli, tmp_path, marker):
    run_dir = fake_run(tmp_path / "run", [*OVERRIDES, f"plugins=[{marker}]"], plugins=[marker])
    (tmp_path / "IMPORTED").unlink(missing_ok=True)  # composing the fake run's config did
    sys.modules.pop(marker, None)
    result = cli("resume", run_dir)
    assert result.code == 0 and "already completed; nothing to resume" in result.out
    assert "importing the plugins" not in result.err
    assert not (tmp_path / "IMPORTED").exists()


def test_a_plugin_importable_only_where_the_run_started_is_named_with_that_place(cli, tmp_path):
    gone = "rlexp_plugin_of_another_directory"
    run_dir = fake_run(tmp_path / "run", status="running")
    saved = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    saved.plugins = [gone]
    OmegaConf.save(saved, run_dir / ".hydra" / "config.yaml")
    overrides = [*OVERRIDES, f"plugins=[{gone}]"]
    OmegaConf.save(OmegaConf.create(overrides), run_dir / ".hydra" / "overrides.yaml")
    runtime = {"cwd": "/srv/project", "config_sources": []}
    OmegaConf.save({"hydra": {"runtime": runtime}}, run_dir / ".hydra" / "hydra.yaml")
    result = cli("resume", run_dir)
    assert result.code == 2, result.describe()
    assert f"cannot import module '{gone}'" in result.err
    assert "The run was started in /srv/project, where its plugins were importable: " in result.err
    assert "(cd /srv/project)" in result.err


def test_an_override_with_an_interpolation_resumes(tmp_path):
    """The saved overrides are text: `a=${b}` is not resolved against the list they are in
    (it raised "Index 'train' (str) is not an int", so such a run could never resume)."""
    from rlexp.training.resume import config_for_resume, saved_overrides

    override = "train.eval_interval=${train.summary_interval}"
    run_dir = fake_run(tmp_path / "run", [*OVERRIDES, override], status="running")
    assert saved_overrides(run_dir)[-1] == override
    cfg = config_for_resume(run_dir, [])
    assert cfg.train.eval_interval == cfg.train.summary_interval


PRESET = """\
# @package _global_
defaults:
  - override /env: cartpole
train:
  env_steps: 1500
"""


def run_with_a_config_dir(root: Path) -> tuple[Path, Path]:
    """A run composed with `--config-dir <root>/conf` (a preset of the user's), and that dir."""
    conf = root / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "mine.yaml").write_text(PRESET)
    return composed_with(conf, ["experiment=mine", "driver=step"], root / "run"), conf


def composed_with(conf: Path | list[Path], overrides: list[str], run_dir: Path) -> Path:
    """A run's saved files, composed from `overrides` with `--config-dir conf` (or the
    search path of several)."""
    confs = conf if isinstance(conf, list) else [conf]
    (run_dir / ".hydra").mkdir(parents=True)
    OmegaConf.save(compose_config(overrides, config_dirs=confs), run_dir / ".hydra/config.yaml")
    OmegaConf.save(OmegaConf.create(overrides), run_dir / ".hydra" / "overrides.yaml")
    sources = [  # as Hydra records them in hydra.yaml
        {"path": "hydra.conf", "schema": "pkg", "provider": "hydra"},
        {"path": "/somewhere/rlexp/conf", "schema": "file", "provider": "main"},
        *({"path": str(c), "schema": "file", "provider": "command-line"} for c in confs),
    ]
    hydra = {"hydra": {"runtime": {"config_sources": sources}}}
    OmegaConf.save(OmegaConf.create(hydra), run_dir / ".hydra" / "hydra.yaml")
    (run_dir / "metrics.json").write_text(json.dumps({"status": "interrupted"}))
    return run_dir


def test_a_run_composed_with_a_config_dir_resumes_from_it(tmp_path):
    from rlexp.training.resume import ResumeError, config_for_resume

    run_dir, conf = run_with_a_config_dir(tmp_path)
    assert config_for_resume(run_dir).train.env_steps == 1500  # the recorded dir
    moved = conf.rename(tmp_path / "moved")
    with pytest.raises(ResumeError, match=r"(?s)experiment/mine.*\(gone\).*--config-dir <dir>"):
        config_for_resume(run_dir)
    assert config_for_resume(run_dir, config_dirs=[moved]).train.env_steps == 1500


def test_plugins_a_preset_in_a_config_dir_names_are_read_from_it(tmp_path, monkeypatch):
    """eval and resume refused such a run (the user project's own) as edited: they read
    the plugins from the overrides alone, which name the preset, not its plugins."""
    from rlexp.saved_run import SavedRunError, read_saved_run
    from rlexp.training.resume import config_for_resume

    monkeypatch.syspath_prepend(str(PROJECT))
    run_dir = composed_with(CONF, ["experiment=signal_dqn"], tmp_path / "run")
    assert read_saved_run(run_dir).plugins == ["signal_env"]
    assert config_for_resume(run_dir).env.name == "signal"
    (run_dir / ".hydra" / "hydra.yaml").unlink()  # the preset can no longer be found
    with pytest.raises(SavedRunError, match=r"disagree.*or a preset changed or moved"):
        read_saved_run(run_dir)
    assert read_saved_run(run_dir, [CONF]).plugins == ["signal_env"]  # --config-dir


def test_resume_takes_the_config_dir_flag(cli, tmp_path):
    run_dir, conf = run_with_a_config_dir(tmp_path)
    moved = conf.rename(tmp_path / "moved")
    result = cli("resume", run_dir, "--config-dir", moved)
    assert "not an override" not in result.err and "experiment/mine" not in result.err
    assert "checkpoint" in result.err, result.describe()  # past the config: none to resume
    missing = cli("resume", run_dir, "-cd", tmp_path / "nowhere")
    assert missing.code == 2 and "no such directory" in missing.err, missing.describe()


ODD_NAME = "1_agent.gamma=0.9,seed=1 späte Läufe"


@pytest.mark.parametrize("command", ["resume", "eval"])
def test_a_directory_named_like_a_sweep_job_is_a_directory(cli, tmp_path, command):
    missing = tmp_path / ODD_NAME  # not a run: the message must be about it, not usage
    missing.mkdir()
    result = cli(command, missing)
    assert result.code == 2, result.describe()
    assert "not a run directory" in result.err and ODD_NAME in result.err
    assert "Traceback" not in result.output


def test_resume_takes_an_odd_directory_name(cli, tmp_path):
    run_dir = fake_run(tmp_path / ODD_NAME)
    before = snapshot(tmp_path)
    result = cli("resume", run_dir)
    assert result.code == 0, result.describe()
    assert "already completed" in result.out
    assert snapshot(tmp_path) == before


def test_report_takes_an_odd_directory_name(cli, tmp_path):
    folder = tmp_path / ODD_NAME
    folder.mkdir()
    result = cli("report", folder)
    assert result.code == 2, result.describe()
    assert "no runs" in result.err and ODD_NAME in result.err  # not the usage line
    assert not any(folder.iterdir())


def test_eval_runs_a_policy_in_an_odd_directory(cli, trained_run, tmp_path):
    run_dir = tmp_path / ODD_NAME
    shutil.copytree(trained_run.run_dir, run_dir)
    before = snapshot(run_dir)
    result = cli("eval", run_dir, "episodes=1")
    assert result.code == 0, result.describe()
    assert "mean" in result.out
    assert snapshot(run_dir) == before


@pytest.mark.parametrize(
    ("option", "phrase"),
    [
        ("seed=-1", "seed=-1: must be >= 0"),
        ("seed=4294967296", "<= 4294967295"),
        ("episodes=0", "episodes=0: must be > 0"),
        ("episodes=99999999999999999999", "64-bit"),
        ("seed=x", "seed=x: must be an integer"),
    ],
)
def test_eval_checks_its_options_as_training_does(cli, tmp_path, option, phrase):
    run_dir = fake_run(tmp_path / "run")
    before = snapshot(tmp_path)
    result = cli("eval", run_dir, option)
    assert result.code == 2, result.describe()
    assert phrase in result.err
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_the_command_that_starts_a_run_afresh_works_pasted(tmp_path, cli):
    """What `rlexp resume` prints for a run without checkpoints: each override one shell
    word (a list holds a space), and the run's config directory (its preset is there)."""
    from rlexp.training.resume import fresh_command

    conf = tmp_path / "my conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "mine.yaml").write_text(PRESET)
    overrides = ["experiment=mine", "network.fc_layer_params=[64, 64]"]
    run_dir = composed_with(conf, overrides, tmp_path / "run")

    words = shlex.split(fresh_command(run_dir))
    assert words == ["rlexp", "train", "--config-dir", str(conf), *overrides]
    result = cli(*words[1:], "--cfg", "job")
    assert result.code == 0, result.describe()
    assert "- 64" in result.out and "env_steps: 1500" in result.out


def test_the_command_that_starts_a_run_of_two_config_dirs_afresh_is_taken(tmp_path, cli):
    """Hydra reads only the last of several `--config-dir` flags, and rlexp refuses them:
    the printed command gives both directories as the search path."""
    from rlexp.training.resume import fresh_command

    shared, conf = tmp_path / "shared", tmp_path / "conf"
    (shared / "experiment").mkdir(parents=True)
    (shared / "experiment" / "mine.yaml").write_text(PRESET)
    (conf / "experiment").mkdir(parents=True)
    run_dir = composed_with([conf, shared], ["experiment=mine"], tmp_path / "run")

    words = shlex.split(fresh_command(run_dir))
    assert words == [
        "rlexp",
        "train",
        f"hydra.searchpath=[file://{conf},file://{shared}]",
        "experiment=mine",
    ]
    result = cli(*words[1:], "--cfg", "job")
    assert result.code == 0, result.describe()
    assert "env_steps: 1500" in result.out


def test_a_policy_option_that_contradicts_the_policy_folder_given_is_refused(tmp_path, cli):
    """`rlexp eval run/policy_best policy=final` evaluated policy_best/ without a word."""
    from rlexp.policies.saved import locate

    run_dir = fake_run(tmp_path / "run")
    (run_dir / "policy_best").mkdir()
    (run_dir / "policy_best" / "saved_model.pb").write_bytes(b"not a SavedModel")
    result = cli("eval", run_dir / "policy_best", "policy=final")
    assert result.code == 2, result.describe()
    assert "policy=final asks for the run's policy/, but" in result.err
    assert f"rlexp eval {run_dir} policy=final" in result.err
    assert locate(run_dir / "policy", "final") == (run_dir, run_dir / "policy")
    assert locate(run_dir / "policy") == (run_dir, run_dir / "policy")
    assert locate(run_dir) == (run_dir, run_dir / "policy_best")


@pytest.mark.parametrize("change", ["edited", "deleted", "override"])
def test_a_refused_config_difference_names_its_likely_cause(tmp_path, change):
    """It always said "Resume without those overrides", also when none were given."""
    from rlexp.training.resume import ResumeError, config_for_resume

    run_dir = fake_run(tmp_path / "run")
    overrides = []
    if change == "edited":
        saved = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
        saved.agent.learning_rate = 0.5
        OmegaConf.save(saved, run_dir / ".hydra" / "config.yaml")
    elif change == "deleted":
        (run_dir / ".hydra" / "overrides.yaml").unlink()
    else:
        overrides = ["agent.learning_rate=0.5"]
    with pytest.raises(ResumeError) as refused:
        config_for_resume(run_dir, overrides)
    text = str(refused.value)
    expected = {
        "edited": "No overrides were given: ",
        "deleted": "overrides.yaml is missing, so the run's overrides are lost",
        "override": "Resume without those overrides",
    }[change]
    assert expected in text
    assert ("Resume without those overrides" in text) == (change == "override")
