"""The trust boundary: nothing in a config (command line, presets, --config-dir files, a
resumed sweep's record) makes Hydra import or run code, or write outside the run directory,
and option names are names. Each refusal: exit 2, the key named, no traceback, no module
imported and no file written or changed."""

from __future__ import annotations

import itertools
import os
import textwrap
from pathlib import Path

import pytest

from rlexp.composition import prepare_registry
from rlexp.trust import TrustError, check_command

_COUNTER = itertools.count()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A working directory holding a module that leaves a marker file when imported, and a
    victim file; `rlexp` runs in it (so outputs/ would land in it)."""
    name = f"marker_{next(_COUNTER)}_{tmp_path.name[-8:].replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "from pathlib import Path\n"
        "Path(__file__).with_name('IMPORTED').write_text('imported')\n"
        "class X:\n    def __init__(self, *a, **k):\n        pass\n"
        "def f(*a, **k):\n    pass\n"
    )
    (tmp_path / "victim.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path)
    return tmp_path, name


def assert_refused(result, root: Path, before: dict, *phrases: str, code: int = 2) -> None:
    assert result.code == code, result.describe()
    for phrase in phrases:
        assert phrase in result.err, f"{phrase!r} not in:\n{result.describe()}"
    assert "Traceback" not in result.output, result.describe()
    assert not (root / "IMPORTED").exists(), "a module named by the config was imported"
    assert snapshot(root) == before, "the refused command wrote or changed files"


CALLBACK_CASES = [
    pytest.param(
        lambda m: [
            "+hydra.callbacks.x._target_=builtins.open",
            "+hydra.callbacks.x._args_=['victim.txt','w']",
            "agent.gamma=2",
        ],
        "hydra.callbacks.x._target_=builtins.open",
        id="callback-open",
    ),
    pytest.param(
        lambda m: [f"+hydra.callbacks.x._target_={m}.X"],
        "hydra.callbacks.x._target_",
        id="callback-module",
    ),
    pytest.param(
        lambda m: ["hydra.callbacks.sweep_review._target_=rlexp.cli.main"],
        "hydra.callbacks.sweep_review._target_=rlexp.cli.main",
        id="callback-rlexp-function",
    ),
    pytest.param(
        lambda m: [f"+hydra.job_logging.handlers.x={{class: {m}.X}}"],
        "hydra.job_logging.handlers.x.class",
        id="logging-handler-class",
    ),
    pytest.param(
        lambda m: [f"hydra.job_logging.handlers.console.stream=ext://{m}.stream"],
        "hydra.job_logging.handlers.console.stream",
        id="logging-ext-import",
    ),
    pytest.param(
        lambda m: ["hydra.job_logging.handlers.file.filename=victim.txt"],
        "inside the run directory",
        id="log-file-outside-the-run",
    ),
    pytest.param(
        lambda m: ["+hydra.job_logging.handlers.file.mode=w"],
        "never truncated",
        id="log-file-truncated",
    ),
    pytest.param(
        lambda m: [f"hydra.searchpath=[pkg://{m}]"], "hydra.searchpath", id="searchpath-pkg"
    ),
    pytest.param(
        lambda m: ["+hydra.job.env_set.LD_PRELOAD=/tmp/x.so"],
        "hydra.job.env_set.LD_PRELOAD",
        id="env-set-ld-preload",
    ),
    pytest.param(
        lambda m: ["hydra.output_subdir=../elsewhere"], "hydra.output_subdir", id="output-subdir"
    ),
    pytest.param(
        lambda m: ["-m", "seed=0,1", f"hydra.launcher._target_={m}.X"],
        "hydra.launcher._target_",
        id="launcher-target",
    ),
    pytest.param(
        lambda m: ["-m", "hydra/sweeper=optuna_study", f"hydra.sweeper.custom_search_space={m}.f"],
        "hydra.sweeper.custom_search_space",
        id="optuna-custom-search-space",
    ),
    pytest.param(
        lambda m: ["-m", "hydra/sweeper=optuna_study", f"hydra.sweeper.sampler._target_={m}.X"],
        "hydra.sweeper.sampler._target_",
        id="optuna-sampler-target",
    ),
    pytest.param(
        lambda m: ["experiment=../../../../../../tmp/x/evil_preset"],
        "an option is a name, not a path",
        id="experiment-path",
    ),
    pytest.param(
        lambda m: ["-m", "experiment=seed_notebook,../../x"],
        "experiment=../../x",
        id="experiment-path-in-a-sweep",
    ),
    pytest.param(
        lambda m: ["--config-path", "/tmp"], "--config-path", id="config-path-replaces-the-tree"
    ),
    pytest.param(
        lambda m: ["--experimental-rerun", "victim.txt"],
        "--experimental-rerun victim.txt: Hydra would unpickle",
        id="rerun-unpickles",
    ),
    # hydra.job.env_set: an allowlist (these load code: git's fsmonitor runs a command at the
    # provenance's `git status`, TensorFlow and OpenSSL load a library)
    pytest.param(
        lambda m: [
            "+hydra.job.env_set.GIT_CONFIG_COUNT=1",
            "+hydra.job.env_set.GIT_CONFIG_KEY_0=core.fsmonitor",
            "+hydra.job.env_set.GIT_CONFIG_VALUE_0=false",
        ],
        "hydra.job.env_set.GIT_CONFIG_KEY_0",
        id="env-set-git-config",
    ),
    pytest.param(
        lambda m: ["+hydra.job.env_set.TF_PLUGGABLE_DEVICE_LIBRARY_PATH=x.so"],
        "set TF_PLUGGABLE_DEVICE_LIBRARY_PATH in your shell if you mean it",
        id="env-set-tf-plugin",
    ),
    pytest.param(
        lambda m: ["-m", "seed=0,1", "+hydra.job.env_set.OPENSSL_CONF=x.cnf"],
        "hydra.job.env_set.OPENSSL_CONF",
        id="env-set-openssl-in-a-sweep",
    ),
    pytest.param(
        lambda m: ["+hydra.job.env_set.PYTHONHASHSEED=0"],
        "hydra.job.env_set.PYTHONHASHSEED",
        id="env-set-python",
    ),
    pytest.param(
        lambda m: ["hydra.job.name=../victim"],
        "hydra.job.name=../victim: a job's name is a plain name",
        id="job-name-path",
    ),
    pytest.param(
        lambda m: ["~hydra.callbacks.claim_run_dir"],
        "hydra.callbacks.claim_run_dir: removed",
        id="claim-callback-removed",
    ),
    pytest.param(
        lambda m: ["hydra.callbacks.claim_run_dir._target_=rlexp.sweeps.callbacks.SweepReview"],
        "hydra.callbacks.claim_run_dir._target_=rlexp.sweeps.callbacks.SweepReview",
        id="claim-callback-swapped",
    ),
    pytest.param(
        lambda m: ["+hydra.callbacks.claim_run_dir.x=1"],
        "hydra.callbacks.claim_run_dir: x would be passed",
        id="claim-callback-argument",
    ),
    pytest.param(
        lambda m: ["+logger@hydra.callbacks.x=tensorboard"],
        "hydra.callbacks.x=",
        id="option-packaged-under-hydra",
    ),
    pytest.param(
        lambda m: ["-m", "seed=0,1", "hydra.job.chdir=true"],
        "hydra.job.chdir=true",
        id="chdir",
    ),
    pytest.param(
        lambda m: ["-m", "seed=0,1", "hydra.sweep.subdir=../important_${hydra.job.num}"],
        "hydra.sweep.subdir=../important_${hydra.job.num}: a sweep job's folder is a relative",
        id="sweep-subdir-up",
    ),
    pytest.param(
        lambda m: ["-m", "seed=0,1", "hydra.sweep.subdir=${now:../x}_${hydra.job.num}"],
        "hydra.sweep.subdir=${now:../x}_${hydra.job.num}: a sweep job's folder is a relative",
        id="sweep-subdir-interpolated",
    ),
    pytest.param(
        lambda m: ["-m", "sweep.objective=final_eval_return,a/../../../x"],
        "sweep.objective=final_eval_return,a/../../../x: a sweep job's folder is named",
        id="sweep-value-up",
    ),
    pytest.param(
        lambda m: ["-m", "seed=0,1", "hydra.job.config.override_dirname.kv_sep=/"],
        "override_dirname.kv_sep=/",
        id="sweep-dirname-separator",
    ),
    pytest.param(
        lambda m: ["hydra.job_logging.handlers.console.stream=${seed}"],
        "hydra.job_logging.handlers.console.stream=${seed}: Hydra resolves this interpolation",
        id="logging-interpolation",
    ),
    pytest.param(
        lambda m: ["hydra.searchpath=[${hydra.job.name}]"],
        "is resolved by Hydra after rlexp's checks",
        id="searchpath-interpolation",
    ),
]


@pytest.mark.parametrize(("overrides", "phrase"), CALLBACK_CASES)
def test_config_that_would_run_code_is_refused(cli, sandbox, overrides, phrase):
    root, module = sandbox
    before = snapshot(root)
    result = cli("train", *overrides(module))
    assert_refused(result, root, before, phrase)
    assert (root / "victim.txt").read_text() == "keep me"


def test_a_top_level_value_is_not_taken_for_an_option_name(cli, tmp_path):
    """`seed` is a value, not a group choice: an interpolation there is Hydra's to judge."""
    result = cli("train", "seed=${oc.decode:'1+1'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.code != 0, result.describe()
    assert "an option is a name" not in result.err
    assert "could not be converted to Integer" in result.err


def write_config_dir(root: Path, files: dict[str, str]) -> Path:
    config_dir = root / "my_configs"
    for name, text in files.items():
        path = config_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return config_dir


@pytest.mark.parametrize(
    ("files", "overrides", "phrase"),
    [
        pytest.param(
            {
                "experiment/evil.yaml": """\
                # @package _global_
                hydra:
                  callbacks:
                    x:
                      _target_: builtins.open
                      _args_: [victim.txt, w]
                """
            },
            ["experiment=evil"],
            "hydra.callbacks.x._target_=builtins.open",
            id="preset-callback",
        ),
        pytest.param(
            {
                "experiment/evil.yaml": """\
                # @package _global_
                hydra:
                  job_logging:
                    handlers:
                      x:
                        class: MODULE.X
                """
            },
            ["experiment=evil"],
            "hydra.job_logging.handlers.x.class=MODULE.X",
            id="preset-logging-handler",
        ),
        pytest.param(
            {
                "experiment/evil.yaml": """\
                # @package _global_
                hydra:
                  hydra_logging:
                    formatters:
                      x:
                        (): MODULE.f
                  job_logging:
                    filters:
                      y:
                        (): MODULE.f
                """
            },
            ["experiment=evil"],
            "hydra.job_logging.filters.y.()=MODULE.f",
            id="preset-logging-factories",
        ),
        pytest.param(
            {"hydra/launcher/mine.yaml": "# @package hydra.launcher\n_target_: MODULE.X\n"},
            ["-m", "hydra/launcher=mine", "seed=0,1"],
            "hydra.launcher._target_=MODULE.X",
            id="launcher-preset",
        ),
        pytest.param(
            {
                "experiment/fine.yaml": "# @package _global_\nseed: 3\n",
                "experiment/evil.yaml": """\
                # @package _global_
                hydra:
                  callbacks:
                    x:
                      _target_: MODULE.X
                """,
            },
            ["-m", "experiment=fine,evil"],
            "hydra.callbacks.x._target_=MODULE.X",
            id="one-sweep-point-preset",
        ),
        pytest.param(
            {
                "mine.yaml": """\
                defaults:
                  - config
                  - _self_
                hydra:
                  searchpath: [pkg://MODULE]
                """
            },
            ["--config-name", "mine"],
            "imports the Python package",
            id="primary-config-searchpath",
        ),
        pytest.param(
            {
                "hydra/job_logging/quiet.yaml": """\
                version: 1
                handlers:
                  file:
                    class: logging.FileHandler
                    filename: ${hydra.runtime.output_dir}/quiet.log
                    ".": {baseFilename: victim.txt, mode: w}
                root:
                  handlers: [file]
                """
            },
            ["hydra/job_logging=quiet"],
            "hydra.job_logging.handlers.file.'.': logging would set these attributes "
            "(baseFilename, mode)",
            id="logging-handler-attributes",
        ),
        pytest.param(
            {
                "experiment/evil.yaml": """\
                # @package _global_
                hydra:
                  job:
                    env_set:
                      GIT_CONFIG_COUNT: "1"
                      GIT_CONFIG_KEY_0: core.fsmonitor
                      GIT_CONFIG_VALUE_0: "false"
                """
            },
            ["experiment=evil"],
            "hydra.job.env_set.GIT_CONFIG_VALUE_0",
            id="preset-env-set",
        ),
        pytest.param(
            {
                "experiment/evil.yaml": """\
                # @package _global_
                hydra:
                  callbacks:
                    claim_run_dir:
                      _target_: rlexp.sweeps.callbacks.SweepReview
                """
            },
            ["experiment=evil"],
            "hydra.callbacks.claim_run_dir._target_=rlexp.sweeps.callbacks.SweepReview",
            id="preset-swaps-the-claim",
        ),
        pytest.param(
            {
                "experiment/evil.yaml": """\
                # @package _global_
                hydra:
                  job_logging:
                    handlers:
                      file: "${oc.create:'{class: MODULE.X}'}"
                """
            },
            ["experiment=evil"],
            "hydra.job_logging.handlers.file=${oc.create:",
            id="preset-logging-node-from-an-interpolation",
        ),
        pytest.param(
            {"experiment/evil.yaml": "# @package _global_\nhydra:\n  job:\n    chdir: true\n"},
            ["-m", "experiment=evil", "seed=0,1"],
            "hydra.job.chdir=true",
            id="preset-chdir",
        ),
    ],
)
def test_config_dir_files_are_checked_too(cli, sandbox, files, overrides, phrase):
    root, module = sandbox
    files = {name: text.replace("MODULE", module) for name, text in files.items()}
    config_dir = write_config_dir(root, files)
    before = snapshot(root)
    result = cli("train", "--config-dir", config_dir, *overrides)
    assert_refused(result, root, before, phrase.replace("MODULE", module))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param([], id="defaults"),
        pytest.param(["hydra/job_logging=disabled", "hydra/hydra_logging=disabled"], id="disabled"),
        pytest.param(["hydra/job_logging=stdout"], id="stdout"),
        pytest.param(["-m", "hydra/sweeper=optuna_study"], id="optuna"),
        pytest.param(["-m", "agent=dqn,ddqn", "seed=0,1"], id="basic-sweep"),
        pytest.param(["-m", "repeat=2", "experiment=seed_notebook"], id="preset-sweep"),
        pytest.param(["+hydra.job.env_set.CUDA_VISIBLE_DEVICES=0"], id="env-set-harmless"),
        pytest.param(
            ["+hydra.job.env_set.OMP_NUM_THREADS=2", "+hydra.job.env_set.MUJOCO_GL=osmesa"],
            id="env-set-run-settings",
        ),
        pytest.param(["hydra.job.env_copy=[HOME]"], id="env-copy"),
        pytest.param(["hydra.job.name=my_job", "hydra.job.chdir=false"], id="job-settings"),
        pytest.param(["-m", "seed=0,1", "hydra.sweep.subdir=run${hydra.job.num}"], id="subdir"),
        pytest.param(
            [
                "-m",
                "seed=0,1",
                "hydra.sweep.subdir=c1-${hydra.job.num}_${hydra.job.override_dirname}",
            ],
            id="continuation-subdir",
        ),
        pytest.param(["-m", "env=gym", "driver=step", "env.gym_id=CartPole-v1,CartPole-v0"]),
    ],
)
def test_rlexp_and_hydra_defaults_pass(overrides):
    prepare_registry(overrides)
    check_command(overrides)  # raises TrustError if refused


