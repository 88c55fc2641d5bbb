"""The exit guard's wait for native threads (client/connection/native_threads.py), without a server:
a thread Python's ``threading`` does not know stands in for one of the SDK's Tokio threads."""

from __future__ import annotations

import _thread
import threading
import time

from client.connection import native_threads


def _foreign_thread(release: threading.Event, started: threading.Event) -> None:
    def body() -> None:
        started.set()
        release.wait(30)

    _thread.start_new_thread(body, ())
    assert started.wait(10)


def test_a_foreign_thread_attached_to_python_keeps_it_busy_until_it_detaches():
    assert native_threads.settle(timeout_s=10)  # the session's own SDK threads, if any, are idle
    release, started = threading.Event(), threading.Event()
    _foreign_thread(release, started)
    assert native_threads.busy()
    assert native_threads.settle(timeout_s=0.05) is False  # still attached after the wait
    threading.Timer(0.05, release.set).start()
    assert native_threads.settle(timeout_s=10) is True


def test_a_runnable_native_thread_keeps_it_busy():
    stop = threading.Event()

    def spin() -> None:  # a foreign thread that holds its state only while it runs Python code
        end = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < end:
            pass

    _thread.start_new_thread(spin, ())
    try:
        assert native_threads.busy()
    finally:
        stop.set()
    assert native_threads.settle(timeout_s=10) is True
