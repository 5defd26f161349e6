#!/usr/bin/env python3
"""Long-poll workload (issue 15): COUNT parked async requests against a real `serval` running the
async fixture app (tests/fixtures/apps/Async.cpp) in a worker process (isolation="process", the
default) or in-process (--isolation none). Each connection sends GET /async/park and waits; the
app parks it with serval::Async (no thread held). Measured: RSS of the server plus its workers
before and with every request parked, their thread counts (the proof that no thread is held
per request), then /async/publish wakes them all and every client must get its 200.

Prints one JSON line. Started by bench.py's `longpoll` phase, or by hand:
    tests/perf/longpoll.py --serval build/bin/serval --fixture build/tests/fixtures/libasync.so
Only ever connects to 127.0.0.1; bounded: --count <= 20000, --deadline seconds per step.
"""
import argparse
import json
import os
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def status(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(pid):
    pids = [pid] + children(pid)
    return {"rss_kib": sum(status(p, "VmRSS") for p in pids), "threads": sum(status(p, "Threads") for p in pids),
            "processes": len(pids)}


def get(port, target):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.partition(b"\r\n\r\n")[2].decode(errors="replace")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--serval", required=True)
    p.add_argument("--fixture", required=True, help="libasync.so (the build's tests/fixtures)")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--isolation", default="process", choices=("process", "none"))
    p.add_argument("--deadline", type=float, default=120.0)
    a = p.parse_args()
    if a.count > 20000:
        sys.exit("longpoll: --count is capped at 20000")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    base = tempfile.mkdtemp(prefix="serval-longpoll-")
    os.makedirs(f"{base}/conf")
    os.makedirs(f"{base}/webapps/async/WEB-INF/lib")
    with open(f"{base}/conf/server.xml", "w") as f:
        f.write('<Server accessLog="">\n  <Connector address="127.0.0.1" port="0" maxConnections="30000"/>\n'
                '  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps">'
                f'<Context path="/async" isolation="{a.isolation}"/></Host></Engine>\n</Server>\n')
    with open(f"{base}/webapps/async/WEB-INF/web.xml", "w") as f:
        f.write("<web-app/>")
    shutil.copy(a.fixture, f"{base}/webapps/async/WEB-INF/lib/libasync.so")
    log = open(f"{base}/serval.stderr", "wb")
    server = subprocess.Popen([a.serval, "--base", base, "--port", "0"], stdout=subprocess.DEVNULL, stderr=log)
    result = {"count": a.count, "isolation": a.isolation}
    conns = []
    try:
        end = time.monotonic() + 15
        port = None
        while port is None and time.monotonic() < end:
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)/", open(log.name, "rb").read())
            port = int(m.group(1)) if m else None
            time.sleep(0.02)  # polling the log with a deadline
        if port is None:
            raise RuntimeError("serval did not start")
        get(port, "/async/stats")  # the worker is up
        time.sleep(1)
        result["before"] = measure(server.pid)

        request = b"GET /async/park HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        start = time.monotonic()
        for i in range(a.count):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(request)
            s.setblocking(False)
            conns.append(s)
            if i % 500 == 499:
                time.sleep(0.01)  # let the accept queue drain
        end = time.monotonic() + a.deadline
        parked = 0
        while time.monotonic() < end:
            m = re.match(r"parked=(\d+)", get(port, "/async/stats"))
            parked = int(m.group(1)) if m else 0
            if parked >= a.count:
                break
            time.sleep(0.1)
        result["parked"] = parked
        result["park_seconds"] = round(time.monotonic() - start, 2)
        time.sleep(1)
        result["with_parked"] = measure(server.pid)

        woke = get(port, "/async/publish?msg=news")
        sel = selectors.DefaultSelector()
        for s in conns:
            sel.register(s, selectors.EVENT_READ, b"")
        answered = 0
        end = time.monotonic() + a.deadline
        buffers = {}
        while answered < len(conns) and time.monotonic() < end:
            for key, _ in sel.select(1.0):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                buffers[s] = buffers.get(s, b"") + data
                if b"news" in buffers[s] or not data:
                    if buffers[s].startswith(b"HTTP/1.1 200") and b"news" in buffers[s]:
                        answered += 1
                    sel.unregister(s)
        result["publish"] = woke
        result["answered_200"] = answered
        added = result["with_parked"]["rss_kib"] - result["before"]["rss_kib"]
        result["added_rss_mib"] = round(added / 1024, 1)
        result["added_threads"] = result["with_parked"]["threads"] - result["before"]["threads"]
    except Exception as e:  # one JSON line either way
        result["error"] = str(e)
    finally:
        for s in conns:
            s.close()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))
    return 0 if "error" not in result and result.get("answered_200") == a.count else 1


if __name__ == "__main__":
    sys.exit(main())
