"""Stopping without dropping requests: the readiness flag, and a waitress server that drains.

Behind a proxy that spreads requests over several ``blmk-serve`` processes, a process told to
stop (SIGTERM from a service manager or a rolling restart, Ctrl+C) must neither cut off the
requests it has taken on nor go on taking new ones, and the proxy must notice at once. On the
first signal the server therefore

1. turns not-ready: ``GET /health/ready`` answers 503 (the ``Lifecycle`` flag, set in the
   signal handler itself), so health checks take the process out of rotation;
2. closes its listening socket, once it has accepted the connections already queued on it: a
   new connection is refused, which a proxy takes as "try the next server";
3. answers the requests it has accepted, a request whose bytes are still arriving on a
   connection opened before the signal included, for up to ``drain_seconds``; a connection
   with nothing in progress (a keep-alive connection between two requests) is closed, so that
   no new request starts on it;
4. stops, with status 0, when nothing is left in flight or the time is up.

A second signal during the drain stops at once. Each step is one line in the log.

Why drive waitress's loop here instead of calling ``server.run()``: ``run()`` ends only on an
exception raised in its thread, and then shuts the worker threads down at once. Running the
loop one pass at a time on the main thread lets the drain close the listener, look at each
connection and stop from the thread that waitress expects to touch them, with no lock shared
with waitress. The signal handler only sets flags and wakes the loop (waitress's trigger
pipe), so it never runs waitress code in the middle of other waitress code.

A connection's work in flight is read from waitress's own records (``HTTPChannel``): the
request being received, the requests received and not yet answered (waitress keeps each in
``requests`` until its response is written, whether it waits for a worker or runs on one),
and response bytes not yet sent. This module is the only one that reads waitress's insides.

One more thing a process stopped at any moment (``kill -9``, a crash) must not do is leave a
proxy with half a response. waitress sends a response's head as soon as it is built, then its
body in a second send; a process killed between the two leaves nginx holding a head it has
already passed on, too late to ask another process, and the client gets a head and no body.
Here a response whose body comes in one piece of known length (every answer of this app)
goes to the connection with its head in one write, so nginx receives either all of it or none
of it, and retries on another process when it receives none.
"""

from __future__ import annotations

import logging
import select
import signal
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from importlib import metadata
from types import FrameType
from typing import Any

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.task import WSGITask

log = logging.getLogger(__name__)

DRAINING_MESSAGE = "draining: shutting down"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# The longest the drain waits between two looks at its connections; the loop wakes sooner
# whenever a socket is ready or a worker thread has finished a response.
_DRAIN_PASS_SECONDS = 0.25
# How long worker threads get to leave once the connections are closed: after a drain they
# are idle and leave at once; one stuck in a request is a daemon thread, left to the exit.
_WORKERS_LEAVE_SECONDS = 0.5


@dataclass(slots=True, kw_only=True)
class Lifecycle:
    """What the readiness check needs to know about the process's own state. A plain flag:
    it is set in a signal handler and read by worker threads, so it must take no lock."""

    draining: bool = False