@pytest.fixture
def compositions(monkeypatch) -> list[int]:
    """One entry per config the trust check composes."""
    from rlexp import composition

    calls: list[int] = []
    composer = composition.command_composer
    monkeypatch.setattr(composition, "command_composer", lambda *a: calls.append(1) or composer(*a))
    return calls


@pytest.mark.parametrize(
    "overrides, composed",
    [
        pytest.param([], False, id="defaults"),
        pytest.param(["hydra.run.dir=runs/a", "seed=3"], False, id="run-dir"),
        pytest.param(["++hydra.run.dir=runs/a"], False, id="run-dir-forced"),
        pytest.param(["hydra.job.name=x"], True, id="other-hydra-value"),
        pytest.param(["hydra/job_logging=stdout"], True, id="hydra-group"),
    ],
)
def test_a_single_run_is_composed_for_the_check_only_where_hydra_could_run_code(
    overrides, composed, compositions
):
    """Its run directory, a plain string, spares the compose; any other Hydra setting does
    not."""
    prepare_registry(overrides)
    result = check_command(overrides)
    assert bool(compositions) == composed and (result is not None) == composed


def test_a_run_directory_that_is_not_a_string_is_composed_and_refused(compositions):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException):
        check_command(["hydra.run.dir={a: 1}"])
    assert compositions


