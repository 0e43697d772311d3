"""The exported policies: policy/ holds the final weights, policy_best/ the kept ones and
the train step of their evaluation."""

from __future__ import annotations

import numpy as np


def test_policy_best_holds_the_kept_weights_and_policy_the_final_ones(tmp_path):
    import tensorflow as tf
    from tf_agents.networks import q_network
    from tf_agents.policies import q_policy
    from tf_agents.specs import tensor_spec
    from tf_agents.trajectories import time_step as ts

    from rlexp.training.export import BestPolicy

    observation = tensor_spec.TensorSpec((4,), tf.float32)
    action = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
    network = q_network.QNetwork(observation, action, fc_layer_params=(8,))
    network.create_variables()
    policy = q_policy.QPolicy(ts.time_step_spec(observation), action, network)
    train_step = tf.Variable(7, dtype=tf.int64)
    best = BestPolicy(policy, train_step)
    best.keep()
    train_step.assign(9)
    kept = [v.numpy() for v in policy.variables()]
    for variable in policy.variables():
        variable.assign_add(tf.ones_like(variable))
    final = [v.numpy() for v in policy.variables()]

    best.export(tmp_path, best_train_step=7)

    for name, expected, step in (("policy", final, 9), ("policy_best", kept, 7)):
        loaded = tf.saved_model.load(str(tmp_path / name))
        values = [v.numpy() for v in loaded.model_variables]
        assert len(values) == len(expected)
        for got, want in zip(values, expected, strict=True):
            np.testing.assert_array_equal(got, want)
        assert int(loaded.get_train_step()) == step
    for got, want in zip(policy.variables(), final, strict=True):  # the live policy is intact
        np.testing.assert_array_equal(got.numpy(), want)
    assert int(train_step.numpy()) == 9

