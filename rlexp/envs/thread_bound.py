"""A Python env that lives on one thread of its own: built, stepped, rendered and closed there.

Some envs hold state bound to the thread that created it: dm_control's EGL context (its
pixel observations and frames) can only be made current on one thread. `TFPyEnvironment`
steps its env from whichever TensorFlow thread runs the op, and videos render from the
main thread, so such an env is wrapped:

    env = ThreadBoundPyEnvironment(lambda: make_env(seed))

Every call reaches the env on the wrapper's single worker thread, in order. `close()`
(also called at interpreter exit and when the wrapper is collected) closes the env on
that thread, so what the env frees is freed where it was made.
"""

from __future__ import annotations

import atexit
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from tf_agents.environments import wrappers


class ThreadBoundPyEnvironment(wrappers.PyEnvironmentBaseWrapper):
    """`make_env()`'s env, every call of which runs on one dedicated thread."""

    def __init__(self, make_env: Callable[[], Any]):
        # A daemon thread of our own, not a ThreadPoolExecutor: an executor refuses work
        # once the interpreter starts exiting, before the env could be closed.
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=_serve, args=(self._calls,), name="rlexp-env", daemon=True
        )
        self._thread.start()
        self._closed = True  # nothing to close until the env exists
        try:
            env = self._call(make_env)
        except BaseException:
            self._calls.put(None)
            raise
        super().__init__(env)
        self._closed = False
        # Registered after the env is built, so it runs before the exit hooks the env's
        # libraries registered while building (atexit runs last-registered first).
        atexit.register(_close_at_exit, weakref.ref(self))

    def _call(self, method: Callable, *args: Any) -> Any:
        if threading.current_thread() is self._thread:  # e.g. collected by a GC run there
            return method(*args)
        result: Future = Future()
        self._calls.put((result, method, args))
        return result.result()

    def _reset(self):
        return self._call(self._env.reset)

    def _step(self, action):
        return self._call(self._env.step, action)

    def render(self, mode: str = "rgb_array"):
        return self._call(self._env.render, mode)

    def seed(self, seed):
        return self._call(self._env.seed, seed)

    def get_info(self):
        return self._call(self._env.get_info)

    def get_state(self):
        return self._call(self._env.get_state)

    def set_state(self, state):
        return self._call(self._env.set_state, state)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._env.close)
        finally:
            self._calls.put(None)  # the thread ends

    def __del__(self):
        if not self.__dict__.get("_closed", True):  # not getattr: it forwards to the env
            self.close()


def _serve(calls: queue.SimpleQueue) -> None:
    """Run each queued (future, method, args) until a None arrives."""
    while (call := calls.get()) is not None:
        result, method, args = call
        try:
            result.set_result(method(*args))
        except BaseException as exc:  # noqa: BLE001 (re-raised in the caller's thread)
            result.set_exception(exc)


def _close_at_exit(ref: weakref.ref) -> None:
    env = ref()
    if env is not None:
        env.close()
