"""`train.jit_compile`: the fused loop compiled by XLA (the default) or run in TF's graph
mode. The modes' results differ, but within each a run repeats bit for bit and a resumed
run continues exactly as the uninterrupted one. XLA compiles the loop as one cluster, or as
two (collection, train steps) where every trigger point is one iteration from the last;
both forms give the same results."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import PLUGINS, invoke_main
from test_fused import TINY_FUSED
from test_reproducibility import comparable

from rlexp.composition import compose_config
from rlexp.training import xla

MODES = {
    "xla": ["train.jit_compile=true"],
    "graph": ["train.jit_compile=false"],
    # an iteration between trigger points (driver.num_steps = the summary interval): the
    # collection and the train steps are two XLA clusters (`fused.XlaLoop`)
    "xla, two clusters": [
        "train.jit_compile=true",
        "driver.num_steps=200",
        "train.summary_interval=200",
        "train.eval_interval=400",
    ],
}
# The same iterations and evaluations, with summaries two iterations apart: one cluster.
ONE_CLUSTER = [*MODES["xla, two clusters"], "train.summary_interval=400"]
XLA = [*TINY_FUSED, *MODES["xla"]]
# A Q network with an op XLA has no kernel for (tests/plugins/xla_refused_network.py).
REFUSED = ["plugins=[xla_refused_network]", "network=xla_refused"]


def _train(run_dir: Path, resume: bool = False, mode: str = "xla") -> dict:
    from rlexp.training.trainer import train

    return train(compose_config([*TINY_FUSED, *MODES[mode]]), run_dir, resume=resume)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    return _train(tmp_path_factory.mktemp("xla") / "run")


@pytest.fixture(scope="module")
def graph_reference(tmp_path_factory) -> dict:
    return _train(tmp_path_factory.mktemp("graph") / "run", mode="graph")


def test_xla_run_trains_and_repeats_bitwise(reference, tmp_path, monkeypatch):
    from rlexp.training import fused

    assert reference["status"] == "completed"
    assert reference["train_steps"] > 0
    builds = []
    make = fused.make_fused_loop
    monkeypatch.setattr(fused, "make_fused_loop", lambda *a, **k: builds.append(1) or make(*a, **k))
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert comparable(_train(tmp_path / "again")) == comparable(reference)
    assert os.environ["XLA_FLAGS"] == f"--xla_disable_hlo_passes={xla.SKIPPED_PASSES}"
    # A segment starts at the 600-step checkpoint too: it reseeds the loop compiled once.
    assert len(builds) == 1


@pytest.fixture(scope="module")
def two_cluster_reference(tmp_path_factory) -> dict:
    return _train(tmp_path_factory.mktemp("two_clusters") / "run", mode="xla, two clusters")


def test_the_loop_in_two_clusters_repeats_bitwise_and_equals_the_one_cluster_loop(
    two_cluster_reference, tmp_path, monkeypatch
):
    from rlexp.training import fused
    from rlexp.training.trainer import train

    built = []
    init = fused.XlaLoop.__init__
    monkeypatch.setattr(fused.XlaLoop, "__init__", lambda *a: built.append(1) or init(*a))
    assert comparable(_train(tmp_path / "again", mode="xla, two clusters")) == comparable(
        two_cluster_reference
    )
    assert len(built) == 1  # compiled once, reseeded at the checkpoint's segment
    one_cluster = train(compose_config([*TINY_FUSED, *ONE_CLUSTER]), tmp_path / "one")
    assert len(built) == 1
    assert comparable(one_cluster) == comparable(two_cluster_reference)


@pytest.mark.parametrize("mode", list(MODES))
def test_a_run_stopped_at_a_checkpoint_resumes_exactly(mode, request, tmp_path, monkeypatch):
    from rlexp.training import trainer

    fixture = {"xla": "reference", "graph": "graph_reference"}.get(mode, "two_cluster_reference")
    reference = request.getfixturevalue(fixture)
    run_dir = tmp_path / "run"

    class StopAfterFirstCheckpoint(trainer.StopRequest):
        """As if SIGTERM arrived while the first checkpoint was written."""

        def __call__(self) -> bool:
            if self.signum is None and list(run_dir.glob("checkpoints/ckpt-*.index")):
                self.signum = 15
            return super().__call__()

    monkeypatch.setattr(trainer, "StopRequest", StopAfterFirstCheckpoint)
    with pytest.raises(trainer.Interrupted) as stopped:
        _train(run_dir, mode=mode)
    assert 0 < stopped.value.metrics.env_steps < reference["env_steps"]
    monkeypatch.undo()
    resumed = _train(run_dir, resume=True, mode=mode)
    assert comparable(resumed) == comparable(reference)


def test_xla_exploration_draws_from_its_seeded_generator():
    """The XLA loop's epsilon-greedy: greedy where the draw is >= epsilon, else a uniform
    random action, both from the generator it is given (XLA seeds stateful ops randomly)."""
    import numpy as np
    import tensorflow as tf
    from tf_agents.policies.epsilon_greedy_policy import EpsilonGreedyPolicy
    from tf_agents.policies.greedy_policy import GreedyPolicy

    from rlexp.policies.seeded_exploration import seeded_epsilon_greedy, supports
    from rlexp.training.build import build_components

    ctx, _ = build_components(compose_config(XLA))
    q_policy = ctx.agent.collect_policy.wrapped_policy
    assert supports(ctx.agent.collect_policy)
    assert not supports(GreedyPolicy(q_policy))
    time_step = ctx.env.reset()

    def actions(epsilon: float, seed: int) -> np.ndarray:
        policy = EpsilonGreedyPolicy(q_policy, epsilon)
        seeded = seeded_epsilon_greedy(policy, tf.random.Generator.from_seed(seed))
        return np.stack([seeded.action(time_step).action.numpy() for _ in range(16)])

    greedy = GreedyPolicy(q_policy).action(time_step).action.numpy()
    assert (actions(0.0, 1) == greedy).all()
    explored = actions(1.0, 1)
    assert set(np.unique(explored)) == {0, 1}
    assert (explored == actions(1.0, 1)).all()
    assert (explored != actions(1.0, 2)).any()


@pytest.mark.slow
def test_xla_with_another_collect_policy_compiles_the_train_steps_only(
    reference, tmp_path, monkeypatch
):
    """A collect policy the seeded exploration cannot stand in for keeps its collect step
    outside XLA; such a run trains and repeats bit for bit."""
    from rlexp.policies import seeded_exploration

    monkeypatch.setattr(seeded_exploration, "supports", lambda policy: False)
    first = _train(tmp_path / "first")
    assert first["status"] == "completed" and first["train_steps"] == reference["train_steps"]
    assert comparable(_train(tmp_path / "again")) == comparable(first)


def test_a_loop_xla_cannot_compile_fails_naming_the_op_and_the_fix(tmp_path, monkeypatch):
    import json

    from rlexp.training.runner import TrainingError
    from rlexp.training.trainer import train

    monkeypatch.syspath_prepend(str(PLUGINS))
    expected = r"XLA cannot compile the op PyFunc \(node .*PyFunc\).*train.jit_compile=false"
    with pytest.raises(TrainingError, match=expected):
        train(compose_config([*XLA, *REFUSED]), tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "failed"


def test_evaluations_xla_cannot_compile_play_again_in_graph_mode(tmp_path, monkeypatch, capsys):
    """The greedy policy XLA refuses is evaluated in TF's graph mode from the same seed:
    the run's results equal those of evaluations never tried under XLA."""
    from rlexp.training import runner
    from rlexp.training.trainer import train

    monkeypatch.syspath_prepend(str(PLUGINS))
    graph = [*TINY_FUSED, "train.jit_compile=false", *REFUSED]
    fallen_back = train(compose_config(graph), tmp_path / "fallback")
    assert "evaluations run in TF's graph mode" in capsys.readouterr().out
    make_evaluator = runner.make_evaluator
    monkeypatch.setattr(runner, "make_evaluator", lambda *a, **_: make_evaluator(*a[:3]))
    assert comparable(train(compose_config(graph), tmp_path / "graph")) == comparable(fallen_back)


