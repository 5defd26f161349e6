#!/usr/bin/env python3
"""Serval against Tomcat 10 and nginx, side by side: the engine behind tests/perf/run.

tests/perf/run installs the Debian packages this needs and then runs this file from the
repository root. Everything it starts lives in a temp dir, listens on 127.0.0.1 only, is
bounded in time, and is stopped on exit (normal end, error, Ctrl-C or SIGTERM). See
tests/perf/README.md for the method and how to read the output.
"""
import argparse
import atexit
import concurrent.futures
import datetime
import glob
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import idlews
from asyncfixture import AsyncFixture

# ---------------------------------------------------------------------------------------------
# What other parts of the repository define. Align here when they change. The environment
# variables SERVAL_BIN_PATH and SERVAL_HELLO_BUNDLE override the paths.
# ---------------------------------------------------------------------------------------------
SERVAL_BIN = os.environ.get("SERVAL_BIN_PATH", "build/bin/serval")
# The `hello` sample bundle as the SDK build produces it: an exploded directory (WEB-INF/web.xml,
# WEB-INF/lib/*.so, static files). The deploy tests zip it themselves (as they zip the WAR), with
# a version.txt and padding added, so both servers get the same kind of archive.
SERVAL_HELLO_BUNDLE = os.environ.get("SERVAL_HELLO_BUNDLE", "build/bundles/hello")
SERVAL_WEB_XML = "conf/web.xml"  # copied into Serval's private base as its global web.xml
# The hello workload's URL is HELLO_CONTEXT + HELLO_SERVLET_PATH on all three servers: Serval's
# bundle is deployed as webapps/<HELLO_CONTEXT>, Tomcat's WAR likewise, nginx answers the URL.
HELLO_CONTEXT = "/hello"
# Issue 11: the same bundle again, run in a worker process (isolation="process") while /hello
# stays in-process (isolation="none"), so one run measures both side by side. Serval only.
HELLO_ISOLATED_CONTEXT = "/hello-isolated"
HELLO_SERVLET_PATH = "/hello"  # sdk/examples/hello/web.xml maps the Hello servlet at /hello
HELLO_BODY = b"Hello, World!"
# The database workloads (issue 13): sdk/examples/fortunes on Serval, tests/perf/java/fortunes on
# Tomcat (JDBC), each on its own database of one private PostgreSQL; and the same Serval bundle
# on its embedded SQLite database.
SERVAL_FORTUNES_BUNDLE = os.environ.get("SERVAL_FORTUNES_BUNDLE", "build/bundles/fortunes")
FORTUNES_MIGRATION = "sdk/examples/fortunes/migrations/V1__create_tables.sql"
FORTUNES_CONTEXT = "/fortunes"
FORTUNES_SQLITE_CONTEXT = "/fortunes-sqlite"
DB_POOL = 16  # Serval's maxConnections and Tomcat's maxTotal
# Where the fortunes sample runs: "process" (the default isolation: one worker process, which
# opens its own pools) or "none" (in the server, like /hello).
DB_ISOLATION = os.environ.get("SERVAL_DB_ISOLATION", "process")
PG_USER = "bench"
PG_DATABASES = {"serval": "hello_world_serval", "tomcat": "hello_world_tomcat"}
POSTGRES_JDBC_JAR = "/usr/share/java/postgresql.jar"
STATIC_NAME = "4k.html"  # a 4096-byte file in each server's root context
STATIC_SIZE = 4096
# Connector attributes for Serval in each placement (attribute names from conf/server.xml).
SERVAL_PINNED_ATTRS = {"ioThreads": "1", "workerThreads": "4"}
SERVAL_WHOLE_ATTRS = {}  # Serval's defaults
# Limits shared by all three servers, so that none refuses the 10k idle connections or closes
# keep-alive connections after N requests (defaults: Tomcat 100, nginx 1000, Serval 10000).
SERVAL_COMMON_ATTRS = {"maxConnections": "16384", "maxKeepAliveRequests": "0"}  # 0 = no limit
SERVAL_NO_ACCESS_LOG_ATTRS = {"accessLog": ""}  # <Server> attributes for --no-access-log
# The session workloads (phase "sessions"): Serval's `sessions` sample (sdk/examples/sessions)
# deployed as webapps/sessions, Tomcat's bench.SessionServlet (java/SessionServlet.java) at the
# same URLs. /login starts a session, /hello reads one attribute, /visit reads one and
# increments a counter attribute, /visits answers the counter; the answers are 13 bytes.
SERVAL_SESSIONS_BUNDLE = os.environ.get("SERVAL_SESSIONS_BUNDLE", "build/bundles/sessions")
SESSIONS_CONTEXT = "/sessions"
SESSION_WORKLOADS = {"session-read": "/hello", "session": "/visit"}
# Where the sessions sample runs: "process" (the default isolation, a worker process opens the
# store) or "none" (SERVAL_SESSIONS_ISOLATION=none: in the server). The read ratio compares it
# with the hello sample in the same mode (hello-isolated, or the in-process hello).
SESSIONS_ISOLATION = os.environ.get("SERVAL_SESSIONS_ISOLATION", "process")
SESSION_COOKIE = {"serval": "SERVALSESSION", "tomcat": "JSESSIONID"}
SESSION_COUNT = 1024  # sessions logged in per server before its runs; wrk's requests cycle through them
SESSION_KILL_CLIENTS = 32  # clients of the kill -9 count, each alone on its session
SESSION_CONNECTIONS = 128  # wrk connections of the session workloads (issue 12)
# A request that wrote its session waits for the store's commit on the worker thread that ran
# it (no CPU while it waits), so the writes that can share one group commit are at most the
# worker threads: the phase gives Serval one per connection, as Tomcat's 200 threads do.
SESSION_SERVAL_CONNECTOR_ATTRS = {"workerThreads": str(SESSION_CONNECTIONS)}
REDIS_SERVER = "/usr/bin/redis-server"
TOMCAT_HOME = "/usr/share/tomcat10"
TOMCAT_SERVLET_API = "/usr/share/tomcat10/lib/servlet-api.jar"
TOMCAT_WEBSOCKET_API = ("/usr/share/tomcat10/lib/websocket-api.jar:"
                        "/usr/share/tomcat10/lib/websocket-client-api.jar")
# The websocket phase: the async fixture app's echo endpoint (/async/ws, below) for Serval,
# Tomcat's Jakarta WebSocket echo (java/EchoEndpoint.java at /ws/echo), and the load generator
# tests/perf/wsbench.cpp. Both of Serval's come from the CMake build.
WS_BENCH = os.environ.get("SERVAL_WS_BENCH_PATH", "build/tests/wsbench")
SERVAL_ASYNC_FIXTURE = os.environ.get("SERVAL_ASYNC_FIXTURE_PATH", "build/tests/fixtures/libasync.so")
WS_CONNECTIONS = (128, 1024)
WS_MESSAGE_SIZE = 32

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_NAMES = ("serval", "tomcat", "nginx")
WORKLOADS = ("static", "hello", "hello-isolated", "db", "fortunes", "db-sqlite", "fortunes-sqlite")
PG_WORKLOADS = ("db", "fortunes")  # Serval and Tomcat on PostgreSQL
SQLITE_WORKLOADS = ("db-sqlite", "fortunes-sqlite")  # Serval's embedded database only
PLACEMENTS = ("pinned", "whole")
PHASES = ("load", "startup", "idle", "websocket", "longpoll", "drop", "redeploy", "sessions")
STALL_MS = 2000

# ---------------------------------------------------------------------------------------------
# Processes we started, stopped on exit whatever happens.
# ---------------------------------------------------------------------------------------------
_children = []  # subprocess.Popen objects, each in its own process group


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, start_new_session=True, **kw)
    _children.append(p)
    return p


def stop_process(p, timeout=15.0):
    """SIGTERM to the process group we created for p, then SIGKILL after timeout."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(5)
    else:
        # The leader exited; children of its group (nginx workers) may still be there.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if p in _children:
        _children.remove(p)


def cleanup():
    for p in list(_children):
        try:
            stop_process(p, 10)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def die(msg):
    print(f"perf: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# /proc, ports, HTTP
# ---------------------------------------------------------------------------------------------
def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                rest = f.read().rpartition(")")[2].split()
            if int(rest[1]) == pid:
                out.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return out


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                rest = f.read().rpartition(")")[2].split()
            total += int(rest[11]) + int(rest[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def pss_kib(pids):
    """Proportional set size: shared pages split between the processes that map them, so a
    multi-process server (nginx master + workers) is not counted twice for what they share."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def port_owner(port):
    r = subprocess.run(["ss", "-Hltnp", f"( sport = :{port} )"], capture_output=True, text=True)
    return r.stdout.strip()


def check_port_free(port):
    """Refuses to go on if anything already listens on port (or it cannot be bound)."""
    owner = port_owner(port)
    if owner:
        die(f"port {port} is already in use by something tests/perf/run did not start:\n  {owner}\n"
            f"  stop it or choose other ports with --port-base")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError as e:
        die(f"port {port} on 127.0.0.1 cannot be bound ({e}); choose other ports with --port-base")
    finally:
        s.close()


def http_get(port, path, timeout=2.0):
    """One GET to 127.0.0.1:port; returns (status, body) or (None, error string)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        return None, str(e)
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not m:
        return None, "no HTTP status line"
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return int(m.group(1)), body


def dechunk(body):
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2:]
    return out


def wait_for_200(port, path, deadline_s, proc=None, interval=0.001):
    """Polls until GET path answers 200; returns seconds waited or None on deadline/exit."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if proc is not None and proc.poll() is not None:
            return None
        status, _ = http_get(port, path, timeout=1.0)
        if status == 200:
            return time.monotonic() - start
        time.sleep(interval)
    return None


# ---------------------------------------------------------------------------------------------
# The three servers
# ---------------------------------------------------------------------------------------------
def render(template_path, **values):
    with open(template_path) as f:
        return string.Template(f.read()).substitute(**values)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


STATIC_BODY = (("Serval benchmark static file, 4096 bytes. " * 100)[: STATIC_SIZE - 1] + "\n").encode()


def fortunes_body():
    """The /fortunes page every server must answer, byte for byte: the rows of the sample's
    migration plus the one added at request time, sorted by message, HTML-escaped."""
    try:
        with open(FORTUNES_MIGRATION, encoding="utf-8") as f:
            sql = f.read()
    except OSError:
        return None
    rows = [(int(i), m.replace("''", "'")) for i, m in re.findall(r"\((\d+), '((?:[^']|'')*)'\)", sql)]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda r: r[1].encode())
    html = "".join(f"<tr><td>{i}</td><td>{escape_html(m)}</td></tr>" for i, m in rows)
    return ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            "<tr><th>id</th><th>message</th></tr>" + html + "</table></body></html>").encode()


