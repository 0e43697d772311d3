"""`rlexp resume` recomposes a run as it was composed: from rlexp's primary config (so
`rlexp train` refuses `--config-name`), with the config directories the run recorded."""

from __future__ import annotations

from rlexp.saved_run import recorded_config_dirs
from rlexp.training.resume import config_for_resume

BUDGET = ("train.env_steps=600", "train.prefill_steps=100", "driver.num_steps=100")
PRESET = "# @package _global_\nseed: 99\nagent:\n  gamma: 0.9\n"


def _conf(root):
    conf = root / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "mine.yaml").write_text(PRESET)
    (conf / "myprimary.yaml").write_text("defaults:\n  - config\n  - _self_\nseed: 99\n")
    return conf


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
