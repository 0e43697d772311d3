"""Driver builders (config group `driver`)."""

from rlexp.drivers import dynamic  # noqa: F401  (registers its options)