def escape_html(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


FORTUNES_BODY = fortunes_body()
WORLD_JSON = re.compile(rb'\{"id":([0-9]+),"randomNumber":([0-9]+)\}')


def answers(workload, body):
    """True if `body` is a right answer for `workload` (the db ones are random rows)."""
    if workload == "static":
        return body == STATIC_BODY
    if workload in ("hello", "hello-isolated"):
        return body == HELLO_BODY
    if workload.startswith("db"):
        m = WORLD_JSON.fullmatch(body)
        return bool(m) and 1 <= int(m.group(1)) <= 10000
    return body == FORTUNES_BODY


def expectation(workload):
    return {"static": f"{STATIC_SIZE} bytes", "hello": f"{len(HELLO_BODY)} bytes",
            "hello-isolated": f"{len(HELLO_BODY)} bytes"}.get(
        workload, "a World row as JSON" if workload.startswith("db") else "the fortunes page")


class Postgres:
    """A private PostgreSQL for the db workloads: initdb in the temp dir, on 127.0.0.1 only,
    trust authentication (nothing else can reach it), as `nobody` when run as root (the
    server refuses root). Serval's database is created empty (its deployer runs the sample's
    migration); Tomcat's is loaded from the same migration file with psql."""

    def __init__(self, root, port):
        self.dir = os.path.join(root, "postgres")
        self.port = port
        self.proc = None
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        self.bin = os.path.dirname(bins[-1]) if bins else None

    def as_owner(self, cmd):
        return (["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
                if os.getuid() == 0 else cmd)

    def start(self):
        if not self.bin:
            die("PostgreSQL not found under /usr/lib/postgresql (tests/perf/run installs Debian's postgresql)")
        check_port_free(self.port)
        data = os.path.join(self.dir, "data")
        os.makedirs(self.dir, exist_ok=True)
        if os.getuid() == 0:
            shutil.chown(self.dir, "nobody", "nogroup")
        r = subprocess.run(self.as_owner([os.path.join(self.bin, "initdb"), "-D", data, "-U", PG_USER,
                                          "--auth=trust", "-E", "UTF8", "--locale=C"]),
                           capture_output=True, text=True)
        if r.returncode != 0:
            die(f"initdb failed:\n{r.stdout}{r.stderr}")
        self.log_file = open(os.path.join(self.dir, "postgres.log"), "ab")
        self.proc = spawn(self.as_owner([os.path.join(self.bin, "postgres"), "-D", data, "-p", str(self.port),
                                         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
                                         "-c", "max_connections=200"]),
                          stdout=self.log_file, stderr=self.log_file)
        end = time.monotonic() + 30
        while self.psql("postgres", "-c", "SELECT 1").returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > end:
                die(f"PostgreSQL did not start on port {self.port}; see {self.dir}/postgres.log")
            time.sleep(0.1)
        for database in PG_DATABASES.values():
            r = self.psql("postgres", "-c", f"CREATE DATABASE {database}")
            if r.returncode != 0:
                die(f"cannot create database {database}: {r.stderr}")
        r = self.psql(PG_DATABASES["tomcat"], "-v", "ON_ERROR_STOP=1", "-f", os.path.abspath(FORTUNES_MIGRATION))
        if r.returncode != 0:
            die(f"cannot load {FORTUNES_MIGRATION} into {PG_DATABASES['tomcat']}: {r.stderr}")
        log(f"perf: PostgreSQL {self.version()} on 127.0.0.1:{self.port} (databases {', '.join(PG_DATABASES.values())})")

    def psql(self, database, *args):
        return subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", PG_USER, "-d", database, *args], capture_output=True, text=True)

    def version(self):
        r = subprocess.run([os.path.join(self.bin, "postgres"), "--version"], capture_output=True, text=True)
        return r.stdout.strip().split()[-1] if r.returncode == 0 else "?"

    def url(self, who):
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{PG_DATABASES[who]}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # fast shutdown: no waiting for clients
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        if self.proc:
            stop_process(self.proc)
            self.proc = None


class Server:
    name = "?"
    postgres = None  # the Postgres of the db workloads, when they run

    def __init__(self, root, port, opts):
        self.dir = os.path.join(root, self.name)
        self.port = port
        self.opts = opts
        self.proc = None
        self.problems = {}  # workload -> why it cannot run

    def paths(self):
        return {"static": "/" + STATIC_NAME, "hello": HELLO_CONTEXT + HELLO_SERVLET_PATH,
                "hello-isolated": HELLO_ISOLATED_CONTEXT + HELLO_SERVLET_PATH,
                "db": FORTUNES_CONTEXT + "/db", "fortunes": FORTUNES_CONTEXT + "/fortunes",
                "db-sqlite": FORTUNES_SQLITE_CONTEXT + "/db", "fortunes-sqlite": FORTUNES_SQLITE_CONTEXT + "/fortunes"}

    def supports(self, workload):
        if workload == "hello-isolated" and self.name != "serval":
            return False  # the process model is Serval's own
        return workload not in self.problems

    def prepare(self):
        """Builds the private base directory once."""

    def configure(self, placement):
        """Writes the placement's config."""

    def command(self, placement):
        raise NotImplementedError

    def env(self):
        return None

    last_pids = ()

    def pids(self):
        """The server's pid and its children's (nginx workers; Tomcat's pid is the JVM's)."""
        if not self.proc or self.proc.poll() is not None:
            return []
        self.last_pids = [self.proc.pid] + children_of(self.proc.pid)
        return self.last_pids

    def start(self, placement, deadline_s=60.0):
        """Starts the server; returns seconds from spawn to the first 200 for the static file."""
        check_port_free(self.port)
        self.configure(placement)
        cmd = self.command(placement)
        if placement == "pinned":
            cmd = ["taskset", "-c", "1"] + cmd
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "ab")
        t0 = time.monotonic()
        self.proc = spawn(cmd, stdout=self.stderr, stderr=self.stderr, env=self.env(), cwd=self.dir)
        waited = wait_for_200(self.port, self.paths()["static"], deadline_s, self.proc)
        if waited is None:
            code = self.proc.poll()
            what = (f"exited with status {code} before answering" if code is not None else
                    f"did not answer 200 for {self.paths()['static']} within {deadline_s:.0f} s")
            self.stop()
            die(f"{self.name} {what} (command: {' '.join(cmd)}); its output ends with:\n{self.log_tail()}")
        return time.monotonic() - t0

    def log_tail(self, n=15):
        try:
            with open(os.path.join(self.dir, "stderr.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc:
            stop_process(self.proc)
            self.proc = None
            # Wait until the listening socket is gone (nginx workers exit after the master), so
            # the next start's port check does not see our own leftover.
            end = time.monotonic() + 10
            while port_owner(self.port) and time.monotonic() < end:
                time.sleep(0.05)
        if getattr(self, "stderr", None):
            self.stderr.close()
            self.stderr = None

    def remove_db_apps(self):
        """Takes the database workloads' apps out of webapps/ (after the load phase)."""
        self.without_db = True
        for context in (FORTUNES_CONTEXT, FORTUNES_SQLITE_CONTEXT):
            shutil.rmtree(os.path.join(self.dir, "webapps", context.strip("/")), ignore_errors=True)

    without_db = False

    def sanity(self):
        """Checks that each workload answers the same bytes as on the other servers."""
        for workload, path in self.paths().items():
            if workload in self.problems or (workload != "static" and workload not in self.opts.workloads):
                continue
            status, body = http_get(self.port, path)
            if status != 200 or not answers(workload, body):
                got = body[:60] if isinstance(body, bytes) else body
                self.problems[workload] = f"GET {path} answered {status} {got!r}, expected 200 and {expectation(workload)}"
                log(f"perf: {self.name}: {self.problems[workload]}; skipping that workload")

    # Deployment tests, for the servers that hot-deploy: app_dir is the exploded hello app,
    # archive_ext the extension of its packed form in webapps/.
    app_dir = None
    archive_ext = None

    def pack(self, name, tag):
        """Zips the hello app plus version.txt (= tag) and the padding into drop-staging/."""
        staging = os.path.join(self.dir, "drop-staging")
        os.makedirs(staging, exist_ok=True)
        path = os.path.join(staging, name + self.archive_ext)
        make_archive(self.app_dir, path, tag, self.opts.bundle_padding)
        return path

    def drop(self, index):
        """Renames a new app into webapps/; ms until its servlet answers 200."""
        name = f"drop{index}"
        src = self.pack(name, name)
        dst = os.path.join(self.dir, "webapps", name + self.archive_ext)
        r = timed_drop(self.port, src, dst, f"/{name}{HELLO_SERVLET_PATH}", self.opts.drop_timeout)
        r["archive_bytes"] = os.path.getsize(dst)
        return r

    def redeploy_under_load(self, seconds):
        """Deploys version 1 of an app, then replaces it with version 2 while wrk (4
        connections) keeps requesting its servlet; counts what wrk saw fail and when version 2
        answered."""
        name = "redeploy"
        dst = os.path.join(self.dir, "webapps", name + self.archive_ext)
        os.rename(self.pack(name + "-v1", "v1"), dst)
        url = f"/{name}{HELLO_SERVLET_PATH}"
        if wait_for_200(self.port, url, self.opts.drop_timeout, self.proc, 0.005) is None:
            return {"error": f"version 1 never answered {url}"}
        v2 = self.pack(name + "-v2", "v2")
        p = start_wrk(self.port, url, 4, seconds, False)
        time.sleep(2)
        t0 = time.monotonic()
        os.rename(v2, dst)
        switched = None
        while time.monotonic() - t0 < seconds - 3:
            status, body = http_get(self.port, f"/{name}/version.txt", timeout=1.0)
            if status == 200 and body.strip() == b"v2":
                switched = round((time.monotonic() - t0) * 1000, 1)
                break
            time.sleep(0.005)
        r = finish_wrk(p, seconds)
        r["v2_live_after_ms"] = switched
        r["failed"] = None if "error" in r else r["socket_errors"] + r["non2xx"]
        return r


class Serval(Server):
    name = "serval"
    app_dir = SERVAL_HELLO_BUNDLE
    archive_ext = ".sar"
    host_children = ""  # inside <Host>: the session <Manager> of the phase "sessions" (Redis)
    connector_overrides = {}  # the phase "sessions": SESSION_SERVAL_CONNECTOR_ATTRS

    def prepare(self):
        if not os.access(SERVAL_BIN, os.X_OK):
            die(f"{SERVAL_BIN} not found; build Serval first (script/server builds it, or "
                f"cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build), "
                f"or leave it out with --servers tomcat,nginx")
        os.makedirs(os.path.join(self.dir, "conf"), exist_ok=True)
        for d in ("logs", "data", "work", "webapps/ROOT"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        if os.path.exists(SERVAL_WEB_XML):
            shutil.copy(SERVAL_WEB_XML, os.path.join(self.dir, "conf", "web.xml"))
        with open(os.path.join(self.dir, "webapps", "ROOT", STATIC_NAME), "wb") as f:
            f.write(STATIC_BODY)
        if os.path.isdir(SERVAL_HELLO_BUNDLE):
            for context in (HELLO_CONTEXT, HELLO_ISOLATED_CONTEXT):
                shutil.copytree(SERVAL_HELLO_BUNDLE, os.path.join(self.dir, "webapps", context.strip("/")))
        else:
            self.problems["hello"] = f"{SERVAL_HELLO_BUNDLE} not found (the SDK build makes it)"
            self.problems["hello-isolated"] = self.problems["hello"]
            log(f"perf: serval: {self.problems['hello']}; skipping the hello workload")
        wanted = [w for w in PG_WORKLOADS + SQLITE_WORKLOADS if w in self.opts.workloads]
        if wanted and not os.path.isdir(SERVAL_FORTUNES_BUNDLE):
            for w in wanted:
                self.problems[w] = f"{SERVAL_FORTUNES_BUNDLE} not found (the SDK build makes it)"
        elif wanted:
            for context in (FORTUNES_CONTEXT, FORTUNES_SQLITE_CONTEXT):
                shutil.copytree(SERVAL_FORTUNES_BUNDLE, os.path.join(self.dir, "webapps", context.strip("/")))
        if os.path.isdir(SERVAL_SESSIONS_BUNDLE):
            shutil.copytree(SERVAL_SESSIONS_BUNDLE, os.path.join(self.dir, "webapps", SESSIONS_CONTEXT.strip("/")))
        else:
            self.problems["session"] = f"{SERVAL_SESSIONS_BUNDLE} not found (the SDK build makes it)"

    def configure(self, placement):
        attrs = dict(SERVAL_COMMON_ATTRS)
        attrs.update(SERVAL_PINNED_ATTRS if placement == "pinned" else SERVAL_WHOLE_ATTRS)
        attrs.update(self.connector_overrides)
        server_attrs = {} if self.opts.access_log else SERVAL_NO_ACCESS_LOG_ATTRS
        text = render(os.path.join(HERE, "templates", "serval-server.xml"), port=self.port,
                      server_attrs="".join(f' {k}="{v}"' for k, v in server_attrs.items()),
                      connector_attrs="".join(f' {k}="{v}"' for k, v in attrs.items()),
                      host_attrs="", host_children=self.host_children, host_contexts=self.contexts())
        write(os.path.join(self.dir, "conf", "server.xml"), text)

    def contexts(self):
        """/hello in-process and /hello-isolated in a worker process; the fortunes sample twice (when
        the db workloads run): bound to PostgreSQL, and on its embedded SQLite database."""
        hello = (f'<Context path="{HELLO_CONTEXT}" isolation="none"/>'
                 f'<Context path="{HELLO_ISOLATED_CONTEXT}" isolation="process"/>'
                 f'<Context path="{SESSIONS_CONTEXT}" isolation="{SESSIONS_ISOLATION}"/>')
        if self.without_db or not any(w in self.opts.workloads for w in PG_WORKLOADS + SQLITE_WORKLOADS):
            return hello
        pg = (f'<DataSource name="main" type="postgresql" url="{self.postgres.url("serval")}" '
              f'maxConnections="{DB_POOL}"/>' if self.postgres else "")
        iso = f' isolation="{DB_ISOLATION}"'
        return (hello + f'\n      <Context path="{FORTUNES_CONTEXT}"{iso}>{pg}</Context>'
                f'\n      <Context path="{FORTUNES_SQLITE_CONTEXT}"{iso}><DataSource name="main" '
                f'maxConnections="{DB_POOL}"/></Context>\n    ')

    def command(self, placement):
        return [os.path.abspath(SERVAL_BIN), "--base", self.dir, "--port", str(self.port)]


class Tomcat(Server):
    name = "tomcat"
    archive_ext = ".war"

    def prepare(self):
        for d in ("conf", "logs", "temp", "work", "webapps/ROOT", "lib", "build/classes"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        for f in ("web.xml", "catalina.properties", "logging.properties"):
            shutil.copy(os.path.join(HERE, "templates", "tomcat", f), os.path.join(self.dir, "conf", f))
        with open(os.path.join(self.dir, "webapps", "ROOT", STATIC_NAME), "wb") as f:
            f.write(STATIC_BODY)
        # The hello servlet: compiled here, deployed exploded as webapps/hello, packed as a WAR
        # by the deploy tests.
        classes = os.path.join(self.dir, "build", "classes")
        sources = [os.path.join(HERE, "java", f)
                   for f in ("HelloServlet.java", "SessionServlet.java", "LongPollServlet.java")]
        r = subprocess.run(["javac", "-nowarn", "--release", "17", "-cp", TOMCAT_SERVLET_API, "-d", classes]
                           + sources, capture_output=True, text=True)
        if r.returncode != 0:
            die(f"javac failed on tests/perf/java:\n{r.stderr}")
        app = os.path.join(self.dir, "build", "hello")
        shutil.copytree(classes, os.path.join(app, "WEB-INF", "classes"))
        write(os.path.join(app, "WEB-INF", "web.xml"),
              render(os.path.join(HERE, "java", "web.xml"), hello_mapping=HELLO_SERVLET_PATH))
        self.app_dir = app
        shutil.copytree(app, os.path.join(self.dir, "webapps", HELLO_CONTEXT.strip("/")))
        # The sessions webapp: the same classes, its own web.xml (session workloads).
        sessions = os.path.join(self.dir, "webapps", SESSIONS_CONTEXT.strip("/"))
        shutil.copytree(classes, os.path.join(sessions, "WEB-INF", "classes"))
        shutil.copy(os.path.join(HERE, "java", "sessions-web.xml"), os.path.join(sessions, "WEB-INF", "web.xml"))
        # The longpoll phase's servlet: webapps/async (the same classes, its own web.xml).
        async_app = os.path.join(self.dir, "webapps", "async")
        shutil.copytree(classes, os.path.join(async_app, "WEB-INF", "classes"))
        shutil.copy(os.path.join(HERE, "java", "async-web.xml"), os.path.join(async_app, "WEB-INF", "web.xml"))
        # The websocket phase's echo endpoint: webapps/ws, registered by its listener.
        ws_classes = os.path.join(self.dir, "build", "ws-classes")
        r = subprocess.run(["javac", "-nowarn", "--release", "17", "-cp",
                            TOMCAT_SERVLET_API + ":" + TOMCAT_WEBSOCKET_API, "-d", ws_classes,
                            os.path.join(HERE, "java", "EchoEndpoint.java")], capture_output=True, text=True)
        if r.returncode != 0:
            self.problems["websocket"] = "javac failed on tests/perf/java/EchoEndpoint.java: " + r.stderr[-300:]
        else:
            ws_app = os.path.join(self.dir, "webapps", "ws")
            shutil.copytree(ws_classes, os.path.join(ws_app, "WEB-INF", "classes"))
            shutil.copy(os.path.join(HERE, "java", "ws-web.xml"), os.path.join(ws_app, "WEB-INF", "web.xml"))
        for w in SQLITE_WORKLOADS:
            self.problems[w] = "Tomcat has no embedded database (Serval-only row)"
        if any(w in self.opts.workloads for w in PG_WORKLOADS):
            self.prepare_fortunes()

    def prepare_fortunes(self):
        """tests/perf/java/fortunes as webapps/fortunes, with its pooled JDBC DataSource."""
        if not os.path.exists(POSTGRES_JDBC_JAR):
            for w in PG_WORKLOADS:
                self.problems[w] = f"{POSTGRES_JDBC_JAR} missing (Debian's libpostgresql-jdbc-java)"
            return
        src = os.path.join(HERE, "java", "fortunes")
        app = os.path.join(self.dir, "webapps", FORTUNES_CONTEXT.strip("/"))
        classes = os.path.join(app, "WEB-INF", "classes")
        os.makedirs(classes, exist_ok=True)
        r = subprocess.run(["javac", "-nowarn", "--release", "17", "-cp", TOMCAT_SERVLET_API, "-d", classes,
                            os.path.join(src, "FortunesServlet.java")], capture_output=True, text=True)
        if r.returncode != 0:
            die(f"javac failed on tests/perf/java/fortunes/FortunesServlet.java:\n{r.stderr}")
        shutil.copy(os.path.join(src, "web.xml"), os.path.join(app, "WEB-INF", "web.xml"))
        write(os.path.join(app, "META-INF", "context.xml"),
              render(os.path.join(src, "context.xml"), pg_port=self.postgres.port if self.postgres else 0,
                     database=PG_DATABASES["tomcat"], user=PG_USER, pool=DB_POOL))
        os.symlink(POSTGRES_JDBC_JAR, os.path.join(self.dir, "lib", "postgresql.jar"))

    def configure(self, placement):
        access = ('<Valve className="org.apache.catalina.valves.AccessLogValve" directory="logs" '
                  'prefix="localhost_access_log" suffix=".txt" pattern="combined" />'
                  if self.opts.access_log else "")
        write(os.path.join(self.dir, "conf", "server.xml"),
              render(os.path.join(HERE, "templates", "tomcat", "server.xml"), port=self.port,
                     max_keepalive_requests="-1", access_log=access))

    def command(self, placement):
        # catalina.sh run execs java, so the pid we get is the JVM's.
        return [os.path.join(TOMCAT_HOME, "bin", "catalina.sh"), "run"]

    def env(self):
        env = dict(os.environ)
        env.update(CATALINA_HOME=TOMCAT_HOME, CATALINA_BASE=self.dir,
                   CATALINA_TMPDIR=os.path.join(self.dir, "temp"))
        env.pop("CATALINA_OPTS", None)
        env.pop("JAVA_OPTS", None)
        return env


class Nginx(Server):
    name = "nginx"

    def prepare(self):
        for w in PG_WORKLOADS + SQLITE_WORKLOADS:
            self.problems[w] = "nginx runs no app code (Serval/Tomcat-only row)"
        for d in ("conf", "logs", "tmp", "html"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        with open(os.path.join(self.dir, "html", STATIC_NAME), "wb") as f:
            f.write(STATIC_BODY)

    def configure(self, placement):
        access = (f"access_log {self.dir}/logs/access.log combined;" if self.opts.access_log
                  else "access_log off;")
        write(os.path.join(self.dir, "conf", "nginx.conf"),
              render(os.path.join(HERE, "templates", "nginx.conf"), prefix=self.dir, port=self.port,
                     workers="1" if placement == "pinned" else "auto", access_log=access,
                     keepalive_requests="1000000", hello_path=HELLO_CONTEXT + HELLO_SERVLET_PATH))

    def command(self, placement):
        return ["nginx", "-p", self.dir + "/", "-c", os.path.join(self.dir, "conf", "nginx.conf"),
                "-e", os.path.join(self.dir, "logs", "error.log")]


def make_archive(app_dir, path, tag, padding):
    """A zip of app_dir plus version.txt (tag) and padding.bin (padding random bytes, so the
    archive has a realistic size and does not compress away)."""
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for root, dirs, files in os.walk(app_dir):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(root, f)
                z.write(full, os.path.relpath(full, app_dir))
        for name, data in (("version.txt", tag.encode() + b"\n"), ("padding.bin", os.urandom(padding))):
            if name == "padding.bin" and not padding:
                continue
            info = zipfile.ZipInfo(name, time.localtime()[:6])
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.rename(tmp, path)


def timed_drop(port, src, dst, url, timeout):
    """rename(src, dst) into the watched directory, then polls url every 5 ms until 200."""
    t0 = time.monotonic()
    os.rename(src, dst)
    waited = None
    while time.monotonic() - t0 < timeout:
        status, _ = http_get(port, url, timeout=1.0)
        if status == 200:
            waited = time.monotonic() - t0
            break
        time.sleep(0.005)
    if waited is None:
        return {"ms": None, "error": f"no 200 from {url} within {timeout:.0f} s"}
    return {"ms": round(waited * 1000, 1)}


# ---------------------------------------------------------------------------------------------
# Load runs
# ---------------------------------------------------------------------------------------------
class StallSampler(threading.Thread):
    """Samples `ss -tni` for established connections on the server port once a second and
    counts the ones that have neither sent nor received data for >= 2 s (the kernel's
    tcpi_last_data_sent / tcpi_last_data_recv, printed by ss as lastsnd / lastrcv in ms, for
    the server's end of each connection). Under wrk every live connection always has a request
    in flight, so a connection silent both ways for 2 s is one the server is not serving."""

    def __init__(self, port, pinned):
        super().__init__(daemon=True)
        self.port = port
        self.cmd = (["taskset", "-c", "0"] if pinned else []) + [
            "ss", "-tniH", "state", "established", f"( sport = :{port} )"]
        self.halt = threading.Event()
        self.peak = 0
        self.distinct = set()
        self.samples = 0
        self.max_silent_ms = 0

    def run(self):
        while not self.halt.wait(1.0):
            r = subprocess.run(self.cmd, capture_output=True, text=True)
            stalled = 0
            peer = None
            for line in r.stdout.splitlines():
                if line and not line[0].isspace():
                    parts = line.split()
                    peer = parts[-1] if parts else None
                    continue
                snd = re.search(r"lastsnd:(\d+)", line)
                rcv = re.search(r"lastrcv:(\d+)", line)
                silent = min(int(snd.group(1)) if snd else 0, int(rcv.group(1)) if rcv else 0)
                self.max_silent_ms = max(self.max_silent_ms, silent)
                if silent >= STALL_MS:
                    stalled += 1
                    self.distinct.add(peer)
            self.samples += 1
            self.peak = max(self.peak, stalled)

    def stop(self):
        self.halt.set()
        self.join(5)


def wrk(port, path, conns, seconds, pinned, script="report.lua", script_args=()):
    return finish_wrk(start_wrk(port, path, conns, seconds, pinned, script, script_args), seconds)


def start_wrk(port, path, conns, seconds, pinned, script="report.lua", script_args=()):
    cmd = (["taskset", "-c", "0"] if pinned else []) + [
        "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "2s", "--latency",
        "-s", os.path.join(HERE, script), f"http://127.0.0.1:{port}{path}"]
    if script_args:
        cmd += ["--"] + list(script_args)
    return spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_wrk(p, seconds):
    """Waits for a wrk started by start_wrk (killed 30 s after its duration) and parses it."""
    try:
        out, _ = p.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        stop_process(p)
        return {"error": "wrk did not finish in time"}
    if p in _children:
        _children.remove(p)
    m = re.search(r"^WRKJSON (\{.*\})$", out, re.M)
    if not m:
        return {"error": "wrk printed no summary: " + out.strip()[-300:]}
    w = json.loads(m.group(1))
    return {
        "requests": w["requests"],
        "rps": w["requests"] / (w["duration_us"] / 1e6),
        "p50_ms": w["p50_us"] / 1000, "p90_ms": w["p90_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
        "p999_ms": w["p999_us"] / 1000, "max_ms": w["max_us"] / 1000,
        "socket_errors": w["connect"] + w["read"] + w["write"] + w["timeout"],
        "socket_errors_detail": {k: w[k] for k in ("connect", "read", "write", "timeout")},
        "non2xx": w["status"],
    }


def measure(server, workload, placement, conns, opts, path=None, script="report.lua", script_args=()):
    path = path or server.paths()[workload]
    pinned = placement == "pinned"
    if opts.warmup > 0:
        wrk(server.port, path, conns, opts.warmup, pinned, script, script_args)
    sampler = StallSampler(server.port, pinned) if conns >= 512 else None
    pids = server.pids()
    cpu0 = cpu_seconds(pids)
    # The client's CPU (wrk, plus the ss samples at >= 512 connections): reaped children only.
    client0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if sampler:
        sampler.start()
    r = wrk(server.port, path, conns, opts.duration, pinned, script, script_args)
    if sampler:
        sampler.stop()
    cpu1 = cpu_seconds(server.pids())
    client1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_s = (client1.ru_utime + client1.ru_stime) - (client0.ru_utime + client0.ru_stime)
    r.update(server=server.name, workload=workload, placement=placement, connections=conns)
    if "error" not in r:
        r["cpu_s"] = round(cpu1 - cpu0, 3)
        r["cpu_s_per_100k"] = round((cpu1 - cpu0) / r["requests"] * 100000, 4) if r["requests"] else None
        r["client_cpu_s"] = round(client_s, 3)
        r["client_busy"] = round(client_s / opts.duration, 3)
    if sampler:
        r["stalled_peak"] = sampler.peak
        r["stalled_distinct"] = len(sampler.distinct)
        r["max_silent_ms"] = sampler.max_silent_ms
        r["ss_samples"] = sampler.samples
    return r


# ---------------------------------------------------------------------------------------------
# Summaries and report
# ---------------------------------------------------------------------------------------------
def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs):
    groups = {}
    for r in runs:
        if "error" in r:
            continue
        key = (r["placement"], r["workload"], r["connections"], r["server"])
        groups.setdefault(key, []).append(r)
    summary = []
    for (placement, workload, conns, server), rs in sorted(groups.items()):
        summary.append({
            "placement": placement, "workload": workload, "connections": conns, "server": server,
            "reps": len(rs),
            "rps": median([r["rps"] for r in rs]),
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "socket_errors": sum(r["socket_errors"] for r in rs),
            "non2xx": sum(r["non2xx"] for r in rs),
            "cpu_s_per_100k": median([r.get("cpu_s_per_100k") for r in rs]),
            "stalled": max((r["stalled_peak"] for r in rs if "stalled_peak" in r), default=None),
        })
    return summary


def fmt(v, digits=0, suffix=""):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}{suffix}"


def ratio(a, b):
    return a / b if a is not None and b else None


def row_targets(placement, workload, conns, s, t, n):
    """Returns (target text, gap text) for one table row; targets from issue 6."""
    targets, misses = [], []
    if s is None:
        return "", "serval not measured"
    if workload in PG_WORKLOADS:
        # Issue 13: at least 2x Tomcat on db and fortunes, both placements (nginx runs no app code).
        targets.append(">=2x T")
        rt = ratio(s["rps"], t and t["rps"])
        if rt is None:
            misses.append("T not measured")
        elif rt < 2.0:
            misses.append(f"T {rt:.2f}x<2x ({(rt / 2.0 - 1) * 100:+.0f}%)")
    elif placement == "pinned" and conns != 1024 and workload not in SQLITE_WORKLOADS:
        need_t, need_n = (2.0, 0.9) if workload == "hello" else (2.0, 1.0)
        targets.append(f">={need_t:g}x T, >={need_n:g}x N")
        rt, rn = ratio(s["rps"], t and t["rps"]), ratio(s["rps"], n and n["rps"])
        if rt is None:
            misses.append("T not measured")
        if rn is None:
            misses.append("N not measured")
        if rt is not None and rt < need_t:
            misses.append(f"T {rt:.2f}x<{need_t:g}x ({(rt / need_t - 1) * 100:+.0f}%)")
        if rn is not None and rn < need_n:
            misses.append(f"N {rn:.2f}x<{need_n:g}x ({(rn / need_n - 1) * 100:+.0f}%)")
    if conns >= 512:
        targets.append("0 err, 0 stalled")
        errs = s["socket_errors"] + s["non2xx"]
        if errs:
            misses.append(f"{errs} errors")
        if s["stalled"]:
            misses.append(f"{s['stalled']} stalled")
    if conns == 512:
        targets.append("p99<=0.5x T")
        rp = ratio(s["p99_ms"], t and t["p99_ms"])
        if rp is None and "T not measured" not in misses:
            misses.append("T not measured")
        if rp is not None and rp > 0.5:
            misses.append(f"p99 {rp:.2f}x T")
    if not targets:
        return "-", "-"
    return "; ".join(targets), ("met" if not misses else "; ".join(misses))


def markdown(meta, summary, extras, session_lines=()):
    by = {(x["placement"], x["workload"], x["connections"], x["server"]): x for x in summary}
    lines = [f"# Serval vs Tomcat vs nginx ({meta['date']})", "",
             f"Machine: {meta['cpus']} cores, {meta['cpu_model']}, kernel {meta['kernel']}. "
             f"Versions: {meta['versions_line']}.", "",
             f"Command: `{meta['command']}` ({meta['duration']} s runs after {meta['warmup']} s warm-up, "
             f"{meta['reps']} interleaved repetition{'s' if meta['reps'] != 1 else ''}, medians; access logs "
             f"{'on' if meta['access_log'] else 'off'}).", ""]
    if summary:
        lines += [
             "T = Tomcat, N = nginx. Errors = socket errors + responses >= 400 summed over repetitions "
             "(S/T/N). Stalled = peak count of connections silent for >= 2 s (ss lastsnd/lastrcv), "
             "sampled at >= 512 connections. db/fortunes: Serval (sdk/examples/fortunes) and Tomcat "
             "(JDBC, pooled DataSource) on one private PostgreSQL, each its own database, pools of "
             f"{DB_POOL}; db-sqlite/fortunes-sqlite: the same Serval bundle on its embedded SQLite "
             "database (no Tomcat or nginx counterpart).", "",
             "| workload | placement | conns | Serval req/s | Tomcat req/s | nginx req/s | Serval p50/p99 ms "
             "| Tomcat p50/p99 ms | nginx p50/p99 ms | errors S/T/N | stalled S/T/N | serval/tomcat "
             "| serval/nginx | target | gap |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|---|"]
    keys = sorted({(x["workload"], x["placement"], x["connections"]) for x in summary},
                  key=lambda k: (WORKLOADS.index(k[0]), PLACEMENTS.index(k[1]), k[2]))
    for workload, placement, conns in keys:
        s, t, n = (by.get((placement, workload, conns, name)) for name in SERVER_NAMES)

        def lat(x):
            return f"{fmt(x['p50_ms'], 2)} / {fmt(x['p99_ms'], 2)}" if x else "n/a"

        def err(x):
            return str(x["socket_errors"] + x["non2xx"]) if x else "-"

        def st(x):
            return "-" if not x or x["stalled"] is None else str(x["stalled"])

        rt = ratio(s and s["rps"], t and t["rps"])
        rn = ratio(s and s["rps"], n and n["rps"])
        target, gap = row_targets(placement, workload, conns, s, t, n)
        lines.append(f"| {workload} | {placement} | {conns} | {fmt(s and s['rps'])} | {fmt(t and t['rps'])} "
                     f"| {fmt(n and n['rps'])} | {lat(s)} | {lat(t)} | {lat(n)} "
                     f"| {err(s)}/{err(t)}/{err(n)} | {st(s)}/{st(t)}/{st(n)} "
                     f"| {fmt(rt, 2, 'x')} | {fmt(rn, 2, 'x')} | {target} | {gap} |")

    if summary:
        lines += ["", "Server CPU seconds per 100k requests (utime+stime from /proc/PID/stat of the server "
                  "process(es), medians; target: Serval <= 0.5x Tomcat).", "",
                  "| workload | placement | conns | Serval | Tomcat | nginx | serval/tomcat | gap |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
    for workload, placement, conns in keys:
        s, t, n = (by.get((placement, workload, conns, name)) for name in SERVER_NAMES)
        c = [x and x["cpu_s_per_100k"] for x in (s, t, n)]
        r = ratio(c[0], c[1])
        gap = "-" if r is None else ("met" if r <= 0.5 else f"{r:.2f}x>0.5x")
        lines.append(f"| {workload} | {placement} | {conns} | {fmt(c[0], 2)} | {fmt(c[1], 2)} | {fmt(c[2], 2)} "
                     f"| {fmt(r, 2, 'x')} | {gap} |")

    if extras:
        lines += ["", "Start-up, memory and deployment (whole machine, medians).", "",
                  "| measure | Serval | Tomcat | nginx | target | gap |", "|---|---:|---:|---:|---|---|"]
        for m in extras:
            lines.append(f"| {m['measure']} | {m.get('serval', '-')} | {m.get('tomcat', '-')} "
                         f"| {m.get('nginx', '-')} | {m.get('target', '-')} | {m.get('gap', '-')} |")
    lines += session_lines
    for name, problems in meta.get("problems", {}).items():
        for workload, why in problems.items():
            lines.append(f"Not measured: {name} {workload}: {why}.")
    lines += ["", f"Method: tests/perf/README.md. Raw runs: {meta['out']}/results.json.", ""]
    return "\n".join(lines)


def mib(kib):
    return None if kib is None else kib / 1024


# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------
def phase_load(servers, opts, results):
    for placement in opts.placements:
        log(f"== placement {placement}: starting {', '.join(s.name for s in servers)}")
        for s in servers:
            s.start(placement)
            s.sanity()
        for s in servers:
            results["rss_kib"].setdefault(s.name, {})[f"{placement}_before_load"] = rss_kib(s.pids())
        # One longer warm-up per server and workload before the first repetition, so that the
        # JVM's JIT has compiled the request path before anything is measured.
        if opts.initial_warmup:
            for s in servers:
                for workload in opts.workloads:
                    if s.supports(workload):
                        wrk(s.port, s.paths()[workload], 128, opts.initial_warmup, placement == "pinned")
        for rep in range(opts.reps):
            for workload in opts.workloads:
                for conns in opts.connections:
                    for s in servers:  # A B C interleaved
                        if not s.supports(workload):
                            continue
                        r = measure(s, workload, placement, conns, opts)
                        r["rep"] = rep
                        results["runs"].append(r)
                        if "error" in r:
                            log(f"  {placement} {workload} c={conns} {s.name}: {r['error']}")
                        else:
                            stall = f" stalled={r['stalled_peak']}" if "stalled_peak" in r else ""
                            log(f"  rep {rep + 1} {placement} {workload} c={conns} {s.name}: "
                                f"{r['rps']:,.0f} req/s p99 {r['p99_ms']:.2f} ms errors "
                                f"{r['socket_errors']}+{r['non2xx']}{stall} cpu/100k {r['cpu_s_per_100k']} "
                                f"client busy {r['client_busy']:.2f}")
        for s in servers:
            results["rss_kib"][s.name][f"{placement}_after_load"] = rss_kib(s.pids())
            s.stop()


def phase_startup(servers, opts, results):
    log("== cold start to first 200, idle RSS (whole machine)")
    for s in servers:
        starts, idle, idle_pss = [], [], []
        for _ in range(opts.start_reps):
            starts.append(s.start("whole") * 1000)
            time.sleep(opts.settle)
            idle.append(rss_kib(s.pids()))
            idle_pss.append(pss_kib(s.pids()))
            s.stop()
        results["startup"][s.name] = {"cold_start_ms": [round(x, 1) for x in starts],
                                      "idle_rss_kib": idle, "idle_pss_kib": idle_pss,
                                      "processes": len(s.last_pids)}
        log(f"  {s.name}: start {median(starts):.1f} ms, idle RSS {median(idle) / 1024:.1f} MiB")


def phase_idle_conns(servers, opts, results):
    log(f"== RSS with {opts.idle_conns} idle keep-alive connections (whole machine)")
    for s in servers:
        s.start("whole")
        time.sleep(opts.settle)
        before = rss_kib(s.pids())
        p = spawn([sys.executable, os.path.join(HERE, "holdconns.py"), "--port", str(s.port),
                   "--path", s.paths()["static"], "--count", str(opts.idle_conns), "--hold", "120"],
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = ""
        try:
            line = p.stdout.readline().strip()
        finally:
            with_conns = rss_kib(s.pids())
            established = subprocess.run(["ss", "-tnH", "state", "established", f"( sport = :{s.port} )"],
                                         capture_output=True, text=True).stdout.count("\n")
            stop_process(p)
        m = re.match(r"READY ok=(\d+) failed=(\d+)", line)
        results["idle_conns"][s.name] = {
            "connections": opts.idle_conns, "ok": int(m.group(1)) if m else None,
            "failed": int(m.group(2)) if m else None, "established_seen": established,
            "rss_before_kib": before, "rss_with_conns_kib": with_conns}
        log(f"  {s.name}: {line or 'holdconns gave no answer'}; RSS {before / 1024:.1f} -> "
            f"{with_conns / 1024:.1f} MiB")
        s.stop()


def wsbench(port, path, args):
    r = subprocess.run([os.path.abspath(WS_BENCH), "--port", str(port), "--path", path] + args,
                       capture_output=True, text=True, timeout=600)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (r.stdout + r.stderr)[-300:]}


def phase_websocket(servers, opts, results):
    """WebSocket echo, closed loop per connection (messages/s and p99), then 10k idle
    WebSocket connections (added RSS), for Serval and Tomcat. Serval's side is an app's
    endpoint, as Tomcat's is: the async fixture's /async/ws in a worker process (the default
    isolation; the row "serval") and in the server (isolation="none", "serval-inprocess"). Whole
    machine: the client shares the cores, as wrk does in the whole placement."""
    log(f"== WebSocket echo ({WS_MESSAGE_SIZE}-byte text messages) and {opts.idle_conns} idle WebSockets")
    if not (os.access(SERVAL_ASYNC_FIXTURE, os.R_OK) and os.access(WS_BENCH, os.X_OK)):
        results["problems"]["websocket"] = f"{SERVAL_ASYNC_FIXTURE} or {WS_BENCH} not built"
        log("  skipped: " + results["problems"]["websocket"])
        return

    def echo_rows(name, port, path, pids):
        rows = {}
        for conns in WS_CONNECTIONS:
            # A warm-up run first (the JIT; the same for both), then the measured one.
            wsbench(port, path, ["--conns", str(conns), "--seconds", str(opts.warmup), "--warmup", "1",
                                 "--size", str(WS_MESSAGE_SIZE), "--threads", "2"])
            r = wsbench(port, path, ["--conns", str(conns), "--seconds", str(opts.duration), "--warmup", "1",
                                     "--size", str(WS_MESSAGE_SIZE), "--threads", "2",
                                     "--server-pids", ",".join(map(str, pids()))])
            if r.get("messages"):  # CPU per message: the server's (workers included) and the client's
                r["server_us_per_msg"] = round(r["server_cpu_s"] / r["messages"] * 1e6, 2)
                r["client_us_per_msg"] = round(r["client_cpu_s"] / r["messages"] * 1e6, 2)
            rows[conns] = r
            log(f"  {name} {conns} conns: {r}")
        return rows

    for s in servers:
        if s.name == "serval":
            path = "/async/ws"
            for name, isolation in (("serval", "process"), ("serval-inprocess", "none")):
                serval, fixture = os.path.abspath(SERVAL_BIN), os.path.abspath(SERVAL_ASYNC_FIXTURE)
                with AsyncFixture(serval, fixture, isolation) as app:
                    rows = echo_rows(name, app.port, path, lambda: [app.pid] + children_of(app.pid))
                # The idle figure on a fresh server: its RSS before is an idle server's.
                with AsyncFixture(serval, fixture, isolation) as app:
                    rows["idle"] = idlews.run_idle(app.port, path, opts.idle_conns,
                                                   lambda: [app.pid] + children_of(app.pid), settle=opts.settle)
                log(f"  {name} (isolation={isolation}) idle: {rows['idle']}")
                results["websocket"][name] = rows
        elif s.name == "tomcat" and s.supports("websocket"):
            path = "/ws/echo"
            s.start("whole")
            time.sleep(opts.settle)
            rows = echo_rows(s.name, s.port, path, s.pids)
            rows["idle"] = idlews.run_idle(s.port, path, opts.idle_conns, s.pids, settle=opts.settle)
            log(f"  {s.name} idle: {rows['idle']}")
            results["websocket"][s.name] = rows
            s.stop()
    ws = results["websocket"]
    if "serval" in ws and "tomcat" in ws:
        for conns in WS_CONNECTIONS:
            mine, theirs = ws["serval"][conns].get("msgs_per_s"), ws["tomcat"][conns].get("msgs_per_s")
            if mine and theirs:
                log(f"  echo at {conns} connections: Serval (app in a worker) / Tomcat = {mine / theirs:.2f}x "
                    f"(goal 2x); server CPU per message {ws['serval'][conns].get('server_us_per_msg')} vs "
                    f"{ws['tomcat'][conns].get('server_us_per_msg')} us")


def longpoll(args):
    r = subprocess.run([sys.executable, os.path.join(HERE, "longpoll.py"), "--count", str(args[0])] + args[1:],
                       capture_output=True, text=True, timeout=900)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": (r.stdout + r.stderr)[-300:]}


def phase_longpoll(servers, opts, results):
    """Long poll (issue 15): opts.idle_conns parked async requests, measured the same way
    (longpoll.py) on Serval's async fixture in a worker process and in-process, and on Tomcat's
    async servlet (java/LongPollServlet.java): added RSS, added threads, every answer a 200."""
    log(f"== Long poll: {opts.idle_conns} parked async requests")
    for s in servers:
        if s.name == "serval":
            if not os.access(SERVAL_ASYNC_FIXTURE, os.R_OK):
                results["problems"]["longpoll"] = f"{SERVAL_ASYNC_FIXTURE} not built"
                log("  skipped: " + results["problems"]["longpoll"])
                continue
            for isolation in ("process", "none"):
                row = longpoll([opts.idle_conns, "--serval", os.path.abspath(SERVAL_BIN), "--fixture",
                                os.path.abspath(SERVAL_ASYNC_FIXTURE), "--isolation", isolation])
                results["longpoll"][f"serval-{isolation}"] = row
                log(f"  serval isolation={isolation}: {row}")
        elif s.name == "tomcat":
            s.start("whole")
            try:
                row = longpoll([opts.idle_conns, "--port", str(s.port), "--pid", str(s.pids()[0])])
            finally:
                s.stop()
            results["longpoll"]["tomcat"] = row
            log(f"  tomcat: {row}")


def phase_drop(servers, opts, results):
    log("== drop a new bundle / WAR into webapps/ -> first 200 (whole machine)")
    for s in servers:
        if s.name not in ("serval", "tomcat"):
            continue
        if s.name == "serval" and "hello" in s.problems:
            continue
        s.start("whole")
        time.sleep(opts.settle)
        drops = []
        for i in range(opts.drop_reps):
            d = s.drop(i + 1)
            drops.append(d)
            log(f"  {s.name} drop {i + 1}: {d}")
        results["drop"][s.name] = drops
        s.stop()


def phase_redeploy(servers, opts, results):
    log(f"== replace a deployed app while wrk requests it (whole machine, {opts.redeploy_seconds} s)")
    for s in servers:
        if s.name not in ("serval", "tomcat") or (s.name == "serval" and "hello" in s.problems):
            continue
        s.start("whole")
        time.sleep(opts.settle)
        r = s.redeploy_under_load(opts.redeploy_seconds)
        results["redeploy"][s.name] = r
        log(f"  {s.name}: " + (r["error"] if "error" in r else
                               f"{r['requests']} requests, {r['failed']} failed ({r['non2xx']} status >= 400, "
                               f"{r['socket_errors']} socket errors), version 2 live after {r['v2_live_after_ms']} ms"))
        s.stop()


# ---------------------------------------------------------------------------------------------
# Sessions (issue 12): Serval with SQLite and with Redis vs Tomcat's StandardManager
# ---------------------------------------------------------------------------------------------
class RedisServer:
    """A private redis-server for Serval's Redis store: its own directory and port, AOF with
    appendfsync always (an acknowledged write is on disk, as SQLite's with synchronous=full),
    no RDB snapshots. Pinned to the server's core in the pinned placement: it is part of the
    server side of the benchmark."""

    def __init__(self, root, port):
        self.dir = os.path.join(root, "redis")
        self.port = port
        self.proc = None

    def start(self, pinned):
        os.makedirs(self.dir, exist_ok=True)
        check_port_free(self.port)
        cmd = (["taskset", "-c", "1"] if pinned else []) + [
            REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.dir,
            "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
            "--logfile", os.path.join(self.dir, "redis.log")]
        self.proc = spawn(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.dir)
        end = time.monotonic() + 20
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.01)
        self.stop()
        die(f"redis-server did not answer PING on port {self.port} (log: {self.dir}/redis.log)")

    def stop(self):
        if self.proc:
            stop_process(self.proc)
            self.proc = None


def session_get(port, path, cookie=None, conn=None, timeout=5.0):
    """One GET on conn (a keep-alive http.client connection) or a fresh one; returns (status,
    body, the NAME=VALUE of the session cookie the response set or None)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        resp = conn.getresponse()
        body = resp.read()
        set_cookie = resp.getheader("Set-Cookie")
        return resp.status, body, set_cookie.split(";")[0].strip() if set_cookie else None
    finally:
        if own:
            conn.close()


def session_login(port):
    """Logs one user in (GET /sessions/login?user=World); returns the session cookie or None."""
    try:
        status, body, cookie = session_get(port, SESSIONS_CONTEXT + "/login?user=World")
    except (OSError, http.client.HTTPException):
        return None
    return cookie if status == 200 and body == HELLO_BODY else None


def session_logins(port, count):
    """count fresh sessions, 16 logins at a time; returns their cookies (None for a failure)."""
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(lambda _: session_login(port), range(count)))


def wait_for_login(port, deadline_s, proc):
    """Polls until the sessions app answers a login (it deploys after the server listens)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and proc.poll() is None:
        if session_login(port):
            return True
        time.sleep(0.01)
    return False


def session_kill_count(server, placement, opts):
    """The durability count: SESSION_KILL_CLIENTS clients, each alone on its session, count
    every /visit whose whole response they read; the server is killed with SIGKILL under that
    load and started again; then each session's counter (/visits) must be at least what its
    client saw acknowledged. A counter above it is a write that committed while its response
    was lost with the server: allowed. A session the restarted server does not know counts
    all its acknowledged writes as lost."""
    cookies = session_logins(server.port, SESSION_KILL_CLIENTS)
    if None in cookies:
        return {"error": "a login failed before the kill"}
    acked = [0] * len(cookies)
    stop = threading.Event()

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        while not stop.is_set():
            try:
                status, body, _ = session_get(server.port, SESSIONS_CONTEXT + "/visit", cookies[i], conn)
            except (OSError, http.client.HTTPException):
                return
            if status != 200 or body != HELLO_BODY:
                return
            acked[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(cookies))]
    for t in threads:
        t.start()
    time.sleep(opts.session_kill_after)
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    server.stop()
    server.start(placement)
    if not wait_for_login(server.port, 60, server.proc):
        return {"error": "the sessions app did not answer after the restart"}
    stored, unknown = [], 0
    for cookie in cookies:
        status, body, _ = session_get(server.port, SESSIONS_CONTEXT + "/visits", cookie)
        if status == 200:
            stored.append(int(body))
        else:
            stored.append(0)
            unknown += 1
    return {"clients": len(cookies), "acknowledged": sum(acked), "stored": sum(stored),
            "lost": sum(max(0, a - s) for a, s in zip(acked, stored)),
            "committed_unacknowledged": sum(max(0, s - a) for a, s in zip(acked, stored)),
            "sessions_lost": unknown, "killed_after_s": opts.session_kill_after}


def fdatasync_ms(directory, count=100):
    """Median ms of one 4 KiB write + fdatasync in `directory` (the disk under data/sessions.db):
    a durable write waits for at least one, so SESSION_CONNECTIONS / this bounds the writes
    per second any group commit can reach at that many connections."""
    path = os.path.join(directory, "fdatasync-probe.bin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    times = []
    try:
        for _ in range(count):
            t0 = time.monotonic()
            os.write(fd, b"x" * 4096)
            os.fdatasync(fd)
            times.append((time.monotonic() - t0) * 1000)
    finally:
        os.close(fd)
        os.remove(path)
    return round(statistics.median(times), 3)


def session_variants(servers):
    """(server, store, label) for the phase: Serval with each store, Tomcat in memory."""
    out = []
    for s in servers:
        if s.name == "serval":
            out += [(s, "sqlite", "serval-sqlite"), (s, "redis", "serval-redis")]
        elif s.name == "tomcat":
            out.append((s, "memory", "tomcat-memory"))
    return out


def phase_sessions(servers, opts, results, root):
    placement = "pinned" if os.cpu_count() >= 2 else "whole"
    conns = SESSION_CONNECTIONS
    log(f"== sessions ({placement}, {conns} connections): Serval SQLite and Redis vs Tomcat in memory")
    redis = RedisServer(root, opts.port_base + len(SERVER_NAMES))
    out = results["sessions"]
    serval = next((s for s in servers if s.name == "serval"), None)
    out["fdatasync_ms"] = fdatasync_ms(os.path.join(serval.dir, "data") if serval else root)
    out["load_before"] = os.getloadavg()[0]
    log(f"  fdatasync of a 4 KiB write: {out['fdatasync_ms']} ms (median of 100); load average "
        f"{out['load_before']:.1f}")
    for server, store, label in session_variants(servers):
        if not server.supports("session"):
            continue
        if store == "redis" and not os.access(REDIS_SERVER, os.X_OK):
            out["problems"][label] = f"{REDIS_SERVER} not found (Debian package redis-server)"
            continue
        if server.name == "serval":
            for f in glob.glob(os.path.join(server.dir, "data", "sessions.db*")):
                os.remove(f)
            server.host_children = (f'<Manager store="redis" url="redis://127.0.0.1:{redis.port}/0"/>'
                                    if store == "redis" else "")
            server.connector_overrides = SESSION_SERVAL_CONNECTOR_ATTRS
        if store == "redis":
            redis.start(placement == "pinned")
        try:
            server.start(placement)
            if not wait_for_login(server.port, 60, server.proc):
                out["problems"][label] = "the sessions app never answered a login"
                continue
            cookies = session_logins(server.port, SESSION_COUNT)
            status, body, _ = session_get(server.port, SESSIONS_CONTEXT + "/visit", cookies[0] or "")
            if None in cookies or status != 200 or body != HELLO_BODY:
                out["problems"][label] = f"login or /visit failed (GET /visit answered {status} {body[:60]!r})"
                continue
            cookie_file = os.path.join(server.dir, f"cookies-{store}.txt")
            write(cookie_file, "".join(c + "\n" for c in cookies))
            workloads = [("session-read", SESSIONS_CONTEXT + SESSION_WORKLOADS["session-read"]),
                         ("session", SESSIONS_CONTEXT + SESSION_WORKLOADS["session"])]
            if server.name == "serval" and server.supports("hello"):
                workloads.insert(0, ("hello", HELLO_CONTEXT + HELLO_SERVLET_PATH))
                workloads.insert(1, ("hello-isolated", HELLO_ISOLATED_CONTEXT + HELLO_SERVLET_PATH))
            for workload, path in workloads:
                args = {} if workload.startswith("hello") else {"script": "session.lua", "script_args": [cookie_file]}
                if opts.initial_warmup:
                    wrk(server.port, path, conns, opts.initial_warmup, placement == "pinned", **args)
            for rep in range(opts.reps):
                for workload, path in workloads:
                    args = {} if workload.startswith("hello") else {"script": "session.lua", "script_args": [cookie_file]}
                    r = measure(server, workload, placement, conns, opts, path=path, **args)
                    r.update(server=label, rep=rep)
                    out["runs"].append(r)
                    log(f"  rep {rep + 1} {label} {workload}: " + (r["error"] if "error" in r else
                        f"{r['rps']:,.0f} req/s p99 {r['p99_ms']:.2f} ms errors {r['socket_errors']}+{r['non2xx']}"))
            k = session_kill_count(server, placement, opts)
            out["kill"][label] = k
            log(f"  {label} kill -9: " + (k["error"] if "error" in k else
                f"{k['acknowledged']} acknowledged writes, {k['lost']} lost, {k['sessions_lost']} of "
                f"{k['clients']} sessions gone"))
        finally:
            server.stop()
            redis.stop()
            if server.name == "serval":
                server.host_children = ""
                server.connector_overrides = {}
    out["summary"] = summarize(out["runs"])
    out["load_after"] = os.getloadavg()[0]


def session_report(sessions):
    """The Markdown of the phase "sessions": one column per variant, the issue 12 goals."""
    summ = {(x["server"], x["workload"]): x for x in sessions["summary"]}
    labels = ("serval-sqlite", "serval-redis", "tomcat-memory")
    if not summ and not sessions["kill"]:
        return []

    def rps(label, workload):
        return (summ.get((label, workload)) or {}).get("rps")

    def cell(label, workload):
        x = summ.get((label, workload))
        if not x:
            return "-"
        errs = x["socket_errors"] + x["non2xx"]
        return f"{fmt(x['rps'])} ({fmt(x['p99_ms'], 2)} ms p99{f', {errs} errors' if errs else ''})"

    def gaps(checks):
        """checks: (label, met, what it measured) for what was measured."""
        if not checks:
            return "not measured"
        misses = [f"{label} {text}" for label, ok, text in checks if not ok]
        return "met" if not misses else "; ".join(misses)

    tomcat_w = rps("tomcat-memory", "session")
    same_mode_hello = "hello-isolated" if SESSIONS_ISOLATION == "process" else "hello"
    read_ratio = {lb: ratio(rps(lb, "session-read"), rps(lb, same_mode_hello)) for lb in labels[:2]}
    inline_ratio = {lb: ratio(rps(lb, "session-read"), rps(lb, "hello")) for lb in labels[:2]}
    write_ratio = {lb: ratio(rps(lb, "session"), tomcat_w) for lb in labels[:2]}
    sqlite_w = rps("serval-sqlite", "session")
    rows = [
        ("plain hello req/s (the hello sample, in-process, inline)", [cell(lb, "hello") for lb in labels], "-", "-"),
        ("plain hello req/s (the hello sample, isolated)", [cell(lb, "hello-isolated") for lb in labels], "-", "-"),
        (f"session-read req/s: read one attribute (isolation={SESSIONS_ISOLATION})",
         [cell(lb, "session-read") for lb in labels], "-", "-"),
        (f"read-only session / plain hello in the same mode ({same_mode_hello})",
         [fmt(read_ratio[lb], 2, "x") for lb in labels[:2]] + ["-"],
         ">= 0.8x", gaps([(lb, r >= 0.8, f"{r:.2f}x") for lb, r in read_ratio.items() if r is not None])),
        ("read-only session / in-process inline hello", [fmt(inline_ratio[lb], 2, "x") for lb in labels[:2]] + ["-"],
         "-", "-"),
        ("session req/s: read one, increment a counter (a durable write)", [cell(lb, "session") for lb in labels],
         ">= 20,000 (SQLite)",
         gaps([("serval-sqlite", sqlite_w >= 20000, f"{fmt(sqlite_w)} req/s")] if sqlite_w is not None else [])),
        ("session write / Tomcat's in-memory write", [fmt(write_ratio[lb], 2, "x") for lb in labels[:2]] + ["1x" if tomcat_w else "-"],
         ">= 0.5x", gaps([(lb, r >= 0.5, f"{r:.2f}x") for lb, r in write_ratio.items() if r is not None])),
    ]
    kill = sessions["kill"]

    def kcell(label):
        k = kill.get(label)
        if not k:
            return "-"
        if "error" in k:
            return k["error"]
        return (f"{k['lost']:,} of {k['acknowledged']:,} lost"
                + (f" ({k['sessions_lost']}/{k['clients']} sessions gone)" if k["sessions_lost"] else ""))
    kill_checks = [(lb, kill[lb]["lost"] == 0, f"{kill[lb]['lost']} lost") for lb in labels[:2]
                   if lb in kill and "error" not in kill[lb]]
    rows.append((f"acknowledged writes lost to kill -9 under writes ({SESSION_KILL_CLIENTS} clients)",
                 [kcell(lb) for lb in labels], "Serval 0", gaps(kill_checks)))
    runs = sessions["runs"]
    lines = ["", f"Sessions (issue 12): the `sessions` sample vs Tomcat's bench.SessionServlet, "
             f"{runs[0]['placement'] if runs else 'pinned'}, {SESSION_CONNECTIONS} connections, "
             f"{SESSION_COUNT} sessions round robin (tests/perf/session.lua), medians; req/s (p99). "
             "Serval SQLite: data/sessions.db, group commit, synchronous=full; Serval Redis: a private "
             "redis-server, appendfsync always; Tomcat: StandardManager in memory.", "",
             "| measure | Serval SQLite | Serval Redis | Tomcat (memory) | target | gap |",
             "|---|---:|---:|---:|---|---|"]
    for measure_name, cells, target, gap in rows:
        lines.append(f"| {measure_name} | {' | '.join(cells)} | {target} | {gap} |")
    fsync = sessions.get("fdatasync_ms")
    if fsync:
        lines += ["", f"The disk: one 4 KiB write + fdatasync takes {fsync:g} ms here (median of 100), so no "
                  f"store that waits for the disk can pass {SESSION_CONNECTIONS / fsync * 1000:,.0f} durable "
                  f"writes/s at {SESSION_CONNECTIONS} connections (one commit per round trip). Load average "
                  f"{sessions.get('load_before', 0):.1f} before the phase, {sessions.get('load_after', 0):.1f} "
                  "after."]
    for label, why in sessions["problems"].items():
        lines.append(f"Not measured: {label}: {why}.")
    return lines


def build_extras(results):
    ex = []

    def per(fn):
        return {name: fn(name) for name in SERVER_NAMES}

    def gap(ok, detail):
        return "met" if ok else detail

    st = results["startup"]
    if st:
        cold = per(lambda n: median(st[n]["cold_start_ms"]) if n in st else None)
        idle = per(lambda n: mib(median(st[n]["idle_rss_kib"])) if n in st else None)
        pss = per(lambda n: mib(median(st[n]["idle_pss_kib"])) if n in st else None)
        c = cold["serval"]
        ex.append({"measure": "cold start to first 200 (ms)",
                   **{n: fmt(v, 1) for n, v in cold.items()}, "target": "Serval < 50 ms",
                   "gap": "-" if c is None else gap(c < 50, f"{c - 50:+.1f} ms")})
        i = idle["serval"]
        ex.append({"measure": "idle RSS (MiB; PSS in brackets where the server has several processes)",
                   **{n: fmt(v, 1) + (f" ({fmt(pss[n], 1)})" if st.get(n, {}).get("processes", 1) > 1 else "")
                      for n, v in idle.items()},
                   "target": "Serval < 15 MiB", "gap": "-" if i is None else gap(i < 15, f"{i - 15:+.1f} MiB")})
    rk = results["rss_kib"]
    for placement in PLACEMENTS:
        key = f"{placement}_after_load"
        if any(key in rk.get(n, {}) for n in SERVER_NAMES):
            ex.append({"measure": f"RSS after load, {placement} (MiB)",
                       **{n: fmt(mib(rk.get(n, {}).get(key)), 1) for n in SERVER_NAMES}})
    ic = results["idle_conns"]
    if ic:
        count = next(iter(ic.values()))["connections"]

        def cell(n):
            if n not in ic:
                return "-"
            x = ic[n]
            note = "" if x["ok"] == count else f" ({x['ok']} ok, {x['failed']} failed)"
            return f"{fmt(mib(x['rss_with_conns_kib']), 1)}{note}"
        sv = ic.get("serval")
        g = "-"
        if sv:
            total = mib(sv["rss_with_conns_kib"])
            g = gap(total < 40 and sv["ok"] == count, f"{total:.1f} MiB, {sv['ok']}/{count} ok")
        ex.append({"measure": f"RSS with {count} idle keep-alive connections (MiB)",
                   **per(cell), "target": "Serval < 40 MiB" if count == 10000 else "(10000 for the target)",
                   "gap": g if count == 10000 else "-"})
    dr = results["drop"]
    if dr:
        def dcell(n):
            if n not in dr:
                return "-"
            ms = [d.get("ms") for d in dr[n]]
            ok = [m for m in ms if m is not None]
            fails = len(ms) - len(ok)
            return (fmt(median(ok), 0) if ok else "never") + (f" ({fails} timed out)" if fails else "")
        sv = [d.get("ms") for d in dr.get("serval", [])]
        g = "-"
        if sv:
            worst = None if None in sv else max(sv)
            g = gap(worst is not None and worst < 300, "timed out" if worst is None else f"max {worst:.0f} ms")
        size = next((d.get("archive_bytes") for ds in dr.values() for d in ds if d.get("archive_bytes")), None)
        ex.append({"measure": "drop new bundle/WAR into webapps/ -> first 200 (ms"
                              + (f", {size / 1048576:.1f} MiB archive)" if size else ")"),
                   "serval": dcell("serval"), "tomcat": dcell("tomcat"), "nginx": "-",
                   "target": "Serval < 300 ms", "gap": g})
    rd = results["redeploy"]
    if rd:
        def rcell(n):
            if n not in rd:
                return "-"
            x = rd[n]
            if "error" in x:
                return x["error"]
            live = "never" if x["v2_live_after_ms"] is None else f"{x['v2_live_after_ms']:,.0f} ms"
            return f"{x['failed']} of {x['requests']:,} (v2 live after {live})"
        sv = rd.get("serval")
        g = "-"
        if sv:
            g = ("error" if "error" in sv else
                 gap(sv["failed"] == 0 and sv["v2_live_after_ms"] is not None,
                     f"{sv['failed']} failed" + ("" if sv["v2_live_after_ms"] is not None else ", v2 never live")))
        ex.append({"measure": "failed requests while the app is replaced under load (wrk, 4 connections)",
                   "serval": rcell("serval"), "tomcat": rcell("tomcat"), "nginx": "-",
                   "target": "Serval 0, new version live", "gap": g})
    # Issue 3: hello through the ABI >= 0.95x the static file, pinned.
    summ = {(x["placement"], x["workload"], x["connections"], x["server"]): x for x in results["summary"]}
    for conns in sorted({x["connections"] for x in results["summary"]}):
        h, s = summ.get(("pinned", "hello", conns, "serval")), summ.get(("pinned", "static", conns, "serval"))
        if h and s and s["rps"]:
            r = h["rps"] / s["rps"]
            ex.append({"measure": f"Serval hello / static req/s, pinned, {conns} conns", "serval": f"{r:.2f}x",
                       "target": ">= 0.95x", "gap": gap(r >= 0.95, f"{r:.2f}x")})
    # Issue 11: hello in a worker process >= 0.8x in-process hello, pinned (server and worker on one core).
    for conns in sorted({x["connections"] for x in results["summary"]}):
        i, h = summ.get(("pinned", "hello-isolated", conns, "serval")), summ.get(("pinned", "hello", conns, "serval"))
        if i and h and h["rps"]:
            r = i["rps"] / h["rps"]
            ex.append({"measure": f"Serval hello-isolated / hello req/s, pinned, {conns} conns",
                       "serval": f"{r:.2f}x", "target": ">= 0.8x", "gap": gap(r >= 0.8, f"{r:.2f}x")})
    return ex


def versions(servers_wanted):
    def first_line(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception as e:  # noqa: BLE001
            return f"unknown ({e})"
    v = {
        "wrk": first_line(["wrk", "-v"]).split(" [")[0].removeprefix("wrk "),
        "nginx": first_line(["nginx", "-v"]).replace("nginx version: ", ""),
        "java": first_line(["java", "-version"]),
        "tomcat": first_line(["java", "-cp", f"{TOMCAT_HOME}/lib/catalina.jar:{TOMCAT_HOME}/lib/tomcat-util.jar",
                              "org.apache.catalina.util.ServerInfo"]).replace("Server version: ", ""),
    }
    if "serval" in servers_wanted and os.access(SERVAL_BIN, os.X_OK):
        v["serval"] = first_line([SERVAL_BIN, "--version"]).removeprefix("serval ")
        build_type = "unknown"
        try:
            with open(os.path.join(os.path.dirname(os.path.dirname(SERVAL_BIN)), "CMakeCache.txt")) as f:
                m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
                build_type = (m.group(1) or "none") if m else build_type
        except OSError:
            pass
        v["serval_build_type"] = build_type
    try:
        v["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True).stdout.strip()
    except OSError:
        pass
    return v


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            return m.group(1) if m else platform.processor()
    except OSError:
        return platform.processor()


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="tests/perf/run",
        description="Serval against Tomcat 10 and nginx on 127.0.0.1: req/s, latency, errors, stalled "
                    "connections, CPU per request, start-up, memory and deployment. Writes "
                    "build/perf/results.json and results.md. Method: tests/perf/README.md.")
    p.add_argument("--quick", action="store_true",
                   help="smoke mode: 2 s runs, 1 s warm-up, one repetition, 1000 idle connections")
    p.add_argument("--duration", type=int, help="seconds per measured run (default 10)")
    p.add_argument("--warmup", type=int, help="seconds of warm-up before each run (default 2)")
    p.add_argument("--reps", type=int, help="interleaved repetitions (default 3)")
    p.add_argument("--initial-warmup", type=int,
                   help="seconds of warm-up per server and workload when a placement starts (default 5)")
    p.add_argument("--connections", default="16,128,512,1024",
                   help="keep-alive connection counts (default 16,128,512,1024)")
    p.add_argument("--servers", default="serval,tomcat,nginx", help="comma-separated subset")
    p.add_argument("--workloads", default="static,hello,hello-isolated",
                   help="static (4 KiB file), hello (13 bytes from code, in-process), "
                        "hello-isolated (the same in a worker process; Serval only), db and fortunes "
                        "(TechEmpower: Serval and Tomcat on PostgreSQL), db-sqlite and fortunes-sqlite "
                        "(Serval on SQLite)")
    p.add_argument("--placements", default="pinned,whole",
                   help="pinned (server on core 1, wrk on core 0), whole (defaults, unpinned)")
    p.add_argument("--phases", default="load,startup,idle,websocket,longpoll,drop,redeploy,sessions",
                   help="which parts to run: load, startup (cold start + idle RSS), idle (10k idle "
                        "connections), websocket (echo at 128/1024 connections + 10k idle WebSockets), "
                        "drop (drop-to-first-200), redeploy (failed requests while an app is replaced), "
                        "sessions (session workloads: Serval with SQLite and Redis vs Tomcat in memory, "
                        "and the kill -9 count of lost writes)")
    p.add_argument("--bundle-padding", type=int, default=1 << 20,
                   help="random bytes added to the deployed test apps (default 1 MiB)")
    p.add_argument("--idle-conns", type=int, help="idle keep-alive connections for the RSS test (default 10000)")
    p.add_argument("--port-base", type=int, default=18080,
                   help="Serval listens on BASE, Tomcat on BASE+1, nginx on BASE+2, the sessions phase's "
                        "redis-server on BASE+3, the db workloads' PostgreSQL on BASE+4 (127.0.0.1 only)")
    p.add_argument("--no-access-log", dest="access_log", action="store_false",
                   help="turn the access logs of all three servers off (default: each server's default, on)")
    p.add_argument("--out", default="build/perf", help="where results.json and results.md go")
    o = p.parse_args(argv)
    o.duration = o.duration or (2 if o.quick else 10)
    o.warmup = o.warmup if o.warmup is not None else (1 if o.quick else 2)
    o.reps = o.reps or (1 if o.quick else 3)
    if o.initial_warmup is None:
        o.initial_warmup = 1 if o.quick else 5
    o.idle_conns = o.idle_conns or (1000 if o.quick else 10000)
    o.start_reps = 1 if o.quick else 3
    o.drop_reps = 1 if o.quick else 3
    o.drop_timeout = 30.0
    o.redeploy_seconds = 16  # Tomcat's autoDeploy scan runs every 10 s
    o.settle = 1.0 if o.quick else 2.0
    o.session_kill_after = 2.0 if o.quick else 5.0  # seconds of writes before the kill -9
    o.connections = [int(c) for c in o.connections.split(",") if c]
    o.servers = [s for s in o.servers.split(",") if s]
    o.workloads = [w for w in o.workloads.split(",") if w]
    o.placements = [x for x in o.placements.split(",") if x]
    o.phases = [x for x in o.phases.split(",") if x]
    for name, values, allowed in (("servers", o.servers, SERVER_NAMES), ("workloads", o.workloads, WORKLOADS),
                                  ("placements", o.placements, PLACEMENTS),
                                  ("phases", o.phases, PHASES)):
        bad = [v for v in values if v not in allowed]
        if bad:
            p.error(f"--{name}: unknown {', '.join(bad)} (choose from {', '.join(allowed)})")
    if (not 1 <= o.duration <= 120 or not 0 <= o.warmup <= 60 or not 1 <= o.reps <= 10
            or not 0 <= o.initial_warmup <= 120):
        p.error("--duration must be 1..120 s, --warmup and --initial-warmup 0..120 s, --reps 1..10")
    if any(c < 1 or c > 4096 for c in o.connections) or not 1 <= o.idle_conns <= 15000:
        p.error("connections must be 1..4096, --idle-conns 1..15000")
    if not 0 <= o.bundle_padding <= 64 << 20:
        p.error("--bundle-padding must be 0..67108864")
    if not 1024 <= o.port_base <= 65000:
        p.error("--port-base must be 1024..65000")
    return o


def main(argv):
    opts = parse_args(argv)
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and hard < opts.idle_conns + 2000:
        die(f"the open file limit is {hard}; {opts.idle_conns} idle connections need more (ulimit -Hn)")
    if os.cpu_count() < 2 and "pinned" in opts.placements:
        die("the pinned placement needs 2 cores (server on core 1, wrk on core 0); use --placements whole")

    root = tempfile.mkdtemp(prefix="serval-perf-")
    os.chmod(root, 0o755)  # nginx workers run as nobody when started by root
    if os.environ.get("SERVAL_PERF_KEEP"):  # the servers' logs and bases, to see what failed
        log(f"perf: keeping {root} (SERVAL_PERF_KEEP)")
    else:
        atexit.register(lambda: shutil.rmtree(root, ignore_errors=True))
    postgres = None
    if "load" in opts.phases and any(w in opts.workloads for w in PG_WORKLOADS):
        postgres = Postgres(root, opts.port_base + len(SERVER_NAMES) + 1)  # BASE+3 is redis-server's
        Server.postgres = postgres
    classes = {"serval": Serval, "tomcat": Tomcat, "nginx": Nginx}
    servers = [classes[name](root, opts.port_base + SERVER_NAMES.index(name), opts) for name in opts.servers]
    for s in servers:
        check_port_free(s.port)
    for s in servers:
        s.prepare()

    runs = ("load" in opts.phases) * len(opts.placements) * opts.reps * len(opts.connections) * sum(
        len([w for w in opts.workloads if s.supports(w)]) for s in servers)
    warmups = bool(runs) * len(opts.placements) * opts.initial_warmup * sum(
        len([w for w in opts.workloads if s.supports(w)]) for s in servers)
    est = (runs * (opts.duration + opts.warmup + 0.5) + warmups) / 60
    log(f"perf: {runs} load runs of {opts.duration} s (+{opts.warmup} s warm-up), about {est:.0f} min, "
        f"plus the other phases ({', '.join(p for p in opts.phases if p != 'load') or 'none'}); temp dir {root}")

    v = versions(opts.servers)
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "tests/perf/run " + " ".join(argv), "cpus": os.cpu_count(), "cpu_model": cpu_model(),
        "kernel": platform.release(), "versions": v, "duration": opts.duration, "warmup": opts.warmup,
        "reps": opts.reps, "connections": opts.connections, "access_log": opts.access_log,
        "ports": {s.name: s.port for s in servers}, "out": opts.out,
        "versions_line": ", ".join(f"{k} {val}" for k, val in v.items() if k != "serval_build_type")
        + (f" ({v['serval_build_type']} build)" if "serval_build_type" in v else ""),
    }
    results = {"meta": meta, "runs": [], "summary": [], "rss_kib": {}, "startup": {}, "idle_conns": {},
               "drop": {}, "redeploy": {}, "websocket": {}, "longpoll": {}, "problems": {},
               "sessions": {"runs": [], "summary": [], "kill": {}, "problems": {}}}
    if "load" in opts.phases:
        if postgres:
            postgres.start()
            v["postgresql"] = postgres.version()
            meta["versions_line"] += f", PostgreSQL {v['postgresql']}"
        phase_load(servers, opts, results)
        if postgres:
            postgres.stop()
        # The start-up, memory and deploy phases measure the servers as before, without the
        # database apps (and without a PostgreSQL to reach).
        for s in servers:
            s.remove_db_apps()
    if "startup" in opts.phases:
        phase_startup(servers, opts, results)
    if "idle" in opts.phases:
        phase_idle_conns(servers, opts, results)
    if "websocket" in opts.phases:
        phase_websocket(servers, opts, results)
    if "longpoll" in opts.phases:
        phase_longpoll(servers, opts, results)
    if "drop" in opts.phases:
        phase_drop(servers, opts, results)
    if "redeploy" in opts.phases:
        phase_redeploy(servers, opts, results)
    if "sessions" in opts.phases:
        phase_sessions(servers, opts, results, root)
    results["problems"] = {s.name: s.problems for s in servers if s.problems}
    meta["problems"] = results["problems"]
    results["summary"] = summarize(results["runs"])
    extras = build_extras(results)
    results["extras"] = extras
    md = markdown(meta, results["summary"], extras, session_report(results["sessions"]))

    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(opts.out, "results.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"perf: wrote {opts.out}/results.json and {opts.out}/results.md")


if __name__ == "__main__":
    main(sys.argv[1:])
