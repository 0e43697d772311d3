"""Work a run would do later on its main thread, started early in a background thread.

While the training loop's first call compiles (and while any call runs), the main thread
waits inside TensorFlow, which releases Python's GIL: a second core can compile the
evaluation and trace the export meanwhile. A task only does what its real call repeats
later, so an error in it is left for that call to raise where it is handled (XLA refusing
the greedy policy, say: the evaluation falls back to graph mode)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def start(tasks: list[Callable[[], object]]) -> threading.Thread:
    """Run `tasks` one after another in a thread (join it before their real calls)."""

    def run() -> None:
        for task in tasks:
            try:
                task()
            except Exception:  # noqa: BLE001 (its real call raises it again; see above)
                log.debug("background task %r failed", task, exc_info=True)

    thread = threading.Thread(target=run, name="rlexp-background", daemon=True)
    thread.start()
    return thread
