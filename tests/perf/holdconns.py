#!/usr/bin/env python3
"""Opens COUNT keep-alive connections to 127.0.0.1:PORT, sends one GET on each, reads each
response, and keeps all connections open, idle, until stdin closes or --hold seconds pass.

Started by bench.py to measure a server's RSS with 10,000 idle keep-alive connections. Prints
one line `READY ok=N failed=M seconds=S` once every connection has its response (or failed),
then waits. Bounded: at most --count connections, --deadline seconds to get them ready,
--hold seconds in total. Only ever connects to 127.0.0.1.
"""
import argparse
import resource
import selectors
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--deadline", type=float, default=60.0)
    parser.add_argument("--hold", type=float, default=120.0)
    args = parser.parse_args()
    if args.count > 20000:
        sys.exit("holdconns: --count is capped at 20000")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < args.count + 64:
        sys.exit(f"holdconns: open file limit {hard} is below {args.count + 64}; raise ulimit -n")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    request = (f"GET {args.path} HTTP/1.1\r\nHost: localhost\r\n\r\n").encode()
    start = time.monotonic()
    end = start + args.deadline
    sel = selectors.DefaultSelector()
    conns = []
    pending = {}
    failed = 0
    good = 0
    # Connect in batches so the server's accept queue never overflows, send the request, and
    # read responses in between.
    batch = 100

    def pump(timeout):
        nonlocal failed, good
        for key, _ in sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                failed += 1
                sel.unregister(s)
                pending.pop(s, None)
                continue
            buf = pending[s] + data
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if not sep:
                pending[s] = buf
                continue
            length = 0
            ok = head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(rest) < length:
                pending[s] = buf
                continue
            sel.unregister(s)
            pending.pop(s, None)
            if ok:
                good += 1
            else:
                failed += 1

    for i in range(args.count):
        if time.monotonic() > end:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(max(0.1, min(5.0, end - time.monotonic())))
        try:
            s.connect(("127.0.0.1", args.port))
            s.sendall(request)
        except OSError:
            failed += 1
            s.close()
            continue
        s.setblocking(False)
        conns.append(s)
        pending[s] = b""
        sel.register(s, selectors.EVENT_READ)
        if i % batch == batch - 1:
            pump(0)
    while pending and time.monotonic() < end:
        pump(0.2)
    pump(0.5)  # answers that arrived while the last connects ran into the deadline
    failed += len(pending)
    print(f"READY ok={good} failed={failed} seconds={time.monotonic() - start:.2f}", flush=True)

    # Hold until the parent closes stdin (or the hold time passes).
    hold_end = start + args.hold
    sel2 = selectors.DefaultSelector()
    sel2.register(sys.stdin, selectors.EVENT_READ)
    while time.monotonic() < hold_end:
        if sel2.select(max(0.0, min(1.0, hold_end - time.monotonic()))):
            if not sys.stdin.readline():
                break
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