def test_every_problem_is_listed():
    with pytest.raises(TrustError) as info:
        check_command(["+hydra.callbacks.a._target_=os.system", "+hydra.job.env_set.PYTHONPATH=x"])
    assert len(info.value.problems) == 2


def test_a_sweep_point_that_cannot_be_composed_refuses_the_sweep(cli, sandbox):
    root, _ = sandbox
    before = snapshot(root)
    result = cli("-m", "agent.optimizer=adam,adamx", "agent.gamma=0.9,abc", "seed=0,1")
    assert_refused(result, root, before, "no job was started", "2 sweep point(s)")
    assert "agent.optimizer=adamx" in result.err and "agent.gamma=abc" in result.err


def test_plugin_path_is_refused(cli, sandbox):
    root, _ = sandbox
    before = snapshot(root)
    result = cli("train", "plugins=['../../x']")
    assert_refused(result, root, before, "'../../x' is not a module name")


def test_debug_flag_keeps_the_traceback(cli, sandbox):
    from rlexp.registry import RegistryError

    with pytest.raises(RegistryError):
        cli("--debug", "train", "plugins=['../../x']")


def test_gym_id_with_a_module_prefix_imports_nothing(cli, sandbox):
    root, module = sandbox
    before = snapshot(root)
    result = cli("train", "env=gym", f"env.gym_id={module}:Foo-v0", "driver=step")
    assert_refused(result, root, before, f"plugins=[{module}]", f"env.gym_id={module}:Foo-v0")


