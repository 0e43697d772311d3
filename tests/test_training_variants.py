"""Short `train()` runs through the non-default paths: the native TF env with prioritized
Reverb replay, the py driver over batched and parallel env copies, the NumPy buffer."""

from __future__ import annotations

import math

import pytest

from rlexp.composition import compose_config
from rlexp.extras import EXTRAS

needs_reverb = pytest.mark.skipif(not EXTRAS["reverb"].installed(), reason="no reverb extra")

TINY_RUN = [
    "train.env_steps=400",
    "train.prefill_steps=100",
    "driver.num_steps=100",
    "train.train_steps_per_iteration=2",
    "train.eval_interval=400",
    "train.eval_episodes=2",
    "train.summary_interval=200",
    "train.checkpoint_interval=400",
    "train.progress=false",
]

VARIANTS = [
    pytest.param(
        ["env=cartpole_tf", "buffer=reverb_prioritized"],
        marks=needs_reverb,
        id="cartpole_tf-reverb_prioritized",
    ),
    pytest.param(
        ["env=card_game", "env.num_parallel_envs=2", "driver=py", "buffer=reverb_uniform"],
        marks=needs_reverb,
        id="card_game-batched-py_driver-reverb_uniform",
    ),
    pytest.param(
        ["env=cartpole", "env.num_parallel_envs=2", "env.batching=parallel"],
        id="cartpole-parallel-processes",
    ),
    pytest.param(["env=card_game", "driver=py", "buffer=py_uniform"], id="card_game-py_uniform"),
    pytest.param(["env=cartpole", "driver=step"], id="gym-cartpole-step_driver"),
    pytest.param(["env=cartpole_tf", "driver=fused"], id="cartpole_tf-fused_driver"),
]


@pytest.mark.parametrize("overrides", VARIANTS)
def test_variant_trains(overrides, tmp_path):
    from rlexp.training.trainer import train

    metrics = train(compose_config([*overrides, *TINY_RUN]), tmp_path)
    assert metrics["status"] == "completed"
    assert metrics["env_steps"] >= 400
    assert metrics["train_steps"] > 0
    assert math.isfinite(metrics["final_eval_return"])
    assert list((tmp_path / "checkpoints").glob("ckpt-*.index"))
    assert (tmp_path / "policy" / "saved_model.pb").is_file()
