"""TuneSampler's compiled sampling loops, shared by every sampler of one model and made ready in
the background.

Tracing the constrained loop and compiling it (XLA) takes seconds; running it a fraction of
one. The loops are kept per model (and `jit_compile` setting), so `TuneSampler(model)` made
again in every notebook cell traces once per process, not once per sampler. `warm_up` traces
and runs a loop once, with one character to sample, on a single background thread, for the
batch size asked (XLA compiles per shape); until that is done the sampler runs the NumPy loop
(`numpy_sampler`: the same tunes for the same seeds). At exit, warm-ups not yet started are
dropped; one under way is finished (a thread cannot be stopped inside TensorFlow).
"""

from __future__ import annotations

import concurrent.futures
import threading
import weakref

_BY_MODEL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WORKER: list[concurrent.futures.ThreadPoolExecutor] = []  # made on first use
_WORKER_LOCK = threading.Lock()


class CompiledLoops:
    """One model's loops for one `jit_compile` setting: `loops` (key -> tf.function, made by
    the sampler), the (key, batch) pairs whose loop has run once (`is_ready`) and those whose
    background run failed (the sampler then runs them itself, and reports the error)."""

    def __init__(self):
        self.loops: dict = {}
        self._ready: set = set()
        self._failed: set = set()
        self._pending: dict = {}  # (key, batch) -> Future

    def is_ready(self, key, batch: int) -> bool:
        return (key, batch) in self._ready

    def failed(self, key, batch: int) -> bool:
        return (key, batch) in self._failed

    def mark_ready(self, key, batch: int) -> None:
        self._ready.add((key, batch))

    def warm_up(self, key, batch: int, run) -> None:
        """Calls `run()` (the loop on a batch, one character) on the background thread, once
        per (key, batch); the pair is then ready, or failed if `run` raised."""
        if (key, batch) in self._pending:
            return

        def task():
            if not threading.main_thread().is_alive():  # the interpreter is exiting
                return
            try:
                run()
            except Exception:  # noqa: BLE001 -- the sampler reruns it in its own thread
                self._failed.add((key, batch))
            else:
                self._ready.add((key, batch))

        self._pending[(key, batch)] = _worker().submit(task)

    def wait(self) -> None:
        """Blocks until every warm-up asked for so far has finished."""
        concurrent.futures.wait(list(self._pending.values()))


def for_model(model, jit_compile) -> CompiledLoops:
    """The `CompiledLoops` of `model` (held while the model lives) for that setting."""
    settings = _BY_MODEL.setdefault(model, {})
    return settings.setdefault(jit_compile, CompiledLoops())


def _worker() -> concurrent.futures.ThreadPoolExecutor:
    with _WORKER_LOCK:
        if not _WORKER:
            _WORKER.append(concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="tfcreative-compile"))
        return _WORKER[0]
