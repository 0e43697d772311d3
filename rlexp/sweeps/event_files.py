"""Read and write TensorBoard event files without TensorFlow.

An event file is a sequence of TFRecords (length, masked CRC of the length, payload,
masked CRC of the payload), each payload a serialized `Event` proto. TensorBoard's own
readers reach TensorFlow through `tensorboard.compat` when it is installed, so the few
lines of framing are done here with TensorBoard's protos and its pure-Python CRC.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.plugins.scalar import metadata as scalar_metadata

EVENT_FILE_GLOB = "events.out.tfevents.*"


def event_files(run_dir: Path) -> list[Path]:
    """The run's event files in the order TensorBoard reads them (by name)."""
    return sorted(p for p in Path(run_dir).glob(EVENT_FILE_GLOB) if p.is_file())


def read_records(path: Path) -> Iterator[bytes]:
    """TFRecord payloads of `path`; stops quietly at a truncated tail (a file being written)."""
    with open(path, "rb") as f:
        while True:
            header = f.read(12)
            if len(header) < 12:
                return
            (length,) = struct.unpack("<Q", header[:8])
            if struct.unpack("<I", header[8:])[0] != masked_crc32c(header[:8]):
                return  # corrupt or partly written: stop here
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                return
            if struct.unpack("<I", footer)[0] != masked_crc32c(data):
                return
            yield data


def read_events(run_dir: Path) -> Iterator[event_pb2.Event]:
    for path in event_files(run_dir):
        for record in read_records(path):
            yield event_pb2.Event.FromString(record)


def _scalar_value(value: summary_pb2.Summary.Value) -> float | None:
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return float(value.simple_value)
    if kind != "tensor":
        return None
    tensor = value.tensor
    if tensor.tensor_shape.dim:  # not a scalar
        return None
    for field in ("float_val", "double_val", "int_val", "int64_val"):
        values = getattr(tensor, field)
        if values:
            return float(values[0])
    formats = {types_pb2.DT_FLOAT: "<f", types_pb2.DT_DOUBLE: "<d", types_pb2.DT_INT64: "<q"}
    if tensor.tensor_content and tensor.dtype in formats:
        return float(struct.unpack(formats[tensor.dtype], tensor.tensor_content)[0])
    return None


def read_scalars(run_dir: Path, tags: set[str] | None = None) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} of the scalar summaries in the run's event files."""
    scalars: dict[str, list[tuple[int, float]]] = {}
    for event in read_events(run_dir):
        if event.WhichOneof("what") != "summary":
            continue
        for value in event.summary.value:
            if tags is not None and value.tag not in tags:
                continue
            number = _scalar_value(value)
            if number is not None:
                scalars.setdefault(value.tag, []).append((int(event.step), number))
    return scalars


class EventWriter:
    """Append events to a new event file in `log_dir` (the TFRecord framing, no TF)."""

    def __init__(self, log_dir: Path, suffix: str = ""):
        log_dir = Path(log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        name = (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
            f"{os.getpid()}{suffix}.v2"
        )
        self.path = log_dir / name
        self._file = open(self.path, "ab")
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event: event_pb2.Event) -> None:
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        self._file.write(
            header
            + struct.pack("<I", masked_crc32c(header))
            + data
            + struct.pack("<I", masked_crc32c(data))
        )

    def summary(self, summary: summary_pb2.Summary, step: int = 0) -> None:
        self._write(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def scalar(self, tag: str, value: float, step: int = 0) -> None:
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT, tensor_shape={}, float_val=[float(value)]
        )
        meta = scalar_metadata.create_summary_metadata(display_name=tag, description="")
        self.summary(
            summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, metadata=meta, tensor=tensor)]
            ),
            step,
        )

    def close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