def test_rlexp_callbacks_are_the_ones_the_check_keeps():
    from omegaconf import OmegaConf

    from rlexp import registry
    from rlexp.trust import CALLBACKS

    config = OmegaConf.load(registry.CONF_DIR / "config.yaml")
    callbacks = OmegaConf.to_container(config.hydra.callbacks)
    assert callbacks == {key: {"_target_": target} for key, target in CALLBACKS.items()}


def test_sweep_runs_start_without_the_working_directory_on_sys_path(tmp_path, monkeypatch):
    """`python -m` would put the working directory first on sys.path: a `rlexp/` there
    (a job folder's, with hydra.job.chdir) was imported by the run's process. Started as
    the sweep starts them, the processes import the installed rlexp."""
    import subprocess
    import sys

    from omegaconf import OmegaConf

    from rlexp.sweeps import forkserver, job

    started: list[list[str]] = []

    class Recorded:
        def __init__(self, argv, **kwargs):
            started.append(argv)

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    cfg = OmegaConf.create({"plugins": [], "sweep": {"fork_server": False}})
    job._start_training_process(cfg, {})
    forkserver._Server({}).socket.close()
    monkeypatch.undo()
    assert [argv[1:4] for argv in started] == [
        ["-P", "-m", "rlexp.sweeps.child"],
        ["-P", "-m", "rlexp.sweeps.forkserver"],
    ]
    (tmp_path / "rlexp").mkdir()
    (tmp_path / "rlexp" / "__init__.py").write_text("raise SystemExit('the working dir')\n")
    for argv in started:
        flags = argv[1 : argv.index("-m")]
        shown = subprocess.run(
            [sys.executable, *flags, "-c", "import rlexp; print(rlexp.__file__)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )
        assert shown.returncode == 0, shown.stderr
        assert Path(shown.stdout.strip()).parent.parent != tmp_path


# `rlexp resume <sweep dir>` replays sweep.json's command line: it gets the checks a typed
# one does, and announces its plugins before importing them.

SWEEP_OVERRIDES = ["seed=0,1", "train.env_steps=2000"]


def fake_sweep(sweep_dir: Path, overrides=(), hydra_overrides=(), plugins=()) -> Path:
    """A sweep directory as a stopped `rlexp -m` leaves it: its record, and job 0's folder
    with the run's saved config (no training)."""
    import json

    from omegaconf import OmegaConf

    from rlexp.composition import compose_config
    from rlexp.sweeps.sweepers import BASIC_SWEEPER

    job_overrides = ["seed=0", "train.env_steps=2000"]
    job_overrides += [f"plugins=[{','.join(plugins)}]"] if plugins else []
    cfg = compose_config(job_overrides)
    job = sweep_dir / "0_seed=0" / ".hydra"
    job.mkdir(parents=True)
    OmegaConf.save(cfg, job / "config.yaml")
    OmegaConf.save(OmegaConf.create(job_overrides), job / "overrides.yaml")
    invocation = {
        "overrides": [*SWEEP_OVERRIDES, *overrides],
        "hydra_overrides": [f"hydra.sweep.dir={sweep_dir}", *hydra_overrides],
        "sweeper": BASIC_SWEEPER,
    }
    record = {"invocations": [invocation], "status": "interrupted"}
    (sweep_dir / "sweep.json").write_text(json.dumps(record))
    return sweep_dir


@pytest.mark.parametrize(
    ("overrides", "hydra_overrides", "phrase"),
    [
        pytest.param(
            [],
            [
                "+hydra.job.env_set.GIT_CONFIG_COUNT=1",
                "+hydra.job.env_set.GIT_CONFIG_KEY_0=core.fsmonitor",
                "+hydra.job.env_set.GIT_CONFIG_VALUE_0=false",
            ],
            "hydra.job.env_set.GIT_CONFIG_COUNT",
            id="env-set",
        ),
        pytest.param(
            [], ["hydra.sweep.subdir=../important_${hydra.job.num}"], "hydra.sweep.subdir",
            id="subdir",
        ),
        pytest.param(
            [], ["+hydra.callbacks.x._target_=MODULE.X"], "hydra.callbacks.x._target_=MODULE.X",
            id="callback",
        ),
        pytest.param(["plugins=[MODULE]"], [], "names the plugins []", id="plugin-of-no-job"),
        pytest.param(
            ["--experimental-rerun=victim.txt"], [], "a command-line flag", id="hydra-flag"
        ),
        pytest.param(["+train.x=${oc.env:HOME}"], [], "an environment variable", id="env-var"),
        pytest.param([["seed=0"]], [], "not an override", id="not-text"),
    ],
)
def test_a_tampered_sweep_record_is_refused_before_anything_runs(
    cli, sandbox, overrides, hydra_overrides, phrase
):
    root, module = sandbox
    sweep_dir = fake_sweep(
        root / "sweep",
        [o.replace("MODULE", module) if isinstance(o, str) else o for o in overrides],
        [o.replace("MODULE", module) for o in hydra_overrides],
    )
    before = snapshot(root)
    result = cli("resume", sweep_dir)
    assert_refused(result, root, before, phrase.replace("MODULE", module))
    assert "sweep.json" in result.err


def test_a_resumed_sweep_announces_its_plugins_before_importing_them(sandbox, capsys):
    from rlexp.sweeps.resume import sweep_argv

    root, module = sandbox
    sweep_dir = fake_sweep(root / "sweep", [f"plugins=[{module}]"], plugins=[module])
    argv, invocation = sweep_argv(sweep_dir)
    err = capsys.readouterr().err
    assert f"rlexp resume: importing the plugins {sweep_dir / 'sweep.json'} names: {module}" in err
    assert "use only sweep directories you trust" in err
    assert (root / "IMPORTED").exists() and invocation == 0
    assert argv[0] == "-m" and f"plugins=[{module}]" in argv


@pytest.mark.parametrize(
    "overrides",
    [
        ["-m", "agent=ppo,reinforce", "agent.entropy_regularization=0.01"],
        ["agent=ppo", "agent.entropy_regularization=0.01", "hydra.job.name=x"],
    ],
    ids=["swept-options", "single-run"],
)
def test_a_key_that_every_chosen_option_has_passes(overrides):
    """The default option (dqn) lacks it, but no point of the sweep uses that option."""
    prepare_registry(overrides)
    assert check_command(overrides) is not None


def test_a_key_some_swept_options_lack_names_them():
    from rlexp.trust import SweepPointError

    overrides = ["-m", "agent=dqn,c51", "agent.num_atoms=21", "seed=0,1"]
    prepare_registry(overrides)
    with pytest.raises(SweepPointError) as info:
        check_command(overrides)
    text = str(info.value)
    assert "2 sweep point(s) cannot be composed" in text
    assert text.count("agent.num_atoms: agent=dqn has no such key") == 1
    assert "c51" not in text


def test_a_key_every_swept_option_lacks_keeps_its_suggestion():
    from rlexp.trust import SweepPointError

    overrides = ["-m", "agent=ppo,reinforce", "agent.gama=0.9"]
    prepare_registry(overrides)
    with pytest.raises(SweepPointError) as info:
        check_command(overrides)
    assert "agent.gama=0.9: unknown key; did you mean agent.gamma?" in str(info.value)


def test_a_problem_of_every_point_is_found_without_composing_the_points(monkeypatch):
    """`seed=0,...,199 sweep.intra_op_threads=-1` took 30 s to refuse: the base config has
    the problem, and no swept value touches its key."""
    from rlexp import trust

    overrides = ["-m", "seed=0,1,2", "sweep.intra_op_threads=-1"]
    prepare_registry(overrides)
    monkeypatch.setattr(trust, "sweep_points", lambda *a: pytest.fail("composed the points"))
    with pytest.raises(trust.SweepPointError, match="sweep.intra_op_threads=-1: must be >= 0"):
        check_command(overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        # swept key named
        ["-m", "train.prefill_steps=100,200", "train.env_steps=1000", "driver.num_steps=512"],
        ["-m", "agent=sac,ppo", "env=pendulum", "network=actor_distribution_network"],  # group
    ],
    ids=["swept-key", "swept-group"],
)
def test_a_base_problem_a_swept_value_may_fix_is_left_to_the_points(overrides):
    """The base config (prefill_steps 1000; agent=dqn, which pendulum does not fit) is
    invalid, but no sweep point is."""
    prepare_registry(overrides)
    assert check_command(overrides) is not None


def test_checking_many_sweep_points_is_announced(monkeypatch, capsys):
    from rlexp import trust

    monkeypatch.setattr(trust, "NOTICE_POINTS", 2, raising=False)
    for seeds, shown in (("0,1", False), ("0,1,2", True)):
        overrides = ["-m", f"seed={seeds}"]
        prepare_registry(overrides)
        check_command(overrides)
        err = capsys.readouterr().err
        assert ("rlexp: checking 3 sweep points ..." in err) == shown, err
