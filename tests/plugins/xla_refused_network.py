"""A Q network with an op XLA has no kernel for (`tf.numpy_function`): TF's graph mode runs
it, XLA refuses it."""

from dataclasses import dataclass

from rlexp.networks.layers import dense_layers
from rlexp.networks.q_network import QNetworkConfig
from rlexp.registry import register


@dataclass
class XlaRefusedConfig(QNetworkConfig):
    pass


@register("network", "xla_refused", schema=XlaRefusedConfig, doc="QNetwork with a PyFunc.")
def build_xla_refused(cfg: XlaRefusedConfig, context):
    import tensorflow as tf
    from tf_agents.networks import q_network

    class PyFuncQNetwork(q_network.QNetwork):
        def call(self, observation, step_type=None, network_state=(), training=False):
            same = tf.numpy_function(lambda x: x, [observation], observation.dtype)
            observation = tf.reshape(same, tf.shape(observation))
            return super().call(observation, step_type, network_state, training)

    spec = context.env.observation_spec()
    return PyFuncQNetwork(spec, context.env.action_spec(), **dense_layers(cfg))
