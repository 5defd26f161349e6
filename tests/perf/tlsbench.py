#!/usr/bin/python3
"""TLS side by side (issue 16): Serval vs nginx 1.22 vs Tomcat 10.1 (NIO + JSSE, PKCS12), every
server with the same certificates, TLS 1.2/1.3, the same number of I/O threads / workers
(Tomcat: its stock 200-thread pool), access logs off. Three phases:

  tls        HTTPS/1.1 with wrk: static4k (`GET /4k.html`, 4096 bytes from each server's static
             file handler) and hello (`GET /hello/hello`: Serval's hello bundle in-process, the
             Java HelloServlet, nginx's `return 200`), keep-alive, at each --connections count.
  h2         HTTP/2 by ALPN with h2load (-m 10 and -m 100): the same two paths.
  handshake  full TLS 1.3 handshakes per second: `h2load -c N -n N` (--handshakers N
             connections at once, each a new TCP connection, a handshake without a session to
             resume and one GET /hello/hello over h2 by ALPN: with --h1, h2load counts none of
             Tomcat's answers, whose status line has an empty reason phrase), once with an ECDSA P-256 certificate and once
             with RSA 2048. Not wrk with `Connection: close`: wrk's SSL_clear keeps the
             session, so it would measure resumptions.

Usage: tests/perf/tlsbench.py [--phases tls,h2,handshake] [--servers serval,nginx,tomcat]
                              [--duration S] [--reps N] [--connections 128,512] [--handshakers 1000]
                              [--placement whole|pinned] [--out FILE]
--placement pinned runs each server on core 1 with one I/O thread / worker and the client on
core 0 (bench.py's pinned placement): the server's own cost per request decides. In the
default whole placement the client shares both cores and, over TLS, is often the limit.
Run from the repository root after a Release build (build/bin/serval, build/bundles/hello).
The servers alternate per repetition (best of --reps) so drift in a shared machine's load hits
all alike; a run counts only if every answer was a 2xx and no socket error happened. Prints a
Markdown table with ratios to nginx and Tomcat and writes it to --out (build/perf/tls.md).
"""
import argparse
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVAL_BIN = os.environ.get("SERVAL_BIN_PATH", "build/bin/serval")
HELLO_BUNDLE = os.environ.get("SERVAL_HELLO_BUNDLE", "build/bundles/hello")
TOMCAT_HOME = "/usr/share/tomcat10"
TOMCAT_SERVLET_API = TOMCAT_HOME + "/lib/servlet-api.jar"
STATIC_BODY = (b"0123456789abcdef" * 256)  # 4096 bytes
WORKLOADS = {"static4k": "/4k.html", "hello": "/hello/hello"}
KEYS = ("ecdsa", "rsa")  # listener 0 serves the ECDSA certificate, listener 1 the RSA one
PASSWORD = "changeit"


def wait_200(port, path, deadline=60.0):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    end = time.time() + deadline
    while time.time() < end:
        try:
            with urllib.request.urlopen("https://127.0.0.1:%d%s" % (port, path), context=context, timeout=2) as r:
                if r.status == 200:
                    return True
        except Exception:
            time.sleep(0.1)
    return False


def serval(root, ports, certs, threads):
    base = os.path.join(root, "serval")
    for d in ("conf", "logs", "data", "work", "webapps/ROOT"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    if os.path.exists("conf/web.xml"):
        shutil.copy("conf/web.xml", os.path.join(base, "conf", "web.xml"))
    with open(os.path.join(base, "webapps/ROOT/4k.html"), "wb") as f:
        f.write(STATIC_BODY)
    shutil.copytree(HELLO_BUNDLE, os.path.join(base, "webapps", "hello"))
    connectors = "".join(
        '  <Connector address="127.0.0.1" port="%d" ioThreads="%d" maxConnections="16384" '
        'maxKeepAliveRequests="0">\n'
        '    <Certificate certificateFile="%s" keyFile="%s"/>\n'
        '  </Connector>\n' % (port, threads, cert, key) for port, (cert, key, _) in zip(ports, certs))
    with open(os.path.join(base, "conf", "server.xml"), "w") as f:
        f.write('<Server accessLog="">\n%s'
                '  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps">'
                '<Context path="/hello" isolation="none"/></Host></Engine>\n'
                '</Server>\n' % connectors)
    return subprocess.Popen(PIN_SERVER + [os.path.abspath(SERVAL_BIN), "--base", base],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(base, "stderr"), "w"),
                            start_new_session=True)