class DrainingServer:
    """waitress serving ``app`` on the main thread until a stop signal, then draining.

    ``adjustments`` are waitress's own (``host``, ``port``, ``threads``, ``trusted_proxy``...).
    """

    def __init__(
        self, app: Any, lifecycle: Lifecycle, *, drain_seconds: float, **adjustments: Any
    ) -> None:
        self.lifecycle = lifecycle
        self.drain_seconds = max(0.0, drain_seconds)
        self.server = waitress.create_server(app, **adjustments)
        self.adjustments = self.server.adj
        self.map = _socket_map(self.server)
        self.listeners = [item for item in self.map.values() if isinstance(item, BaseWSGIServer)]
        for listener in self.listeners:
            listener.channel_class = _WholeResponseChannel
        self.stop_reason: str | None = None
        self.stop_now_reason: str | None = None
        self._closed = False

    def stop_on_signals(self, signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
        for number in signals:
            signal.signal(number, self._on_signal)

    def ask_to_stop(self, reason: str) -> None:
        """The first call starts the drain, a second stops now. Safe in a signal handler:
        it sets flags and wakes the loop, nothing more."""
        if self.stop_reason is None:
            self.lifecycle.draining = True
            self.stop_reason = reason
        else:
            self.stop_now_reason = reason
        if not self._closed:  # once closed, the trigger's descriptor may belong to a file
            for listener in self.listeners:
                with suppress(OSError):
                    listener.trigger.pull_trigger()

    def run(self) -> None:
        """Serves until asked to stop, drains, and closes every connection."""
        try:
            while self.stop_reason is None:
                self._pass(self.adjustments.asyncore_loop_timeout)
            self._drain()
        finally:
            self._close()

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        self.ask_to_stop(signal.Signals(number).name)

    def _drain(self) -> None:
        started = time.monotonic()
        log.info("%s: not ready from now on", self.stop_reason)
        self._stop_listening()
        self._pass(0)  # read what the connections just accepted have sent already
        self._close_idle()
        log.info(
            "draining: %s in flight; no new connections; waiting up to %g s",
            _requests(self._in_flight()),
            self.drain_seconds,
        )
        deadline = started + self.drain_seconds
        while in_flight := self._in_flight():
            if self.stop_now_reason:
                log.warning(
                    "%s during the drain: stopping now with %s still running",
                    self.stop_now_reason,
                    _requests(in_flight),
                )
                return
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("drain time up with %s still running", _requests(in_flight))
                return
            self._pass(min(left, _DRAIN_PASS_SECONDS))
            self._close_idle()
        log.info("drained in %.2f s", time.monotonic() - started)

    def _pass(self, timeout: float) -> None:
        """One pass of waitress's loop: wait up to ``timeout`` for sockets, serve them."""
        wasyncore.loop(
            timeout=timeout, map=self.map, use_poll=self.adjustments.asyncore_use_poll, count=1
        )

    def _stop_listening(self) -> None:
        """Takes on the connections the kernel has queued (their clients are sending
        already), then closes the listening sockets, keeping their wake-up triggers."""
        for listener in self.listeners:
            poller = select.poll()
            poller.register(listener.socket, select.POLLIN)
            for _ in range(self.adjustments.backlog):
                if not poller.poll(0):
                    break
                listener.handle_accept()
            wasyncore.dispatcher.close(listener)  # not the server's close(): it shuts the trigger

    def _connections(self) -> Iterator[Any]:
        for item in list(self.map.values()):
            if isinstance(item, HTTPChannel):
                yield item

    def _in_flight(self) -> int:
        return sum(_requests_on(connection) for connection in self._connections())

    def _close_idle(self) -> None:
        """Connections with nothing in progress close (on the loop's next pass, as waitress
        closes timed-out ones): a client must not start a new request on them."""
        for connection in self._connections():
            if not _requests_on(connection):
                connection.will_close = True

    def _close(self) -> None:
        self._closed = True
        wasyncore.close_all(self.map)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=_WORKERS_LEAVE_SECONDS)
        log.info("stopped")


class _WholeResponseTask(WSGITask):
    """A response's head and its whole body handed to the connection in one write (see the
    module's docstring); anything else (a streamed or chunked body, a body longer than its
    Content-Length, a file) is written as waitress writes it."""

    def write(self, data: Any) -> None:
        whole = (
            self.complete
            and not self.wrote_header  # type: ignore[has-type]
            and self.has_body
            and not self.chunked_response
            and isinstance(data, bytes)
            and data
            and self.content_length is not None
            and len(data) == self.content_length - self.content_bytes_written
        )
        if not whole:
            super().write(data)
            return
        head = self.build_response_header()
        self.wrote_header = True
        self.content_bytes_written += len(data)
        self.channel.write_soon(head + data)


class _WholeResponseChannel(HTTPChannel):
    task_class = _WholeResponseTask


def _requests_on(connection: Any) -> int:
    """Requests a connection has in progress: being received, received and not answered, or
    answered with bytes still to send."""
    waiting = len(connection.requests)
    receiving = connection.request is not None
    sending = not waiting and connection.total_outbufs_len > 0
    return waiting + int(receiving) + int(sending)


def _requests(count: int) -> str:
    return f"{count} request{'' if count == 1 else 's'}"


def _socket_map(server: Any) -> dict[int, Any]:
    """The sockets waitress serves: one server's own map, or the shared one of a server
    listening on several addresses (a host name that resolves to more than one)."""
    found = getattr(server, "_map", None)
    if found is None:
        found = getattr(server, "map", None)
    if not isinstance(found, dict):
        raise RuntimeError(
            f"waitress {metadata.version('waitress')} keeps its sockets where blmk-serve "
            "cannot find them to drain them"
        )
    return found
