"""Write TensorBoard event files without TensorFlow: TensorBoard's own `RecordWriter` (the
TFRecord framing) over a plain file, events and summaries from its protos.

TensorBoard's `EventFileWriter` would do the same but creates its directory through
`tensorboard.compat.tf`, which imports TensorFlow when it is installed (seconds, in every
sweep job's launcher process); its `RecordWriter` under it needs nothing but a file.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

EVENT_FILE_GLOB = "events.out.tfevents.*"


class EventWriter:
    """Append events to a new event file in `log_dir`, named as TensorBoard names them."""

    def __init__(self, log_dir: Path, suffix: str = ""):
        log_dir = Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        name = (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
            f"{os.getpid()}{suffix}.v2"
        )
        self.path = log_dir / name
        self._records = RecordWriter(open(self.path, "ab"))
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event: event_pb2.Event) -> None:
        self._records.write(event.SerializeToString())

    def summary(self, summary: summary_pb2.Summary, step: int = 0) -> None:
        self._write(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def close(self) -> None:
        self._records.flush()
        self._records.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