def nginx(root, ports, certs, threads):
    prefix = os.path.join(root, "nginx")
    for d in ("logs", "html", "tmp"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    with open(os.path.join(prefix, "html/4k.html"), "wb") as f:
        f.write(STATIC_BODY)
    servers = "".join("""    server {
        listen 127.0.0.1:%d ssl http2 backlog=4096;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        http2_max_concurrent_streams 128;
        root %s/html;
        location = /hello/hello { default_type text/plain; return 200 "Hello, World!"; }
    }
""" % (port, cert, key, prefix) for port, (cert, key, _) in zip(ports, certs))
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
worker_processes %d;
worker_rlimit_nofile 40000;
error_log %s/logs/error.log warn;
pid %s/logs/nginx.pid;
events { worker_connections 16384; }
http {
    types { text/html html; }
    access_log off;
    client_body_temp_path %s/tmp;
    sendfile on;
    keepalive_requests 100000000;
%s}
""" % (threads, prefix, prefix, prefix, servers))
    return subprocess.Popen(PIN_SERVER + ["nginx", "-p", prefix, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(prefix, "stderr"), "w"), start_new_session=True)


def tomcat(root, ports, certs, threads):
    """Tomcat 10.1's NIO connector with JSSE (not tcnative's OpenSSL) on a PKCS12 keystore made
    from the same key and certificate, h2 by ALPN through its Http2Protocol upgrade."""
    base = os.path.join(root, "tomcat")
    for d in ("conf", "logs", "temp", "work", "webapps/ROOT", "webapps/hello/WEB-INF/classes"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    for f in ("web.xml", "catalina.properties", "logging.properties"):
        shutil.copy(os.path.join(HERE, "templates", "tomcat", f), os.path.join(base, "conf", f))
    with open(os.path.join(base, "webapps/ROOT/4k.html"), "wb") as f:
        f.write(STATIC_BODY)
    hello = os.path.join(base, "webapps", "hello", "WEB-INF")
    subprocess.run(["javac", "-nowarn", "--release", "17", "-cp", TOMCAT_SERVLET_API, "-d",
                    os.path.join(hello, "classes"), os.path.join(HERE, "java", "HelloServlet.java")], check=True)
    with open(os.path.join(HERE, "java", "web.xml")) as src, open(os.path.join(hello, "web.xml"), "w") as dst:
        dst.write(src.read().replace("${hello_mapping}", "/hello"))
    connectors = "".join("""    <Connector address="127.0.0.1" port="%d" protocol="org.apache.coyote.http11.Http11NioProtocol"
               SSLEnabled="true" maxKeepAliveRequests="-1" maxConnections="16384" acceptCount="4096"
               sslImplementationName="org.apache.tomcat.util.net.jsse.JSSEImplementation">
      <UpgradeProtocol className="org.apache.coyote.http2.Http2Protocol" maxConcurrentStreams="128"/>
      <SSLHostConfig protocols="TLSv1.2+TLSv1.3">
        <Certificate certificateKeystoreFile="%s" certificateKeystorePassword="%s"
                     certificateKeystoreType="PKCS12" type="%s"/>
      </SSLHostConfig>
    </Connector>
""" % (port, p12, PASSWORD, "EC" if kind == "ecdsa" else "RSA")
                         for port, (_, _, p12), kind in zip(ports, certs, KEYS))
    with open(os.path.join(base, "conf", "server.xml"), "w") as f:
        f.write("""<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