@pytest.mark.parametrize(
    "before, after",
    [
        (None, f"--xla_disable_hlo_passes={xla.SKIPPED_PASSES}"),
        (
            "--xla_dump_to=/tmp/x",
            f"--xla_dump_to=/tmp/x --xla_disable_hlo_passes={xla.SKIPPED_PASSES}",
        ),
        ("--xla_disable_hlo_passes=fusion", "--xla_disable_hlo_passes=fusion"),  # the user's
    ],
)
def test_runs_skip_slow_xla_passes_and_keep_the_users_flags(before, after, monkeypatch):
    if before is None:
        monkeypatch.delenv("XLA_FLAGS", raising=False)
    else:
        monkeypatch.setenv("XLA_FLAGS", before)
    xla.skip_slow_passes()
    assert os.environ["XLA_FLAGS"] == after


def test_a_persistent_xla_cache_that_fails_every_compile_is_refused_before_the_run(
    tmp_path, monkeypatch
):
    """TF 2.15's CPU build fails every XLA compile that TF_XLA_FLAGS has saved to a
    persistent cache: the run is refused before it starts, naming the flag."""
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_persistent_cache_directory=/tmp/xla-cache")
    run_dir = tmp_path / "run"
    result = invoke_main("train", *XLA, f"hydra.run.dir={run_dir}")
    assert result.code == 2, result.describe()
    assert "--tf_xla_persistent_cache_directory=/tmp/xla-cache" in result.err, result.err
    assert "Remove that flag from TF_XLA_FLAGS" in result.err, result.err
    assert not run_dir.exists()


@pytest.mark.parametrize(
    "flags",
    [
        "--tf_xla_persistent_cache_directory=/c --tf_xla_persistent_cache_read_only=true",
        "--tf_xla_persistent_cache_directory=",
        "--tf_xla_persistent_cache_directory= --tf_xla_auto_jit=0",
    ],
)
def test_a_persistent_xla_cache_only_read_or_not_named_is_accepted(flags, monkeypatch):
    monkeypatch.setenv("TF_XLA_FLAGS", flags)
    assert xla.persistent_cache_problem() is None


@pytest.mark.parametrize(
    ("overrides", "compiles"),
    [
        ([], True),
        (["train.jit_compile=false"], True),  # the evaluation on a native TF env
        (["experiment=dqn_gym_cartpole"], False),  # the step loop of a gym env
        (["env=cartpole", "driver=step"], False),
    ],
)
def test_a_run_uses_xla_where_its_fused_loop_or_its_evaluation_compiles(overrides, compiles):
    from rlexp.training.runner import uses_xla

    assert uses_xla(compose_config(overrides)) is compiles
