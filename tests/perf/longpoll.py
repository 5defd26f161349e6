#!/usr/bin/env python3
"""Long-poll workload (issue 15): COUNT parked async requests against a real `serval` running the
async fixture app (tests/fixtures/apps/Async.cpp) in a worker process (isolation="process", the
default) or in-process (--isolation none). Each connection sends GET /async/park and waits; the
app parks it with serval::Async (no thread held). Measured: RSS of the server plus its workers
before and with every request parked, their thread counts (the proof that no thread is held
per request), then /async/publish wakes them all and every client must get its 200.

Prints one JSON line. Started by bench.py's `longpoll` phase, or by hand:
    tests/perf/longpoll.py --serval build/bin/serval --fixture build/tests/fixtures/libasync.so
or against Tomcat's async servlet (java/LongPollServlet.java, the same URLs):
    tests/perf/longpoll.py --port 8080 --pid JAVA_PID
Only ever connects to 127.0.0.1; bounded: --count <= 20000, --deadline seconds per step.
"""
import argparse
import json
import re
import resource
import selectors
import socket
import sys
import time
import traceback

from asyncfixture import AsyncFixture, get, measure


class Running:
    """A server started by someone else (bench.py's Tomcat) that answers the fixture's URLs."""

    def __init__(self, port, pid):
        self.port, self.pid = port, pid


def run(server, a, result, conns):
    """Parks a.count requests, measures, publishes, counts the answers (into result)."""
    port = server.port
    time.sleep(1)
    result["before"] = measure(server.pid)

    request = b"GET /async/park HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sel = selectors.DefaultSelector()
    buffers = {}
    early = 0  # answered before the publish: refused (503) or failed, never parked

    def pump(timeout):
        """Reads what the server sent; a socket that has an answer or EOF is done."""
        done = 0
        for key, _ in sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            buffers[s] = buffers.get(s, b"") + data
            head = buffers[s].partition(b"\r\n\r\n")[0]
            if not data or (head != buffers[s] and (b" 200 " not in head or b"news" in buffers[s])):
                sel.unregister(s)
                done += 1
        return done

    start = time.monotonic()
    for i in range(a.count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(request)
        s.setblocking(False)
        conns.append(s)
        sel.register(s, selectors.EVENT_READ)
        if i % 500 == 499:
            early += pump(0.01)  # and let the accept queue drain
    end = time.monotonic() + a.deadline
    parked = 0
    while time.monotonic() < end:
        early += pump(0)
        m = re.match(r"parked=(\d+)", get(port, "/async/stats"))
        parked = int(m.group(1)) if m else 0
        if parked + early >= a.count:
            break
        time.sleep(0.1)
    result["parked"] = parked
    result["answered_before_publish"] = early
    result["park_seconds"] = round(time.monotonic() - start, 2)
    time.sleep(1)
    result["with_parked"] = measure(server.pid)

    woke = get(port, "/async/publish?msg=news")
    end = time.monotonic() + a.deadline
    while len(sel.get_map()) and time.monotonic() < end:
        pump(1.0)
    answered = sum(1 for s in conns if buffers.get(s, b"").startswith(b"HTTP/1.1 200") and
                   b"news" in buffers[s])
    result["non_200"] = sum(1 for s in conns if buffers.get(s, b"").startswith(b"HTTP/") and
                            not buffers[s].startswith(b"HTTP/1.1 200"))
    result["publish"] = woke
    result["answered_200"] = answered
    added = result["with_parked"]["rss_kib"] - result["before"]["rss_kib"]
    result["added_rss_mib"] = round(added / 1024, 1)
    server = result["with_parked"]["server_rss_kib"] - result["before"]["server_rss_kib"]
    result["added_server_rss_mib"] = round(server / 1024, 1)  # the rest is the workers'
    result["added_threads"] = result["with_parked"]["threads"] - result["before"]["threads"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--serval", help="build/bin/serval: a private server with the async fixture app")
    p.add_argument("--fixture", help="libasync.so (the build's tests/fixtures)")
    p.add_argument("--port", type=int, help="instead: a running server with the same URLs (Tomcat's)")
    p.add_argument("--pid", type=int, help="with --port: the process whose RSS and threads count")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--isolation", default="process", choices=("process", "none"))
    p.add_argument("--deadline", type=float, default=120.0)
    a = p.parse_args()
    if a.count > 20000:
        sys.exit("longpoll: --count is capped at 20000")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    result = {"count": a.count, "isolation": a.isolation}
    conns = []
    if not (a.serval and a.fixture) and not (a.port and a.pid):
        sys.exit("longpoll: --serval and --fixture, or --port and --pid")
    try:
        if a.port:
            del result["isolation"]
            try:
                run(Running(a.port, a.pid), a, result, conns)
            finally:
                for s in conns:
                    s.close()
        else:
            with AsyncFixture(a.serval, a.fixture, a.isolation) as server:
                try:
                    run(server, a, result, conns)
                finally:  # before the server stops: it need not drain them
                    for s in conns:
                        s.close()
    except Exception as e:  # one JSON line either way
        result["error"] = " | ".join(traceback.format_exc(limit=-1).strip().splitlines()[-3:])
    print(json.dumps(result))
    return 0 if "error" not in result and result.get("answered_200") == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