%s    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
""" % connectors)
    env = dict(os.environ, CATALINA_HOME=TOMCAT_HOME, CATALINA_BASE=base, CATALINA_TMPDIR=os.path.join(base, "temp"))
    env.pop("CATALINA_OPTS", None)
    env.pop("JAVA_OPTS", None)
    return subprocess.Popen(PIN_SERVER + [os.path.join(TOMCAT_HOME, "bin", "catalina.sh"), "run"], env=env,
                            stdout=open(os.path.join(base, "stdout"), "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


SERVERS = {"serval": serval, "nginx": nginx, "tomcat": tomcat}

# --placement pinned: the command prefixes of the servers (core 1) and of the client (core 0).
PIN_SERVER = []
PIN_CLIENT = []


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except Exception:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wrk(port, path, connections, duration, close=False):
    """req/s of one wrk run over HTTPS/1.1, 0 unless every answer was a 2xx without socket errors.
    A 10 s timeout (bench.py's plain runs use 2 s): wrk times a connection's first request from
    before its handshake, and 512 handshakes at once on a busy 2-core machine take seconds."""
    cmd = PIN_CLIENT + ["wrk", "-t1", "-c%d" % connections, "-d%ds" % duration, "--timeout", "10s",
           "-s", os.path.join(HERE, "report.lua")]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd.append("https://127.0.0.1:%d%s" % (port, path))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30).stdout
    except subprocess.TimeoutExpired:
        return 0.0, "wrk did not finish within %d s" % (duration + 30)
    m = re.search(r"^WRKJSON (\{.*\})$", out, re.M)
    if not m:
        return 0.0, out
    w = json.loads(m.group(1))
    errors = w["connect"] + w["read"] + w["write"] + w["timeout"] + w["status"]
    if w["requests"] == 0 or errors:
        return 0.0, out
    return w["requests"] / (w["duration_us"] / 1e6), out


def h2load(port, path, connections, streams, duration, extra=()):
    timing = ["-D", str(duration), "--warm-up-time", "1"] if duration else []
    cmd = PIN_CLIENT + ["h2load", "-c", str(connections), "-m", str(streams), "-t", "1"] + timing + list(extra) + [
        "https://127.0.0.1:%d%s" % (port, path)]
    duration = duration or 60
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    except subprocess.TimeoutExpired:
        return 0.0, "h2load did not finish within %d s" % (duration + 60)
    rate = re.search(r"finished in [0-9.]+m?s, ([0-9.]+) req/s", out)  # "809.34ms" when under 1 s
    ok = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not rate or not ok or int(ok.group(2)) or int(ok.group(3)) or not codes or \
            int(codes.group(3)) or int(codes.group(4)) or int(codes.group(1)) == 0:
        return 0.0, out  # only runs where every answer was a 2xx count
    return float(rate.group(1)), out


def handshakes(port, clients):
    """Full handshakes per second: h2load opens `clients` connections at once, each does one
    TLS 1.3 handshake (h2load keeps no session to resume) and one h2 request. Not --h1: h2load's
    HTTP/1 parser records no status for Tomcat's "HTTP/1.1 200 " (empty reason phrase)."""
    return h2load(port, "/hello/hello", clients, 1, 0, extra=["-n", str(clients)])


def make_certs(root):
    """(cert, key, pkcs12) for ECDSA P-256 and RSA 2048, self-signed for localhost."""
    certs = []
    for kind, args in (("ecdsa", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                       ("rsa", ["-newkey", "rsa:2048"])):
        cert, key, p12 = (os.path.join(root, "%s.%s" % (kind, ext)) for ext in ("crt", "key", "p12"))
        subprocess.run(["openssl", "req", "-x509"] + args + ["-nodes", "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkcs12", "-export", "-in", cert, "-inkey", key, "-out", p12, "-name", "tomcat",
                        "-passout", "pass:" + PASSWORD], check=True, capture_output=True)
        os.chmod(key, 0o644)  # nginx's workers run as nobody (the master reads the key, but keep it simple)
        certs.append((cert, key, p12))
    return certs


def cases(phases, connections, handshakers):
    """(phase, label, listener index, connections, (path, connections, h2 streams or wrk close))."""
    for phase in phases:
        for conns in connections if phase != "handshake" else ():
            if phase == "tls":
                for workload, path in WORKLOADS.items():
                    yield phase, workload, 0, conns, (path, conns, False)
            elif phase == "h2":
                for workload, path in WORKLOADS.items():
                    for streams in (10, 100):
                        yield phase, "%s -m %d" % (workload, streams), 0, conns, (path, conns, streams)
    if "handshake" in phases:
        for index, kind in enumerate(KEYS):
            yield "handshake", "full handshakes, %s" % ("ECDSA P-256" if kind == "ecdsa" else "RSA 2048"), \
                index, handshakers, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--phases", default="tls,h2,handshake")
    parser.add_argument("--servers", default="serval,nginx,tomcat")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each measured wrk run")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--connections", default="128,512")
    parser.add_argument("--handshakers", type=int, default=1000, help="connections of the handshake phase")
    parser.add_argument("--threads", type=int, default=0,
                        help="I/O threads / workers per server (default: one per core it may use)")
    parser.add_argument("--placement", choices=("whole", "pinned"), default="whole",
                        help="whole: servers and client share every core; pinned: each server on "
                             "core 1 (one thread), the client on core 0, as bench.py's pinned placement")
    parser.add_argument("--out", default="build/perf/tls.md")
    args = parser.parse_args()
    if args.placement == "pinned":
        PIN_SERVER[:] = ["taskset", "-c", "1"]
        PIN_CLIENT[:] = ["taskset", "-c", "0"]
    if args.threads <= 0:
        args.threads = 1 if args.placement == "pinned" else (os.cpu_count() or 1)
    phases = [p for p in args.phases.split(",") if p]
    names = [s for s in args.servers.split(",") if s]
    connections = [int(c) for c in args.connections.split(",") if c]
    for p in phases:
        if p not in ("tls", "h2", "handshake"):
            sys.exit("tlsbench: unknown phase %s" % p)
    for n in names:
        if n not in SERVERS:
            sys.exit("tlsbench: unknown server %s" % n)
    root = tempfile.mkdtemp(prefix="serval-tlsbench-")
    os.chmod(root, 0o755)  # nginx's workers (nobody) read the files under it
    certs = make_certs(root)
    ports = {name: (18643 + 2 * i, 18644 + 2 * i) for i, name in enumerate(names)}
    procs = {}
    try:
        for name in names:
            procs[name] = SERVERS[name](root, ports[name], certs, args.threads)
        for name in names:
            for port in ports[name]:
                for path in WORKLOADS.values():
                    if not wait_200(port, path):
                        for log in ("serval/stderr", "nginx/stderr", "nginx/logs/error.log", "tomcat/stdout"):
                            if os.path.exists(os.path.join(root, log)):
                                print(open(os.path.join(root, log)).read()[-1500:], file=sys.stderr)
                        sys.exit("tlsbench: %s does not answer %s on %d" % (name, path, port))
        rows = []
        for phase, label, index, conns, spec in cases(phases, connections, args.handshakers):
            best = {name: 0.0 for name in names}
            for rep in range(args.reps):
                order = names[rep % len(names):] + names[:rep % len(names)]
                for name in order:
                    port = ports[name][index]
                    if phase == "handshake":
                        rate, out = handshakes(port, conns)
                    elif phase == "h2":
                        rate, out = h2load(port, spec[0], conns, spec[2], args.duration)
                    else:
                        if args.warmup:
                            wrk(port, spec[0], conns, args.warmup, close=spec[2])
                        rate, out = wrk(port, spec[0], conns, args.duration, close=spec[2])
                    if rate == 0.0:
                        print("tlsbench: %s %s %s c=%d failed:\n%s" % (name, phase, label, conns, out[-800:]),
                              file=sys.stderr)
                    best[name] = max(best[name], rate)
            rows.append((phase, label, conns, best))
            print("%s %s c=%d: %s" % (phase, label, conns, ", ".join("%s %.0f" % kv for kv in best.items())),
                  flush=True)
        others = [n for n in names if n != "serval"]
        head = "| phase | workload | conns | " + " | ".join("%s req/s" % n for n in names)
        if "serval" in names:
            head += "".join(" | Serval/%s" % n for n in others)
        table = [head + " |", "|" + "---|" * (3 + len(names) + ("serval" in names) * len(others))]
        for phase, label, conns, best in rows:
            line = "| %s | %s | %d | " % (phase, label, conns) + " | ".join("%.0f" % best[n] for n in names)
            if "serval" in names:
                line += "".join(" | %.2fx" % (best["serval"] / best[n] if best[n] else 0.0) for n in others)
            table.append(line + " |")
        load = open("/proc/loadavg").read().split()[:3]
        text = "\n".join(table) + "\n\nplacement %s, %d thread(s) per server; load average at the end: %s\n" % (
            args.placement, args.threads, " ".join(load))
        print(text)
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
    finally:
        for proc in procs.values():
            stop(proc)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
