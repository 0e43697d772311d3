"""A catalogue of bad input: each gives a clear message and a non-zero exit, and none
destroys an existing run directory."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from omegaconf import OmegaConf

PLUGINS = Path(__file__).parent / "plugins"


def snapshot(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


@pytest.fixture
def interrupted_copy(trained_run, tmp_path) -> Path:
    """A copy of the shared run that looks interrupted (status running), so resume tries it."""
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.run_dir, run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    (run_dir / "metrics.json").write_text(json.dumps({**metrics, "status": "running"}))
    return run_dir


def latest_checkpoint_data(run_dir: Path) -> Path:
    return sorted((run_dir / "checkpoints").glob("ckpt-*.data-*"))[-1]


def damage(path: Path, how: str) -> None:
    content = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": content[: len(content) // 2]}.get(how, b"{}"))


@pytest.mark.parametrize("how", ["empty", "truncated", "sidecar"])
def test_a_damaged_newest_checkpoint_gives_way_to_the_newest_intact_one(interrupted_copy, cli, how):
    checkpoints = interrupted_copy / "checkpoints"
    steps = sorted(int(p.stem.split("-")[1]) for p in checkpoints.glob("trainer_state-*.json"))
    assert len(steps) == 2, steps
    if how == "sidecar":
        damage(checkpoints / f"trainer_state-{steps[-1]}.json", how)
    else:
        damage(latest_checkpoint_data(interrupted_copy), how)

    result = cli("resume", interrupted_copy)
    assert result.code == 0, result.describe()
    assert f"ckpt-{steps[-1]}" in result.err or f"trainer_state-{steps[-1]}" in result.err
    assert f"resuming from {checkpoints / f'ckpt-{steps[0]}'}" in result.err
    assert json.loads((interrupted_copy / "metrics.json").read_text())["status"] == "completed"


def test_no_intact_checkpoint_is_refused_and_changes_nothing(interrupted_copy, cli):
    for data in (interrupted_copy / "checkpoints").glob("ckpt-*.data-*"):
        damage(data, "empty")
    before = snapshot(interrupted_copy)

    result = cli("resume", interrupted_copy)
    assert result.code == 2, result.describe()
    assert "no intact checkpoint" in result.err
    assert "afresh" in result.err and "rlexp train" in result.err
    assert "Traceback" not in result.output
    after = snapshot(interrupted_copy)
    after.pop(".rlexp.lock", None), before.pop(".rlexp.lock", None)
    assert after == before


def test_a_resume_override_of_the_wrong_type_names_the_value_and_the_type(interrupted_copy, cli):
    before = snapshot(interrupted_copy)
    result = cli("resume", interrupted_copy, "train.env_steps=abc")
    assert result.code == 2, result.describe()
    assert "train.env_steps=abc" in result.err
    assert "train.env_steps must be an integer" in result.err  # why, not only where
    assert snapshot(interrupted_copy) == before


@pytest.mark.parametrize("command", ["resume", "eval"])
def test_a_directory_that_is_not_a_run(cli, tmp_path, command):
    (tmp_path / "notes.txt").write_text("not a run")
    result = cli(command, tmp_path)
    assert result.code == 2, result.describe()
    assert "not a run directory" in result.err
    assert (tmp_path / "notes.txt").read_text() == "not a run"


@pytest.mark.parametrize("command", ["resume", "eval"])
def test_a_directory_that_does_not_exist(cli, tmp_path, command):
    result = cli(command, tmp_path / "gone")
    assert result.code == 2, result.describe()
    assert f"{tmp_path / 'gone'}: no such directory" in result.err


@pytest.mark.parametrize("bad", ["file", "proc"])
def test_unwritable_output_dir_is_reported_before_training(cli, tmp_path, bad):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    target = blocker / "run" if bad == "file" else Path("/proc/rlexp-run")
    result = cli("train", f"hydra.run.dir={target}")
    assert result.code == 2, result.describe()
    assert "hydra.run.dir" in result.err and "writable" in result.err


@pytest.mark.parametrize("args", [["train", "hydra.run.dir="], ["-m", "hydra.sweep.dir= "]])
def test_an_empty_output_dir_is_refused_not_taken_for_the_current_one(cli, tmp_path, args):
    """`hydra.run.dir=$OUT` with OUT unset: the run would go into the working directory."""
    result = cli(*args)
    assert result.code == 2, result.describe()
    key = args[1].split("=")[0]
    assert f"{key} is empty" in result.err and "unset shell variable" in result.err


def test_a_replay_buffer_larger_than_the_memory_is_refused_before_allocating(cli, tmp_path):
    """TFUniformReplayBuffer allocates its whole capacity at once (a trillion CartPole
    transitions: tens of terabytes); the error names the key to lower, not TF's OOM."""
    run_dir = tmp_path / "run"
    result = cli("train", "buffer.max_length=1000000000000", f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    assert re.search(
        r"would allocate [\d.]+ GiB at once \(buffer\.max_length=1000000000000 x 32 ", result.err
    ), result.describe()
    assert "lower buffer.max_length" in result.err
    assert "ResourceExhausted" not in result.err
    assert not run_dir.exists()  # nothing of the run was made: the corrected command may use it


def test_a_numpy_replay_buffer_larger_than_the_memory_is_refused_the_same_way(cli, tmp_path):
    """PyUniformReplayBuffer's arrays are allocated whole too; it got a generic OOM message."""
    run_dir = tmp_path / "run"
    result = cli(
        "train",
        "env=cartpole",
        "driver=py",
        "buffer=py_uniform",
        "train.env_steps=2000",
        "buffer.max_length=10000000000",
        f"hydra.run.dir={run_dir}",
    )
    assert result.code == 2, result.describe()
    assert not run_dir.exists()
    assert re.search(
        r"buffer=py_uniform would allocate [\d.]+ GiB at once \(buffer\.max_length=10000000000 "
        r"x 1 env copies",
        result.err,
    ), result.describe()
    assert re.search(r"lower buffer\.max_length \(\d+ would take about half", result.err)


def test_tensorflow_out_of_memory_names_the_tensor_and_the_settings(cli, tmp_path):
    run_dir = tmp_path / "run"
    big = "network.fc_layer_params=[1000000,1000000]"  # a 4 TB kernel
    result = cli("train", big, f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()  # while building: refused, nothing kept
    assert "out of memory" in result.err and "shape [1000000,1000000] (float)" in result.err
    assert "network.fc_layer_params" in result.err
    assert "ResourceExhausted" not in result.err
    assert not run_dir.exists()  # nothing of the run was made: the corrected command may use it


@pytest.mark.slow
def test_non_finite_loss_stops_with_the_train_step_and_keeps_the_last_checkpoint(run_cli, tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        "train",
        "plugins=[exploding_reward]",
        "env=exploding_reward",
        "env.explode_after=1500",
        "agent.td_errors_loss_fn=mse",
        "train.env_steps=4000",
        "train.prefill_steps=500",
        "driver.num_steps=100",
        "train.train_steps_per_iteration=20",
        "train.eval_interval=500",
        "train.eval_episodes=1",
        "train.checkpoint_interval=500",
        "train.progress=false",
        "env.name=exploding_reward",
        f"hydra.run.dir={run_dir}",
        cwd=PLUGINS,
    )
    assert result.code == 1, result.describe()
    match = re.search(r"loss is (inf|nan) at train step (\d+)", result.err)
    assert match, result.describe()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "failed"
    assert f"train step {match.group(2)}" in metrics["error"]
    checkpoints = sorted((run_dir / "checkpoints").glob("trainer_state-*.json"))
    assert checkpoints, "the last good checkpoint was not kept"
    last_good = int(checkpoints[-1].stem.split("-")[1])
    assert 500 <= last_good <= 1600


@pytest.mark.parametrize(
    ("fault", "built", "message"),
    [
        (
            "raise",
            False,
            "building env=faulty (faulty_env.build_faulty) failed: RuntimeError: faulty env "
            "raised on purpose; check its settings (env.*: rlexp list env)",
        ),
        ("py_env", False, "env=faulty's builder returned Faulty, not a TF-Agents TFEnvironment"),
        (
            "reset_dtype",
            True,
            "env=faulty returned an observation of dtype int64; its spec says float32 in "
            "reset() after 0 steps",
        ),
    ],
)
def test_a_builder_that_fails_is_named_with_its_option(run_cli, tmp_path, fault, built, message):
    """A build that fails is refused and removes the new run directory; an env that fails
    once built (here at its first reset) fails the run, which keeps its record."""
    run_dir = tmp_path / "run"
    result = run_cli(
        "train",
        "plugins=[faulty_env]",
        "env=faulty",
        f"env.fault={fault}",
        f"hydra.run.dir={run_dir}",
        cwd=PLUGINS,
    )
    if built:
        assert result.code == 1, result.describe()
        assert f"rlexp: training failed: {message}" in result.err, result.describe()
        assert f"run directory: {run_dir}" in result.err
    else:
        assert result.code == 2, result.describe()
        assert f"rlexp: error: {message}" in result.err, result.describe()
        assert f"removed {run_dir}, which held nothing of the run yet" in result.err
        assert not run_dir.exists()
    assert "Traceback" not in result.err and "Error executing job" not in result.err


def test_a_failed_build_ends_without_a_teardown_traceback(run_cli, tmp_path):
    # The env (a batched Python env: its thread pool) is built when the agent's build fails.
    result = run_cli(
        "train",
        "plugins=[faulty_env]",
        "env=faulty",
        "agent=sac",
        "network=actor_distribution_network",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=PLUGINS,
    )
    assert result.code == 2, result.describe()
    assert "rlexp: error: building agent=sac" in result.err, result.describe()
    assert "Exception ignored" not in result.err and "Traceback" not in result.err


@pytest.mark.slow
def test_eval_reports_mean_and_std_and_writes_a_gif(trained_run, cli):
    result = cli("eval", trained_run.run_dir, "episodes=3", "seed=1", "video=true")
    assert result.code == 0, result.describe()
    assert re.search(r"mean -?\d+\.\d+, std \d+\.\d+", result.out)
    gif = trained_run.run_dir / "videos" / "eval_policy_best_seed1.gif"
    assert f"video: {gif}" in result.out
    from PIL import Image

    assert Image.open(gif).n_frames > 1


@pytest.mark.parametrize("option", ["episodes=0", "episodes=x", "video=maybe", "speed=2"])
def test_eval_rejects_bad_options(trained_run, cli, option):
    result = cli("eval", trained_run.run_dir, option)
    assert result.code == 2, result.describe()
    assert option.split("=")[0] in result.err


def test_eval_refuses_an_option_given_twice(trained_run, cli):
    result = cli("eval", trained_run.run_dir, "episodes=3", "episodes=4")
    assert result.code == 2, result.describe()
    assert "episodes is given twice (episodes=3, episodes=4); give it once" in result.err


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    """A copy of the shared run, to damage or edit."""
    return Path(shutil.copytree(trained_run.run_dir, tmp_path / "run"))


@pytest.mark.parametrize("given", ["dot", "symlink"])
def test_eval_of_a_policy_dir_given_as_dot_or_a_symlink(trained_run, cli, tmp_path, given):
    """Its run is the resolved path's parent; the policy is printed resolved (it printed
    `.` or the link's name, which do not say which policy was evaluated)."""
    policy_dir = trained_run.run_dir / "policy"
    if given == "dot":
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(policy_dir)
            result, shown = cli("eval", ".", "episodes=1"), "."
    else:
        shown = tmp_path / "mine"
        shown.symlink_to(policy_dir)
        result = cli("eval", shown, "episodes=1")
    assert result.code == 0, result.describe()
    assert f"policy: {policy_dir.resolve()}\n" in result.out, shown


def test_eval_of_a_policy_folder_moved_out_of_its_run_says_how_to_evaluate_it(
    trained_run, cli, tmp_path
):
    """The env is built from the run's config: the folder alone is refused with both ways
    out, and the second one (its run's .hydra/ copied beside it) works."""
    elsewhere = tmp_path / "elsewhere"
    moved = Path(shutil.copytree(trained_run.run_dir / "policy_best", elsewhere / "pb"))
    result = cli("eval", moved, "episodes=1")
    assert result.code == 2, result.describe()
    assert (
        f"{moved} is a policy folder without its run: rlexp eval builds the env from the "
        f"run's .hydra/config.yaml, and {elsewhere} has none; evaluate it in its run "
        f"directory (rlexp eval <run dir>/pb), or copy the run's .hydra/ folder into {elsewhere}"
    ) in result.err
    shutil.copytree(trained_run.run_dir / ".hydra", elsewhere / ".hydra")
    result = cli("eval", moved, "episodes=1")
    assert result.code == 0, result.describe()


def test_eval_refuses_a_run_with_evaluations_but_no_policy_best(run_copy, cli):
    """policy/ in its place would be a silent swap of the policy asked for."""
    shutil.rmtree(run_copy / "policy_best")
    result = cli("eval", run_copy, "policy=best")
    assert result.code == 2, result.describe()
    assert f"{run_copy} has evaluations in metrics.json but no policy_best/saved_model.pb" in (
        result.err
    )
    assert f"rlexp eval {run_copy} policy=final" in result.err


@pytest.mark.parametrize("metrics", ["missing", "damaged"])
def test_eval_refuses_a_run_without_policy_best_whose_metrics_cannot_say(run_copy, cli, metrics):
    """Whether it never evaluated (policy/ is then the one) or lost its best policy is
    unknown: refused as a run that lost it is, not "records no evaluation"."""
    shutil.rmtree(run_copy / "policy_best")
    if metrics == "missing":
        (run_copy / "metrics.json").unlink()
    else:
        (run_copy / "metrics.json").write_text("{bad")
    result = cli("eval", run_copy, "episodes=1")
    assert result.code == 2, result.describe()
    assert (
        f"{run_copy} has no policy_best/saved_model.pb, and its metrics.json is missing or "
        f"damaged, so whether the run evaluated (and lost its best policy) is unknown; "
        f"evaluate the policy at the end with: rlexp eval {run_copy} policy=final"
    ) in result.err
    assert "records no evaluation" not in result.err and "return over" not in result.out


def test_eval_of_a_run_that_never_evaluated_takes_policy_with_a_note(run_copy, cli):
    shutil.rmtree(run_copy / "policy_best")
    metrics = json.loads((run_copy / "metrics.json").read_text())
    metrics.update(evaluations=[], best_eval_env_steps=None)
    (run_copy / "metrics.json").write_text(json.dumps(metrics))
    result = cli("eval", run_copy, "policy=best", "episodes=1")
    assert result.code == 0, result.describe()
    assert f"{run_copy} has no policy_best/" in result.err
    assert f"policy: {run_copy / 'policy'}\n" in result.out


@pytest.mark.parametrize("status", ["completed", "interrupted"])
def test_eval_of_a_run_without_policy_says_why_by_its_status(run_copy, cli, status):
    """Only a run that has not finished is pointed at `rlexp resume`: a completed one's
    resume has nothing to do."""
    shutil.rmtree(run_copy / "policy")
    metrics = json.loads((run_copy / "metrics.json").read_text())
    (run_copy / "metrics.json").write_text(json.dumps({**metrics, "status": status}))
    result = cli("eval", run_copy, "policy=final")
    assert result.code == 2, result.describe()
    if status == "completed":
        assert f"{run_copy} is a completed run whose policy/saved_model.pb is missing" in (
            result.err
        )
        assert "rlexp resume" not in result.err
    else:
        assert "has not finished (status: interrupted)" in result.err
        assert f"rlexp resume {run_copy}" in result.err


def test_eval_of_a_run_still_training_says_to_wait_not_to_resume(run_copy, cli):
    """A live process holds the run's lock (this one, through its own open of the file):
    `rlexp resume` would be refused, so eval does not suggest it."""
    from rlexp.rundir import RunLock

    shutil.rmtree(run_copy / "policy_best"), shutil.rmtree(run_copy / "policy")
    metrics = json.loads((run_copy / "metrics.json").read_text())
    (run_copy / "metrics.json").write_text(json.dumps({**metrics, "status": "running"}))
    with RunLock(run_copy):
        result = cli("eval", run_copy)
    assert result.code == 2, result.describe()
    assert f"{run_copy} is still training (pid {os.getpid()})" in result.err
    assert "wait for it to end" in result.err and "rlexp resume" not in result.err


def test_eval_of_a_policy_whose_specs_differ_from_the_env_names_them(run_copy, cli):
    """A config edited to another env (or a plugin env whose specs changed): one line, not
    TensorFlow's page of function signatures."""
    config = run_copy / ".hydra" / "config.yaml"
    saved = OmegaConf.load(config)
    saved.env = {"name": "card_game"}
    OmegaConf.save(saved, config)
    result = cli("eval", run_copy, "episodes=1")
    assert result.code == 2, result.describe()
    assert (
        f"the policy in {run_copy / 'policy_best'} does not fit env=card_game (its specs "
        f"differ from the ones it was trained on): observation: the policy takes float32 "
        f"(4,), env=card_game gives int32 (1,)"
    ) in result.err
    assert "Traceback" not in result.output


def test_eval_of_a_policy_whose_action_spec_differs_from_the_env_names_both(run_copy, cli):
    """Same observations, other action bounds (as num_actions edited in the config): the
    episodes would run with actions that mean something else, so eval refuses before them."""
    specs = run_copy / "policy_best" / "policy_specs.pbtxt"
    text = specs.read_text()
    action = text.index('key: "action"')
    maximum = text.index("int64_val: 1", text.index("maximum", action))
    specs.write_text(text[:maximum] + "int64_val: 2" + text[maximum + len("int64_val: 1") :])
    result = cli("eval", run_copy, "episodes=1")
    assert result.code == 2, result.describe()
    assert (
        f"the policy in {run_copy / 'policy_best'} does not fit env=cartpole (its specs differ "
        f"from the ones it was trained on): action: the policy gives int64 () in [0, 2], "
        f"env=cartpole takes int64 () in [0, 1]"
    ) in result.err
    assert "return over" not in result.out


def test_eval_of_a_policy_without_its_specs_file_names_it(run_copy, cli):
    """policy_specs.pbtxt holds the action bounds the check needs (the SavedModel has none)."""
    specs = run_copy / "policy_best" / "policy_specs.pbtxt"
    specs.unlink()
    result = cli("eval", run_copy, "episodes=1")
    assert result.code == 2, result.describe()
    assert f"cannot read the policy's specs {specs}" in result.err
    assert "the run's other policy folder holds the same specs" in result.err


def test_eval_of_a_savedmodel_that_is_not_a_policy_says_so(run_copy, cli):
    import tensorflow as tf

    class Doubler(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def f(self, x):
            return x * 2

    shutil.rmtree(run_copy / "policy_best")
    tf.saved_model.save(Doubler(), str(run_copy / "policy_best"))
    result = cli("eval", run_copy, "episodes=1")
    assert result.code == 2, result.describe()
    assert (
        f"{run_copy / 'policy_best'} is not a TF-Agents policy SavedModel (no "
        f"action/get_initial_state signature)"
    ) in result.err
    assert "Traceback" not in result.output


def test_eval_of_a_damaged_saved_model_names_it_and_the_other_policy(run_copy, cli):
    """TensorFlow's advice for an empty saved_model.pb (pass a tags= argument) does not
    apply to rlexp eval."""
    (run_copy / "policy_best" / "saved_model.pb").write_bytes(b"")
    result = cli("eval", run_copy, "episodes=1")
    assert result.code == 2, result.describe()
    assert f"the SavedModel in {run_copy / 'policy_best'} is damaged or unreadable" in result.err
    assert f"rlexp eval {run_copy} policy=final" in result.err
    assert "tags=" not in result.err and "Traceback" not in result.output


def test_a_video_that_cannot_be_written_leaves_no_partial_gif(tmp_path, monkeypatch):
    """A full disk part-way through the GIF: a 0-byte or cut-off file left there would be
    taken for a file of the user's by the next eval."""
    import errno
    import os

    import numpy as np
    from PIL import Image

    from rlexp.policies import saved

    real_save = Image.Image.save

    def save_on_a_full_disk(self, fp, *args, **kwargs):
        real_save(self, fp, *args, **kwargs)  # written, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Image.Image, "save", save_on_a_full_disk)
    gif = saved.video_path(tmp_path, "policy_best", 0)
    frames = [np.zeros((8, 8, 3), np.uint8)] * 3
    with pytest.raises(saved.PolicyLoadError, match="No space left on device"):
        saved._write_gif(frames, gif)
    assert list(gif.parent.iterdir()) == []
    monkeypatch.undo()
    assert saved._write_gif(frames, gif) == gif and saved._written_by_eval(gif)


def test_no_code_path_loads_pickles_from_files():
    """Run directories hold no pickles: only the sweep's child process unpickles, and only
    what its parent writes to its stdin."""
    allowed = "pickle.loads(sys.stdin.buffer.read())"
    for path in (ROOT / "rlexp").rglob("*.py"):
        text = path.read_text().replace(allowed, "")
        for loader in ("pickle.load", "allow_pickle=True", "joblib.load", "dill.load"):
            assert loader not in text, f"{path}: {loader}"


@pytest.mark.parametrize(
    "message, extra",
    [
        ("In 'hydra/sweeper/optuna_study': Could not load 'hydra/sweeper/optuna'.", "optuna"),
        ("In 'hydra/launcher/ray_local': Could not load 'hydra/launcher/ray'.", "ray"),
        ("In 'hydra/launcher/slurm': Could not load 'hydra/launcher/submitit_slurm'.", "submitit"),
    ],
)
def test_a_plugin_config_hydra_cannot_load_names_its_missing_extra(monkeypatch, message, extra):
    from rlexp import extras
    from rlexp.override_errors import error_text

    monkeypatch.setattr(extras.Extra, "installed", lambda self: False)
    assert f"pip install 'rlexp[{extra}]'" in error_text(RuntimeError(message))


@pytest.mark.parametrize("status", ["interrupted", "failed"])
def test_an_empty_checkpoints_folder_names_a_cause_only_when_it_is_known(tmp_path, status):
    """An interrupted run saved a checkpoint as it stopped: an empty folder means they were
    deleted. Of a run that failed or was killed, the record does not say which it was."""
    from rlexp.training.checkpoints import _no_checkpoint_text

    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "metrics.json").write_text(json.dumps({"status": status, "env_steps": 6737}))
    text = _no_checkpoint_text(tmp_path / "checkpoints")
    if status == "interrupted":
        assert "interrupted at env step 6737" in text and "were deleted or moved" in text
        assert "before its first checkpoint" not in text
    else:
        assert "stopped before its first checkpoint, or its checkpoints were deleted" in text
