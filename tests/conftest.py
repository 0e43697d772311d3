"""Shared fixtures: repository paths, CLI runners (subprocess and in-process), the one
end-to-end training run and the one 2x2 sweep the whole session shares (TF runs are slow
on a small box)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PYTHON = Path(sys.executable)
RLEXP = PYTHON.parent / "rlexp"
PLUGINS = ROOT / "tests" / "plugins"
SUBPROCESS_TIMEOUT = 300
SWEEP_TIMEOUT = 900

# A run of a few thousand env steps: every trigger fires at least twice. On gym's
# CartPole-v1 (a Python env: `rlexp eval video=true` renders it).
E2E_OVERRIDES = (
    "env=cartpole",
    "driver=step",
    "driver.num_steps=512",
    "train.env_steps=2000",
    "train.eval_interval=1000",
    "train.summary_interval=500",
    "train.checkpoint_interval=1000",
    "train.eval_episodes=2",
    "train.progress=false",
)


# Sweep runs of a thousand env steps: two evaluations each, a few seconds of training.
SWEEP_RUN_OVERRIDES = (
    "train.env_steps=1000",
    "train.eval_interval=500",
    "train.eval_episodes=2",
    "train.prefill_steps=100",
    "driver.num_steps=100",
    "train.train_steps_per_iteration=10",
    "train.summary_interval=250",
    "train.checkpoint_interval=1000",
    "train.progress=false",
)


# Session fixtures that train: under pytest-xdist (`make test`), the tests that use one run
# on the same worker, so it trains once; every other test stays with its module's.
SHARED_RUNS = ("sweep_2x2", "trained_run")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        shared = next((name for name in SHARED_RUNS if name in item.fixturenames), None)
        item.add_marker(pytest.mark.xdist_group(shared or item.module.__name__))


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return f"{self.out}\n{self.err}"

    def describe(self) -> str:
        return f"exit code {self.code}\n--- stdout ---\n{self.out}\n--- stderr ---\n{self.err}"


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.pop("HYDRA_FULL_ERROR", None)
    env.pop("PYTHONPATH", None)
    return env


def _run(argv: list[str], cwd: Path | None, timeout: float = SUBPROCESS_TIMEOUT) -> CliResult:
    proc = subprocess.run(
        argv,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_subprocess_env(),
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _keep_absl_off_pytest_capture() -> None:
    """Test-harness guard, not an rlexp concern.

    Hydra sets up job logging with `logging.config.dictConfig`, which closes every handler
    ever created. absl's handler (created when TensorFlow is imported) then closes its stream
    unless that is the current sys.stderr; after TF was imported in this process, its stream
    is pytest's capture file, and closing it kills pytest. absl writes to the current
    sys.stderr anyway before its flags are parsed, so point the stream at the real stderr.
    """
    absl_logging = sys.modules.get("absl.logging")
    if absl_logging is not None:
        absl_logging.get_absl_handler().python_handler.stream = sys.__stderr__


def invoke_main(*args: Any) -> CliResult:
    """`rlexp.cli.main(args)` in this process; a SystemExit counts as its exit code."""
    from rlexp.cli import main

    _keep_absl_off_pytest_capture()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture(autouse=True)
def _plugins_stay_in_their_test() -> Any:
    """Test-harness guard: components a test's in-process plugin import registered leave
    the registry, Hydra's ConfigStore and (their module) sys.modules with the test. Left
    there, a later in-process sweep would pickle their schemas for workers that cannot
    import the plugin's module. rlexp's own components stay, whenever they were loaded."""
    from rlexp import registry

    before = set(registry._REGISTRY)
    yield
    added = {}  # -> the plugin's modules: it may register a built-in builder or schema
    for key in set(registry._REGISTRY) - before:
        component = registry._REGISTRY[key]
        modules = {component.module, component.schema.__module__}
        plugin = [m for m in modules if not m.startswith("rlexp.")]
        if plugin:
            added[key] = plugin
    if not added:
        return
    from hydra.core.config_store import ConfigStore

    repo = ConfigStore.instance().repo
    for (group, name), modules in added.items():
        for folder in (repo.get("schema", {}).get(group, {}), repo.get(group, {})):
            folder.pop(f"{name}.yaml", None)
        for module in modules:
            sys.modules.pop(module, None)  # imported again, it registers again
        del registry._REGISTRY[(group, name)]


@pytest.fixture
def run_cli() -> Callable[..., CliResult]:
    """Run the installed `rlexp` console script: run_cli("train", "x=1", cwd=...)."""

    def run(*args: Any, cwd: Path | None = None) -> CliResult:
        return _run([str(RLEXP), *map(str, args)], cwd)

    return run


@pytest.fixture
def run_python() -> Callable[..., CliResult]:
    """Run `python -c code` with the project's interpreter in a fresh process."""

    def run(code: str, cwd: Path | None = None) -> CliResult:
        return _run([str(PYTHON), "-c", code], cwd)

    return run


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Run `rlexp.cli.main([...])` in-process (cheap when it fails before TensorFlow)."""
    return invoke_main


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@dataclass
class TrainedRun:
    run_dir: Path
    result: CliResult
    metrics: dict[str, Any]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """One short CartPole run through the real CLI, shared by every end-to-end test."""
    run_dir = tmp_path_factory.mktemp("e2e") / "run"
    result = invoke_main("train", *E2E_OVERRIDES, f"hydra.run.dir={run_dir}")
    assert result.code == 0, f"end-to-end training failed:\n{result.describe()}"
    metrics_file = run_dir / "metrics.json"
    assert metrics_file.is_file(), f"no metrics.json in {run_dir}:\n{result.describe()}"
    return TrainedRun(run_dir, result, json.loads(metrics_file.read_text()))


def run_sweep(*args: Any, cwd: Path | None = None) -> CliResult:
    """`rlexp -m <args>` as a user types it (a subprocess: the launcher forks workers)."""
    return _run([str(RLEXP), "-m", *map(str, args)], cwd, timeout=SWEEP_TIMEOUT)


@dataclass
class FinishedSweep:
    dir: Path
    result: CliResult

    def job_dirs(self) -> list[Path]:
        return sorted(p for p in self.dir.iterdir() if p.is_dir() and p.name[0].isdigit())


@pytest.fixture(scope="session")
def sweep_2x2(tmp_path_factory: pytest.TempPathFactory) -> FinishedSweep:
    """Two learning rates x two seeds (repeat=2) through the default joblib launcher."""
    sweep_dir = tmp_path_factory.mktemp("sweep") / "multirun"
    result = run_sweep(
        "agent.learning_rate=1e-3,1e-4",
        "repeat=2",
        "env=cartpole",
        *SWEEP_RUN_OVERRIDES,
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert result.code == 0, f"the 2x2 sweep failed:\n{result.describe()}"
    return FinishedSweep(sweep_dir, result)


def collect_env_steps(ctx: Any, driver: Any, steps: int) -> None:
    """Run the trainer's collect call on built components until `steps` env steps are done."""
    from tf_agents.metrics import tf_metrics

    from rlexp import drivers

    counter = tf_metrics.EnvironmentSteps()
    ctx.observers.append(counter)
    collect = drivers.collect_fn(driver)
    time_step = ctx.env.current_time_step()
    policy_state = ctx.policy.get_initial_state(ctx.env.batch_size)
    while int(counter.result()) < steps:
        time_step, policy_state = collect(time_step, policy_state)
    ctx.observers.remove(counter)


@contextlib.contextmanager
def sigterm_once_past(env_step: int, after: str = "summarize") -> Iterator[None]:
    """While the block runs, the first `Runner.<after>` call (`summarize`, `run_loop_until`)
    that returns at or past `env_step` sends this process SIGTERM: an in-process run stops
    where a test wants it to."""
    from rlexp.training.runner import Runner

    original = getattr(Runner, after)

    def then_signal(runner: Any, *args: Any) -> Any:
        result = original(runner, *args)
        if runner.env_steps() >= env_step and not runner.should_stop():
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(Runner, after, then_signal)
        yield
