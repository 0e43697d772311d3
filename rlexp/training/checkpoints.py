"""Checkpoints a run can be resumed from, and the event-file trim that resuming needs.

A checkpoint is TensorFlow's (agent, optimizer, train step, replay buffer, metrics) plus
a JSON sidecar with the trainer's own state (evaluations so far, trigger positions, wall
time). The sidecar is written first and TensorFlow's `checkpoint` index last (atomically),
so the index never names a checkpoint whose sidecar or data files are incomplete.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from rlexp import rundir
from rlexp.rundir import CHECKPOINT_DIR, write_json_atomic
from rlexp.training.state import TrainerState

SIDECAR_PREFIX = "trainer_state-"
# What TensorFlow's save of checkpoint `ckpt-<step>` writes before it merges the parts into
# `ckpt-<step>.index` and `.data-*` and removes the folder.
TF_TEMP_FOLDER = re.compile(r"ckpt-\d+_temp")
TF_TEMP_PART = re.compile(r"part-\d+-of-\d+\.(index|data-\d+-of-\d+)")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable or does not fit the run's config."""


def sidecar_path(run_dir: Path, env_steps: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"{SIDECAR_PREFIX}{env_steps}.json"


def manager(checkpoint, run_dir: Path, keep: int):
    """TensorFlow's CheckpointManager over the run's checkpoints/ folder.

    TF ignores a `checkpoint` index it cannot parse, but raises ValueError for one that is
    empty or not text; such an index is ignored here too (`restore` then finds the
    checkpoints on disk, and the next save writes a new index).
    """
    import tensorflow as tf
    from tensorflow.python.checkpoint import checkpoint_management

    folder = str(Path(run_dir) / CHECKPOINT_DIR)
    try:
        return tf.train.CheckpointManager(checkpoint, folder, keep)
    except ValueError:
        real = checkpoint_management.get_checkpoint_state
        checkpoint_management.get_checkpoint_state = lambda *args, **kwargs: None
        try:
            return tf.train.CheckpointManager(checkpoint, folder, keep)
        finally:
            checkpoint_management.get_checkpoint_state = real


def save(
    manager, run_dir: Path, env_steps: int, trainer_state: dict[str, Any], prune: bool = True
) -> None:
    """Write the sidecar, then the TF checkpoint; drop sidecars of pruned checkpoints.

    `prune=False` keeps every earlier checkpoint this once (a stop signal's checkpoint must
    not push out the one its segment started from). A save that fails (a full disk) leaves
    the checkpoints as they were: TF writes to a temporary folder first, and the new
    sidecar is removed again."""
    sidecar = sidecar_path(run_dir, env_steps)
    temp = Path(run_dir) / CHECKPOINT_DIR / f"ckpt-{env_steps}_temp"  # TF's, while it saves
    new = [p for p in (sidecar, temp) if not p.exists()]
    write_json_atomic(sidecar, trainer_state)
    keep = manager._max_to_keep  # TF's CheckpointManager has no per-save switch
    try:
        if not prune and keep is not None:
            manager._max_to_keep = keep + 1
        manager.save(checkpoint_number=env_steps)
    except BaseException:
        for path in new:  # what this save created, and nothing else
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    finally:
        manager._max_to_keep = keep
    kept = {Path(p).name for p in manager.checkpoints}
    for sidecar in (Path(run_dir) / CHECKPOINT_DIR).glob(f"{SIDECAR_PREFIX}*.json"):
        step = sidecar.stem.removeprefix(SIDECAR_PREFIX)
        if f"ckpt-{step}" not in kept:
            sidecar.unlink(missing_ok=True)


def restore(checkpoint, manager, run_dir: Path) -> TrainerState:
    """Restore the newest intact checkpoint into `checkpoint`'s objects; return its state.

    A damaged newest checkpoint (data files or sidecar) gives way to the one before it,
    and the fallback is reported on stderr.
    """
    remove_stale_temps(run_dir)
    candidates, notes = _candidates(manager, run_dir)
    if not candidates:
        raise CheckpointError(_no_checkpoint_text(Path(run_dir) / CHECKPOINT_DIR))
    problems = []
    for prefix in candidates:
        try:
            state = _restore_one(checkpoint, prefix, run_dir)
        except CheckpointError as exc:
            problems.append(str(exc))
            continue
        if problems or notes:
            instead = " instead" if problems else ""
            print(
                "rlexp resume: " + "; ".join(notes + problems) + f"; resuming from {prefix}"
                f"{instead}",
                file=sys.stderr,
            )
        return state
    raise CheckpointError("no intact checkpoint to resume from: " + "; ".join(notes + problems))


def remove_stale_temps(run_dir: Path) -> list[Path]:
    """Remove the temporary folders of TensorFlow's saves that a kill left in the run's
    checkpoints/ (`ckpt-<step>_temp/`); the ones removed. Called under the run's lock, so
    no save of it is under way; a folder holding anything but TF's part files stays."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    stale = [
        temp
        for temp in (folder.iterdir() if folder.is_dir() else [])
        if TF_TEMP_FOLDER.fullmatch(temp.name)
        and temp.is_dir()
        and not temp.is_symlink()
        and all(p.is_file() and TF_TEMP_PART.fullmatch(p.name) for p in temp.iterdir())
    ]
    for temp in stale:
        shutil.rmtree(temp, ignore_errors=True)
    return stale


def _no_checkpoint_text(folder: Path) -> str:
    if folder.exists() and not folder.is_dir():
        return f"{folder} is not a folder, so the run has no checkpoint to resume from"
    if not folder.exists():
        return f"{folder.parent} has no {folder.name}/ folder, so no checkpoint to resume from"
    metrics = rundir.read_metrics(folder.parent)
    if metrics.get("status") == "interrupted":  # an interrupted run saves a checkpoint
        return (
            f"{folder} holds no checkpoint to resume from, though its "
            f"{rundir.METRICS_FILE} records the run as interrupted at env step "
            f"{metrics.get('env_steps', '?')}, which saved one: its checkpoints were deleted "
            f"or moved"
        )
    return (
        f"{folder} holds no checkpoint to resume from (the run stopped before its first "
        f"checkpoint, or its checkpoints were deleted or moved)"
    )


def _candidates(manager, run_dir: Path) -> tuple[list[str], list[str]]:
    """Checkpoint prefixes, newest first: the index's and those found on disk (an index
    may be damaged or behind the files); and a note when the index was of no use."""
    listed = list(manager.checkpoints)
    on_disk = [str(p.with_suffix("")) for p in _checkpoint_folder_glob(run_dir)]
    notes = []
    index = Path(run_dir) / CHECKPOINT_DIR / "checkpoint"
    if on_disk and not set(listed) & set(on_disk):
        state = "is damaged or names no checkpoint on disk" if index.exists() else "is missing"
        notes.append(f"the checkpoint index {index} {state}; using the checkpoints on disk")
    return sorted(set(listed + on_disk), key=_step_of, reverse=True), notes


def _checkpoint_folder_glob(run_dir: Path) -> list[Path]:
    folder = Path(run_dir) / CHECKPOINT_DIR
    return list(folder.glob("ckpt-*.index")) if folder.is_dir() else []


def newest_on_disk(run_dir: Path) -> str | None:
    """The newest checkpoint with its index and sidecar on disk (for messages)."""
    steps = [_step_of(str(p.with_suffix(""))) for p in _checkpoint_folder_glob(run_dir)]
    steps = [s for s in steps if s >= 0 and sidecar_path(run_dir, s).is_file()]
    return f"ckpt-{max(steps)}" if steps else None


def _step_of(prefix: str) -> int:
    tail = prefix.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def restore_at(checkpoint, run_dir: Path, env_steps: int) -> bool:
    """Restore the TF objects of the checkpoint at `env_steps`; False where it is missing
    or damaged."""
    prefix = str(Path(run_dir) / CHECKPOINT_DIR / f"ckpt-{env_steps}")
    if not Path(prefix + ".index").is_file():
        return False
    try:
        _restore_objects(checkpoint, prefix)
    except CheckpointError:
        return False
    return True


def _restore_one(checkpoint, prefix: str, run_dir: Path) -> TrainerState:
    sidecar = sidecar_path(run_dir, _step_of(prefix))
    try:
        state = TrainerState.from_json(json.loads(sidecar.read_text()))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {sidecar}: {exc}") from exc
    _restore_objects(checkpoint, prefix)
    return state


def _restore_objects(checkpoint, prefix: str) -> None:
    try:
        checkpoint.restore(prefix).assert_existing_objects_matched()
    except Exception as exc:  # a damaged file surfaces as OpError, IndexError, ValueError...
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot restore checkpoint {prefix}: {first_line}") from exc


def trim_events(run_dir: Path, last_step: int) -> None:
    """Drop scalar events after `last_step` so resumed curves have no duplicate steps.

    Kept events are written to a temporary file, renamed into place, and only then are
    the old files removed: a kill or a full disk during the trim loses nothing that was
    checkpointed and leaves no partial event file behind. An event file cut off
    mid-record (a run killed while writing it) keeps the records before the cut, as
    TensorBoard reads it; a record found twice (in a file left by an interrupted trim and
    in the file it was copied from) is kept once. A sweep run's HParams session file is
    left as it is: its job writes it anew when the run ends.

    TensorBoard reads a run's event files in name order, and the resumed writer's file is
    `events.out.tfevents.<now>.<hostname>...`: the new file is stamped a second before both
    now and the earliest file it replaces, so it is read first whatever the host is called,
    and its name is never one of the files it replaces (a second resume at the same step).
    """
    import tensorflow as tf
    from tensorboard.compat.proto import event_pb2

    session = set(Path(run_dir).glob(rundir.HPARAMS_SESSION_GLOB))
    old_files = sorted(set(Path(run_dir).glob(rundir.EVENTS_GLOB)) - session)
    if not old_files:
        return
    kept: dict[bytes, None] = {}  # ordered, each record once
    for path in old_files:
        for record in _intact_records(path):
            event = event_pb2.Event.FromString(record)
            if event.HasField("file_version") and kept:
                continue
            if event.step <= last_step or event.HasField("file_version"):
                kept[record] = None
    stamp = min([int(time.time()), *(_stamp_of(path) for path in old_files)]) - 1
    new_file = Path(run_dir) / f"events.out.tfevents.{stamp:010d}.resumed-at-{last_step}.v2"
    temp = Path(run_dir) / rundir.EVENTS_TRIM_TEMP
    try:
        with tf.io.TFRecordWriter(str(temp)) as writer:
            for record in kept:
                writer.write(record)
        temp.replace(new_file)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    for path in old_files:
        path.unlink()


def _intact_records(path: Path) -> list[bytes]:
    """The records of a TFRecord file up to the first cut-off or corrupt one (noted on
    stderr, naming the file and how many records it kept)."""
    import tensorflow as tf

    records: list[bytes] = []
    try:
        for record in tf.data.TFRecordDataset(str(path)):
            records.append(record.numpy())
    except tf.errors.DataLossError:
        print(
            f"rlexp resume: note: {path} ends in a cut-off or damaged record (the run was "
            f"killed while writing it); keeping the {len(records)} records before it",
            file=sys.stderr,
        )
    return records


def _stamp_of(path: Path) -> int:
    """The creation second in an event file's name (`events.out.tfevents.<second>.<...>`)."""
    field = path.name.split(".")[3]  # EVENTS_GLOB: the name has this field
    return int(field) if field.isdigit() else int(time.time())


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
