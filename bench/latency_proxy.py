#!/usr/bin/env python3
"""A latency-injecting TCP proxy for the benchmarks: a "long wire" between a client and a server
on 127.0.0.1, like a CI runner talking to R2.

Every byte travelling in either direction is held for DELAY/2 before it is passed on, in order,
so one HTTP request/response exchange on a kept-alive connection costs DELAY (one round trip)
plus its transfer time, however many requests share or don't share the connection, and a
streamed body is pipelined (bandwidth is not cut). Opening a connection costs one extra round
trip (the TCP handshake; a TLS handshake is *not* modelled, which favours clients that do not
reuse connections). The proxy does not parse HTTP, so it has no per-request CPU cost beyond
moving bytes; it is single-threaded asyncio with back-pressure (at most --max-queued bytes held
per direction).

    latency_proxy.py --listen-port 0 --upstream 127.0.0.1:8080 --delay-ms 20

Prints `PORT <n>` once listening; runs until SIGTERM/SIGINT."""
import argparse
import asyncio
import collections
import signal
import sys


class Pipe:
    """One direction of a connection: bytes from `src` delivered to `dst` after `delay` s."""

    def __init__(self, loop, delay, max_queued):
        self.loop = loop
        self.delay = delay
        self.max_queued = max_queued
        self.queue = collections.deque()  # (due, bytes | None for EOF)
        self.queued = 0
        self.timer = None
        self.dst = None  # transport
        self.src = None  # transport (paused when too much is queued)
        self.src_paused = False
        self.dst_blocked = False

    def push(self, data):
        self.queue.append((self.loop.time() + self.delay, data))
        if data is not None:
            self.queued += len(data)
        self._throttle()
        self._arm()

    def _arm(self):
        if self.timer is None and self.queue and self.dst is not None and not self.dst_blocked:
            self.timer = self.loop.call_at(self.queue[0][0], self._fire)

    def _fire(self):
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now and not self.dst_blocked:
            _, data = self.queue.popleft()
            if self.dst.is_closing():
                self.queue.clear()
                break
            if data is None:
                if self.dst.can_write_eof():
                    self.dst.write_eof()
                continue
            self.queued -= len(data)
            self.dst.write(data)
        self._throttle()
        self._arm()

    def _throttle(self):
        if self.src is None:
            return
        too_much = self.queued > self.max_queued or self.dst_blocked
        if too_much and not self.src_paused:
            self.src_paused = True
            self.src.pause_reading()
        elif not too_much and self.src_paused:
            self.src_paused = False
            if not self.src.is_closing():
                self.src.resume_reading()

    def set_dst(self, transport, extra=0.0):
        # `extra`: bytes that waited for the connection to open are held for it too.
        if extra:
            self.queue = collections.deque((due + extra, data) for due, data in self.queue)
        self.dst = transport
        self._arm()

    def blocked(self, value):
        self.dst_blocked = value
        self._throttle()
        self._arm()


class Side(asyncio.Protocol):
    """Protocol on one socket; `inbound` carries what it receives, `outbound` writes to it."""

    def __init__(self, conn, inbound, outbound):
        self.conn = conn
        self.inbound = inbound
        self.outbound = outbound
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.inbound.src = transport
        self.outbound.set_dst(transport, self.conn.proxy.connect_delay if self.outbound is self.conn.up else 0.0)

    def data_received(self, data):
        self.inbound.push(data)

    def eof_received(self):
        self.inbound.push(None)
        return True  # keep the write side open (half-close)

    def pause_writing(self):
        self.outbound.blocked(True)

    def resume_writing(self):
        self.outbound.blocked(False)

    def connection_lost(self, exc):
        self.conn.lost(self)


class Connection:
    def __init__(self, proxy):
        self.proxy = proxy
        loop = proxy.loop
        self.up = Pipe(loop, proxy.delay / 2, proxy.max_queued)    # client -> server
        self.down = Pipe(loop, proxy.delay / 2, proxy.max_queued)  # server -> client
        self.client = Side(self, self.up, self.down)
        self.server = None
        self.closed = False

    async def open_upstream(self):
        await asyncio.sleep(self.proxy.connect_delay)
        try:
            _, self.server = await self.proxy.loop.create_connection(
                lambda: Side(self, self.down, self.up), self.proxy.host, self.proxy.port)
        except OSError:
            self.lost(None)

    def lost(self, side):
        if self.closed:
            return
        self.closed = True
        # Let queued bytes drain for one delay, then close both ends.
        def close():
            for s in (self.client, self.server):
                if s is not None and s.transport is not None and not s.transport.is_closing():
                    s.transport.close()
        self.proxy.loop.call_later(self.proxy.delay + 0.05, close)


class Proxy:
    def __init__(self, upstream, delay_ms, connect_delay_ms, max_queued):
        host, port = upstream.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.delay = delay_ms / 1000.0
        self.connect_delay = connect_delay_ms / 1000.0
        self.max_queued = max_queued
        self.loop = None

    def accept(self):
        conn = Connection(self)
        self.loop.create_task(conn.open_upstream())
        return conn.client


async def main_async(args):
    proxy = Proxy(args.upstream, args.delay_ms,
                  args.delay_ms if args.connect_delay_ms is None else args.connect_delay_ms,
                  args.max_queued)
    proxy.loop = asyncio.get_running_loop()
    server = await proxy.loop.create_server(proxy.accept, "127.0.0.1", args.listen_port,
                                            backlog=1024, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        proxy.loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen-port", type=int, default=0)
    p.add_argument("--upstream", required=True, help="HOST:PORT")
    p.add_argument("--delay-ms", type=float, default=20.0, help="round-trip delay per exchange")
    p.add_argument("--connect-delay-ms", type=float, default=None,
                   help="extra delay when a connection opens (default: one round trip)")
    p.add_argument("--max-queued", type=int, default=8 << 20)
    args = p.parse_args()
    try:
        import uvloop  # optional; not required
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
