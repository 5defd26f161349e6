"""A private `serval` running the async fixture app (tests/fixtures/apps/Async.cpp) at /async, in
a worker process (isolation="process", the default) or in the server (isolation="none"), for the
workloads that need an app's async responses or WebSocket endpoint: longpoll.py and idlews.py.
Also how they read a process tree's RSS and threads from /proc.

Used as `with AsyncFixture(serval, fixture, isolation) as server: server.port, server.pid`; the
temp dir and the process are gone after the block. Only ever listens on 127.0.0.1.
"""
import os
import re
import shutil
import socket
import subprocess
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


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def measure(pid, with_children=True):
    """RSS (KiB), threads and open descriptors of `pid` plus (by default) its children, the workers."""
    pids = [pid] + (children(pid) if with_children else [])
    return {"rss_kib": sum(status(p, "VmRSS") for p in pids), "threads": sum(status(p, "Threads") for p in pids),
            "fds": sum(open_fds(p) for p in pids), "processes": len(pids),
            "server_rss_kib": status(pid, "VmRSS")}


def get(port, target):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.partition(b"\r\n\r\n")[2].decode(errors="replace")


class AsyncFixture:
    def __init__(self, serval, fixture, isolation="process"):
        self.serval, self.fixture, self.isolation = serval, fixture, isolation
        self.port = None
        self.proc = None
        self.base = None

    def __enter__(self):
        self.base = tempfile.mkdtemp(prefix="serval-asyncfixture-")
        os.makedirs(f"{self.base}/conf")
        os.makedirs(f"{self.base}/webapps/async/WEB-INF/lib")
        with open(f"{self.base}/conf/server.xml", "w") as f:
            f.write('<Server accessLog="">\n  <Connector address="127.0.0.1" port="0" maxConnections="30000"/>\n'
                    '  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps">'
                    f'<Context path="/async" isolation="{self.isolation}"/></Host></Engine>\n</Server>\n')
        with open(f"{self.base}/webapps/async/WEB-INF/web.xml", "w") as f:
            f.write("<web-app/>")
        shutil.copy(self.fixture, f"{self.base}/webapps/async/WEB-INF/lib/libasync.so")
        self.log = f"{self.base}/serval.stderr"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([self.serval, "--base", self.base, "--port", "0"],
                                         stdout=subprocess.DEVNULL, stderr=log)
        end = time.monotonic() + 15
        while self.port is None and time.monotonic() < end:
            with open(self.log, "rb") as f:
                m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)/", f.read())
            self.port = int(m.group(1)) if m else None
            time.sleep(0.02)  # polling the log with a deadline
        if self.port is None:
            self.__exit__(None, None, None)
            raise RuntimeError("serval did not start")
        get(self.port, "/async/stats")  # the worker is up
        return self

    @property
    def pid(self):
        return self.proc.pid

    def log_tail(self, n=10):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)
        return False
