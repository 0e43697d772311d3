"""Network builders (config group `network`)."""

from rlexp.networks import q_network  # noqa: F401  (registers its options)
