"""The trust boundary: nothing in a config (command line, presets, --config-dir files) makes
Hydra import or run code, and option names are names. Each refusal: exit 2, the key named,
no traceback, no module imported and no file written or changed."""

from __future__ import annotations

import itertools
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
