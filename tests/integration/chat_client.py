#!/usr/bin/python3
"""The chat sample (sdk/examples/chat) against a real `serval`, with Debian's python3-websockets:
two WebSocket clients and one Server-Sent Events client in one room, a reconnecting event
stream that resumes after Last-Event-ID, and a client that sends nonsense being closed with 1008.

Run by CTest (tests/integration/CMakeLists.txt):
    chat_client.py --serval build/bin/serval --bundle build/bundles/chat.sar --conf conf
Exit status 0 when every check passed; each failure prints one line.
"""
import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import websockets


def start(serval, bundle, conf):
    base = tempfile.mkdtemp(prefix="serval-chat-py-")
    shutil.copytree(conf, os.path.join(base, "conf"))
    users = os.path.join(base, "conf", "users.xml")
    if os.path.exists(users):
        os.remove(users)
    os.makedirs(os.path.join(base, "webapps"))
    shutil.copy(bundle, os.path.join(base, "webapps", "chat.sar"))
    log = open(os.path.join(base, "serval.stderr"), "wb")
    process = subprocess.Popen([serval, "--base", base, "--port", "0"], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 15
    port = None
    while time.monotonic() < deadline and port is None:
        with open(log.name, "rb") as f:
            match = re.search(rb"listening on http://127\.0\.0\.1:(\d+)/", f.read())
        if match:
            port = int(match.group(1))
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.02)  # polling the log file with a deadline
    return base, process, port, log.name


def http(port, method, target, body=b"", headers=None):
    """One request on a fresh connection; returns (status, headers text, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  f"Content-Length: {len(body)}\r\n{extra}\r\n".encode() + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), head.decode("latin-1"), rest


class EventReader:
    """A Server-Sent Events client over asyncio streams: yields (id, data) per event."""

    def __init__(self, port, last_id=None):
        self.port = port
        self.last_id = last_id

    async def __aenter__(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        extra = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id else ""
        self.writer.write(f"GET /chat/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        assert b" 200 " in head and b"text/event-stream" in head, head
        self.buffer = b""
        return self

    async def __aexit__(self, *exc):
        self.writer.close()

    async def event(self):
        while True:
            if b"\n\n" in self.buffer:
                block, _, self.buffer = self.buffer.partition(b"\n\n")
                fields = {}
                for line in block.decode().split("\n"):
                    if line.startswith(":") or ":" not in line:
                        continue
                    name, _, value = line.partition(": ")
                    fields[name] = value
                if "data" in fields:
                    return fields.get("id"), json.loads(fields["data"])
                continue
            size = await asyncio.wait_for(self.reader.readline(), 5)  # chunk size line
            if not size.strip():
                continue
            n = int(size.strip(), 16)
            if n == 0:
                raise EOFError("the event stream ended")
            self.buffer += await asyncio.wait_for(self.reader.readexactly(n + 2), 5)
            self.buffer = self.buffer[:-2]


async def scenario(port):
    failures = []

    def check(condition, what):
        if not condition:
            failures.append(what)
            print("FAIL " + what)

    url = f"ws://127.0.0.1:{port}/chat/ws"
    async with websockets.connect(url) as ada, websockets.connect(url) as bob, EventReader(port) as sse:
        await ada.send(json.dumps({"name": "ada", "text": "hello"}))
        for who, socket_ in (("ada", ada), ("bob", bob)):
            got = json.loads(await asyncio.wait_for(socket_.recv(), 5))
            check(got == {"id": 1, "name": "ada", "text": "hello"}, f"{who} got {got}")
        event_id, got = await sse.event()
        check(event_id == "1" and got["text"] == "hello", f"sse got {event_id} {got}")
        status, _, _ = http(port, "POST", "/chat/send", urllib.parse.urlencode(
            {"name": "eve", "text": "via POST"}).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        check(status == 204, f"POST /chat/send answered {status}")
        for who, socket_ in (("ada", ada), ("bob", bob)):
            got = json.loads(await asyncio.wait_for(socket_.recv(), 5))
            check(got["name"] == "eve" and got["id"] == 2, f"{who} got {got} from the fallback")
        event_id, got = await sse.event()
        check(event_id == "2" and got["name"] == "eve", f"sse got {event_id} {got}")

    # A reconnecting event stream gets what it missed after Last-Event-ID, then new messages.
    async with EventReader(port, last_id="1") as again:
        event_id, got = await again.event()
        check(event_id == "2" and got["text"] == "via POST", f"resumed stream got {event_id} {got}")

    # Nonsense is closed with 1008 (policy), an oversized name refused the same way.
    async with websockets.connect(url) as bad:
        history = [json.loads(await asyncio.wait_for(bad.recv(), 5)) for _ in range(2)]
        check([m["id"] for m in history] == [1, 2], f"a new client got {history} as the recent messages")
        await bad.send("not json")
        try:
            await asyncio.wait_for(bad.recv(), 5)
            check(False, "nonsense was answered instead of closed")
        except websockets.ConnectionClosed as closed:
            check(closed.code == 1008, f"nonsense closed with {closed.code}")
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--serval", required=True)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--conf", required=True)
    args = parser.parse_args()
    base, process, port, log = start(args.serval, args.bundle, args.conf)
    try:
        if port is None:
            print("FAIL serval did not start:\n" + open(log, errors="replace").read()[-4000:])
            return 1
        deadline = time.monotonic() + 15
        while http(port, "GET", "/chat/")[0] != 200:  # the deployer picks the bundle up
            if time.monotonic() > deadline:
                print("FAIL /chat/ never answered 200")
                return 1
            time.sleep(0.05)
        failures = asyncio.run(scenario(port))
        if failures:
            print(open(log, errors="replace").read()[-4000:])
        return 1 if failures else 0
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
