"""The training process of one sweep run: `python -m rlexp.sweeps.child [plugin ...]`, or a
fork of the worker's fork server (`rlexp.sweeps.forkserver`), which ran `preload()` once.

Reads the pickled run config and Hydra settings from stdin, limits TensorFlow's thread
pools before TensorFlow initialises, then runs `rlexp.training.job.run_job` exactly as a single
`rlexp train` would (same validation, training, failure records and messages).
"""

from __future__ import annotations

import os
import pickle
import sys


def limit_threads() -> tuple[int, int]:
    """Apply TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS (set by the job) to TensorFlow,
    which `preload()` imported (quietly) and no op has initialised yet."""
    import tensorflow as tf

    intra = int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0"))
    inter = int(os.environ.get("TF_NUM_INTEROP_THREADS", "0"))
    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    return (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )


def preload() -> None:
    """What every run imports before its config: TensorFlow, TF-Agents, rlexp's components."""
    from rlexp.tracking.quiet import quiet_tensorflow

    quiet_tensorflow()
    import tensorflow  # noqa: F401

    from rlexp import registry
    from rlexp.training import job, runner, trainer  # noqa: F401

    registry.load_builtins()


def main(plugins: list[str]) -> int:
    """Train the run the job sends; a stop that comes before the trainer's own handlers is
    recorded (`rlexp.stop_signals`), and the run stops before it begins."""
    from rlexp import stop_signals

    with stop_signals.recorded():
        return _train_the_payload(plugins)


def _train_the_payload(plugins: list[str]) -> int:
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import setup_globals
    from omegaconf import OmegaConf

    from rlexp import registry

    preload()
    registry.load_plugins(plugins)  # their schemas must exist before the config unpickles
    payload = pickle.loads(sys.stdin.buffer.read())
    setup_globals()
    # What HydraConfig.get() answers in a job, from plain data: `runtime.output_dir` is the
    # run's folder, the rest is the job's own Hydra settings.
    HydraConfig.instance().cfg = OmegaConf.create({"hydra": payload["hydra"]})
    intra, inter = limit_threads()
    print(f"TensorFlow threads: intra-op {intra}, inter-op {inter}", flush=True)

    from rlexp.training.job import run_job

    run_job(payload["cfg"], resume=payload["resume"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
