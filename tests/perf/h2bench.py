#!/usr/bin/python3
"""HTTP/2 over TLS, Serval vs nginx, side by side (issue 16): workloads h2-static4k (a 4 KiB
file) and h2-hello ("Hello, World!" from code: Serval's hello bundle in-process, nginx's
`return 200`), h2load with -m 10 and -m 100 at 128 connections, both servers with the same
ECDSA P-256 certificate, TLS 1.3, ALPN h2, the same number of I/O threads / workers.

Usage: tests/perf/h2bench.py [--duration S] [--reps N] [--connections N] [--out FILE]
Run from the repository root after a Release build (build/bin/serval, build/bundles/hello).
Prints a Markdown table (req/s, best of the reps, and the Serval/nginx ratio) and writes it to
--out (default build/perf/h2.md). Each (workload, -m) pair alternates the servers per rep so
drift in a shared machine's load hits both alike.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import ssl

SERVAL_BIN = os.environ.get("SERVAL_BIN_PATH", "build/bin/serval")
HELLO_BUNDLE = os.environ.get("SERVAL_HELLO_BUNDLE", "build/bundles/hello")
STATIC_BODY = (b"0123456789abcdef" * 256)  # 4096 bytes
WORKLOADS = {"h2-static4k": "/4k.html", "h2-hello": "/hello/hello"}


def wait_200(port, path, deadline=30.0):
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


def serval(root, port, cert, key, threads):
    base = os.path.join(root, "serval")
    for d in ("conf", "logs", "data", "work", "webapps/ROOT"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    if os.path.exists("conf/web.xml"):
        shutil.copy("conf/web.xml", os.path.join(base, "conf", "web.xml"))
    with open(os.path.join(base, "webapps/ROOT/4k.html"), "wb") as f:
        f.write(STATIC_BODY)
    shutil.copytree(HELLO_BUNDLE, os.path.join(base, "webapps", "hello"))
    with open(os.path.join(base, "conf", "server.xml"), "w") as f:
        f.write('<Server accessLog="">\n'
                '  <Connector address="127.0.0.1" port="%d" ioThreads="%d" maxConnections="16384" '
                'maxKeepAliveRequests="0">\n'
                '    <Certificate certificateFile="%s" keyFile="%s"/>\n'
                '  </Connector>\n'
                '  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps">'
                '<Context path="/hello" isolation="none"/></Host></Engine>\n'
                '</Server>\n' % (port, threads, cert, key))
    return subprocess.Popen([os.path.abspath(SERVAL_BIN), "--base", base],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(base, "stderr"), "w"),
                            start_new_session=True)


def nginx(root, port, cert, key, threads):
    prefix = os.path.join(root, "nginx")
    for d in ("logs", "html", "tmp"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    with open(os.path.join(prefix, "html/4k.html"), "wb") as f:
        f.write(STATIC_BODY)
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
    server {
        listen 127.0.0.1:%d ssl http2 backlog=4096;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        http2_max_concurrent_streams 128;
        root %s/html;
        location = /hello/hello { default_type text/plain; return 200 "Hello, World!"; }
    }
}
""" % (threads, prefix, prefix, prefix, port, cert, key, prefix))
    return subprocess.Popen(["nginx", "-p", prefix, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(prefix, "stderr"), "w"), start_new_session=True)


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except Exception:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def h2load(port, path, connections, streams, duration):
    cmd = ["h2load", "-c", str(connections), "-m", str(streams), "-t", "1", "-D", str(duration),
           "--warm-up-time", "1", "https://127.0.0.1:%d%s" % (port, path)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    except subprocess.TimeoutExpired:
        return 0.0, "h2load did not finish within %d s" % (duration + 60)
    rate = re.search(r"finished in [0-9.]+s, ([0-9.]+) req/s", out)
    ok = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not rate or not ok or int(ok.group(2)) or int(ok.group(3)) or not codes or \
            int(codes.group(3)) or int(codes.group(4)) or int(codes.group(1)) == 0:
        return 0.0, out  # only runs where every answer was a 2xx count
    return float(rate.group(1)), out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default="build/perf/h2.md")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="serval-h2bench-")
    os.chmod(root, 0o755)  # nginx's workers (nobody) read the files under it
    cert, key = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    ports = {"serval": 18643, "nginx": 18644}
    procs = {"serval": serval(root, ports["serval"], cert, key, args.threads),
             "nginx": nginx(root, ports["nginx"], cert, key, args.threads)}
    try:
        for name, port in ports.items():
            for path in WORKLOADS.values():
                if not wait_200(port, path):
                    for log in ("serval/stderr", "nginx/stderr", "nginx/logs/error.log"):
                        if os.path.exists(os.path.join(root, log)):
                            print(open(os.path.join(root, log)).read()[-1500:], file=sys.stderr)
                    sys.exit("h2bench: %s does not answer %s" % (name, path))
        rows = []
        for workload, path in WORKLOADS.items():
            for streams in (10, 100):
                best = {"serval": 0.0, "nginx": 0.0}
                for rep in range(args.reps):
                    order = ("serval", "nginx") if rep % 2 == 0 else ("nginx", "serval")
                    for name in order:
                        rate, out = h2load(ports[name], path, args.connections, streams, args.duration)
                        if rate == 0.0:
                            print("h2bench: %s %s -m %d failed:\n%s" % (name, workload, streams, out[-800:]),
                                  file=sys.stderr)
                        best[name] = max(best[name], rate)
                ratio = best["serval"] / best["nginx"] if best["nginx"] else 0.0
                rows.append((workload, streams, best["serval"], best["nginx"], ratio))
                print("%s -m %d: serval %.0f, nginx %.0f req/s (%.2fx)" % (workload, streams, best["serval"],
                                                                           best["nginx"], ratio), flush=True)
        table = ["| workload (h2 over TLS, %d conns) | -m | Serval req/s | nginx req/s | Serval/nginx |" %
                 args.connections, "|---|---|---|---|---|"]
        for workload, streams, s, n, r in rows:
            table.append("| %s | %d | %.0f | %.0f | %.2fx |" % (workload, streams, s, n, r))
        text = "\n".join(table) + "\n"
        print(text)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
    finally:
        for proc in procs.values():
            stop(proc)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
