"""Checkpoints a run can be resumed from, and the event-file trim that resuming needs.

A checkpoint is TensorFlow's (agent, optimizer, train step, replay buffer, metrics) plus
a JSON sidecar with the trainer's own state (evaluations so far, trigger positions, wall
time). The sidecar is written first and TensorFlow's `checkpoint` index last (atomically),
so the index never names a checkpoint whose sidecar or data files are incomplete.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rlexp.training.run_files import write_json_atomic

CHECKPOINT_DIR = "checkpoints"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable or does not fit the run's config."""


def sidecar_path(run_dir: Path, env_steps: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"trainer_state-{env_steps}.json"


def save(manager, run_dir: Path, env_steps: int, trainer_state: dict[str, Any]) -> None:
    """Write the sidecar, then the TF checkpoint; drop sidecars of pruned checkpoints."""
    write_json_atomic(sidecar_path(run_dir, env_steps), trainer_state)
    manager.save(checkpoint_number=env_steps)
    kept = {Path(p).name for p in manager.checkpoints}
    for sidecar in (Path(run_dir) / CHECKPOINT_DIR).glob("trainer_state-*.json"):
        step = sidecar.stem.split("-", 1)[1]
        if f"ckpt-{step}" not in kept:
            sidecar.unlink(missing_ok=True)


def restore(checkpoint, manager, run_dir: Path) -> dict[str, Any]:
    """Restore the latest checkpoint into `checkpoint`'s objects; return its sidecar."""
    latest = manager.latest_checkpoint
    if latest is None:
        raise CheckpointError(
            f"{Path(run_dir) / CHECKPOINT_DIR} holds no checkpoint to resume from "
            f"(the run stopped before its first checkpoint)"
        )
    env_steps = int(latest.rsplit("-", 1)[1])
    sidecar = sidecar_path(run_dir, env_steps)
    try:
        trainer_state = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {sidecar}: {exc}") from exc
    try:
        checkpoint.restore(latest).assert_existing_objects_matched()
    except Exception as exc:  # a damaged file surfaces as OpError, IndexError, ValueError...
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot restore checkpoint {latest}: {first_line}") from exc
    return trainer_state


def trim_events(run_dir: Path, last_step: int) -> None:
    """Drop scalar events after `last_step` so resumed curves have no duplicate steps.

    Kept events are rewritten to a new event file before the old files are removed, so a
    kill during the trim loses nothing that was checkpointed.
    """
    import tensorflow as tf
    from tensorboard.compat.proto import event_pb2

    old_files = sorted(Path(run_dir).glob("events.out.tfevents.*"))
    if not old_files:
        return
    kept: list[bytes] = []
    for path in old_files:
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            if event.HasField("file_version") and kept:
                continue
            if event.step <= last_step or event.HasField("file_version"):
                kept.append(record.numpy())
    new_file = Path(run_dir) / f"events.out.tfevents.{int(time.time())}.resumed-at-{last_step}.v2"
    with tf.io.TFRecordWriter(str(new_file)) as writer:
        for record in kept:
            writer.write(record)
    for path in old_files:
        path.unlink()


def metric_windows(metrics: list) -> list:
    """The variables behind TF-Agents' Average*Metric windows, for `tf.train.Checkpoint`.

    TF-Agents keeps those windows in `TFDeque`, a plain object whose variables a
    checkpoint of the metric does not reach, so a resumed run would restart its
    train/average_return window empty. Track the deque's table and head explicitly.
    """
    windows = []
    for metric in metrics:
        deque = getattr(metric, "_buffer", None)
        if deque is not None and hasattr(deque, "_head"):
            windows += [deque._buffer, deque._head]
    return windows
