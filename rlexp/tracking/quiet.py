"""Keep TensorFlow's and absl's start-up chatter out of the user's terminal."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings


def quiet_tensorflow() -> None:
    """Call before TensorFlow is imported: errors still show, info chatter does not."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for name in ("absl", "tensorflow", "h5py", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(tensorflow|tf_agents|gym)")
    with contextlib.redirect_stderr(io.StringIO()):  # gym's import-time notice
        import gym  # noqa: F401
