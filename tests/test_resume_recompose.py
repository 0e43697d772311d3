"""`rlexp resume` recomposes a run as it was composed: from rlexp's primary config (so
`rlexp train` refuses `--config-name`), with the config directories the run recorded."""

from __future__ import annotations

import pytest
import yaml

from rlexp.saved_run import recorded_config_dirs
from rlexp.training.resume import ResumeError, config_for_resume

BUDGET = ("train.env_steps=600", "train.prefill_steps=100", "driver.num_steps=100")
PRESET = "# @package _global_\nseed: 99\nagent:\n  gamma: 0.9\n"


def _conf(root):
    conf = root / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "mine.yaml").write_text(PRESET)
    (conf / "myprimary.yaml").write_text("defaults:\n  - config\n  - _self_\nseed: 99\n")
    return conf


@pytest.mark.parametrize(
    "flags, out_key",
    [
        (["--config-name", "myprimary"], "hydra.run.dir"),
        (["-m", "-cn=myprimary.yaml", "--cfg", "job"], "hydra.sweep.dir"),
    ],
)
def test_config_name_is_refused_before_anything_is_written(cli, tmp_path, flags, out_key):
    conf = _conf(tmp_path)
    run_dir = tmp_path / "run"
    result = cli("train", "--config-dir", conf, *flags, *BUDGET, f"{out_key}={run_dir}")
    assert result.code == 2, result.describe()
    assert f"move it to {conf}/experiment/myprimary.yaml" in result.err, result.err
    assert "experiment=myprimary" in result.err and "Traceback" not in result.err
    assert not run_dir.exists()


def test_a_searchpath_entry_is_found_from_another_working_directory(cli, tmp_path, monkeypatch):
    """`hydra.searchpath=[file://conf]` is recorded as written (relative): resume takes it
    from the directory the run was started in."""
    project = tmp_path / "project"
    conf = _conf(project)
    monkeypatch.chdir(project)
    run_dir = tmp_path / "run"
    result = cli(
        "train", "hydra.searchpath=[file://conf]", "experiment=mine", *BUDGET,
        "train.progress=false", f"hydra.run.dir={run_dir}",
    )  # fmt: skip
    assert result.code == 0, result.describe()
    monkeypatch.chdir(tmp_path)
    assert recorded_config_dirs(run_dir) == [conf]
    cfg = config_for_resume(run_dir)
    assert cfg.seed == 99 and cfg.agent.gamma == 0.9


def test_a_run_of_another_primary_config_says_which_values_to_give(cli, tmp_path):
    """A run composed from `--config-name myprimary` (as rlexp once allowed): resume
    recomposes rlexp's primary config, and says to give myprimary's values as overrides."""
    run_dir = tmp_path / "run"
    result = cli("train", "seed=99", *BUDGET, "train.progress=false", f"hydra.run.dir={run_dir}")
    assert result.code == 0, result.describe()
    hydra_file, overrides_file = (
        run_dir / ".hydra" / "hydra.yaml",
        run_dir / ".hydra" / "overrides.yaml",
    )
    settings = yaml.safe_load(hydra_file.read_text())
    settings["hydra"]["job"]["config_name"] = "myprimary"  # seed: 99 came from myprimary.yaml
    hydra_file.write_text(yaml.safe_dump(settings))
    overrides = [o for o in yaml.safe_load(overrides_file.read_text()) if o != "seed=99"]
    overrides_file.write_text(yaml.safe_dump(overrides))

    with pytest.raises(ResumeError, match=r"(?s)-seed: 99.*--config-name myprimary.*overrides"):
        config_for_resume(run_dir)
    assert config_for_resume(run_dir, ["seed=99"]).seed == 99
