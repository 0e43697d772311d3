"""Network builders (config group `network`)."""

from rlexp.networks import (  # noqa: F401  (registers their options)
    actor_networks,
    q_network,
    value_networks,
)
from rlexp.networks.layers import build_network  # noqa: F401
