#!/usr/bin/env python3
"""Response compression throughput (issue 16): a 64 KiB HTML page, gzip, Serval vs nginx.

Usage: tests/perf/run --compression [--build build] [--duration 10] [--connections 64]

Side by side in one run, wrk with `Accept-Encoding: gzip` on core 0, each server pinned to
core 1 (one I/O thread / one nginx worker):
  serval-static     the page as a static file: the DefaultServlet's compressed-variant cache
                    (made once, off the loop, at gzip 9) serves it from memory
  serval-dynamic    the page from app code in-process (fixture libfaults.so /page?kb=64),
                    compressed per request at gzip level 1 on the worker thread
  serval-isolated   the same app in a worker process (isolation="process", the default): the
                    server compresses what the worker sends, at level 1, on its I/O loop
  nginx-gzip        nginx `gzip on; gzip_comp_level 1;` for the same types, the page as a
                    static file: nginx compresses it per request (it has no variant cache)
Every server's answer is checked first: 200, Content-Encoding: gzip, and the decoded body is
the page. Prints a Markdown table (req/s, compressed size, ratio to nginx).
"""
import argparse, gzip, json, os, re, shutil, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def page():
    rows = []
    size = 0
    i = 0
    while size < 64 * 1024:
        row = f"<tr><td>{i}</td><td>row {i * 7919 % 1000}</td></tr>\n"
        rows.append(row)
        size += len(row)
        i += 1
    # The fixture's page: the same generator as tests/fixtures/apps/Faults.cpp's /page.
    text = "<!doctype html><title>page</title><table>\n" + "".join(rows)
    return text[: 64 * 1024].encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, headers):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    if fields.get("transfer-encoding") == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        body = out
    return status, fields, body


def wait_ready(port, path, proc, log, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"compression perf: server exited ({proc.returncode}): {tail(log)}")
        try:
            if get(port, path, {})[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"compression perf: no 200 for {path} on port {port}: {tail(log)}")


def tail(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-1500:]
    except OSError:
        return ""


def wrk(port, path, conns, seconds):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "2s",
           "-H", "Accept-Encoding: gzip", "-s", os.path.join(HERE, "report.lua"), f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    m = re.search(r"^WRKJSON (\{.*\})$", out, re.M)
    if not m:
        return {"error": out[-300:]}
    w = json.loads(m.group(1))
    return {"rps": w["requests"] / (w["duration_us"] / 1e6), "non2xx": w["status"],
            "errors": w["connect"] + w["read"] + w["write"] + w["timeout"]}


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    opts = ap.parse_args()
    serval = os.path.join(opts.build, "bin", "serval")
    faults = os.path.join(opts.build, "tests", "fixtures", "libfaults.so")
    for f in (serval, faults):
        if not os.path.exists(f):
            sys.exit(f"compression perf: {f} is missing: build Serval and its tests first")
    if not shutil.which("wrk") or not shutil.which("nginx"):
        sys.exit("compression perf: needs wrk and nginx (tests/perf/run installs them)")
    body = page()
    base = tempfile.mkdtemp(prefix="serval-compress-perf-")
    os.chmod(base, 0o755)  # nginx workers run as nobody
    procs = []
    results = {}
    try:
        # Serval
        sbase = os.path.join(base, "serval")
        for d in ("conf", "logs", "data", "work", "webapps/ROOT"):
            os.makedirs(os.path.join(sbase, d))
        shutil.copy(os.path.join(ROOT, "conf", "web.xml"), os.path.join(sbase, "conf", "web.xml"))
        with open(os.path.join(sbase, "webapps", "ROOT", "page.html"), "wb") as f:
            f.write(body)
        web_xml = ("<web-app><servlet><servlet-name>f</servlet-name><servlet-class>fixture.Faults</servlet-class>"
                   "</servlet><servlet-mapping><servlet-name>f</servlet-name><url-pattern>/*</url-pattern>"
                   "</servlet-mapping></web-app>")
        for app in ("dyn", "iso"):
            os.makedirs(os.path.join(sbase, "webapps", app, "WEB-INF", "lib"))
            with open(os.path.join(sbase, "webapps", app, "WEB-INF", "web.xml"), "w") as f:
                f.write(web_xml)
            shutil.copy(faults, os.path.join(sbase, "webapps", app, "WEB-INF", "lib", "libfaults.so"))
        sport = free_port()
        with open(os.path.join(sbase, "conf", "server.xml"), "w") as f:
            f.write(f'<Server accessLog=""><Connector address="127.0.0.1" port="{sport}" ioThreads="1" '
                    f'workerThreads="4" maxKeepAliveRequests="0"/><Engine defaultHost="localhost">'
                    f'<Host name="localhost" appBase="webapps"><Context path="/dyn" isolation="none"/>'
                    f'<Context path="/iso" isolation="process"/></Host></Engine></Server>')
        sp = subprocess.Popen(["taskset", "-c", "1", serval, "--base", sbase, "--port", str(sport)],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(sbase, "stderr.log"), "w"))
        procs.append(sp)
        wait_ready(sport, "/page.html", sp, os.path.join(sbase, "stderr.log"))
        # nginx
        nbase = os.path.join(base, "nginx")
        for d in ("logs", "html", "tmp"):
            os.makedirs(os.path.join(nbase, d))
        with open(os.path.join(nbase, "html", "page.html"), "wb") as f:
            f.write(body)
        nport = free_port()
        with open(os.path.join(nbase, "nginx.conf"), "w") as f:
            f.write(f"""daemon off; master_process on; worker_processes 1;
error_log {nbase}/logs/error.log warn; pid {nbase}/logs/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  types {{ text/html html; text/css css; text/plain txt; application/json json; }}
  default_type application/octet-stream; access_log off;
  client_body_temp_path {nbase}/tmp/b; proxy_temp_path {nbase}/tmp/p; fastcgi_temp_path {nbase}/tmp/f;
  uwsgi_temp_path {nbase}/tmp/u; scgi_temp_path {nbase}/tmp/s;
  sendfile on; tcp_nopush on; keepalive_requests 1000000;
  gzip on; gzip_comp_level 1; gzip_min_length 2048; gzip_vary on;
  gzip_types text/plain text/css application/json application/javascript application/xml image/svg+xml;
  server {{ listen 127.0.0.1:{nport}; root {nbase}/html; }}
}}
""")
        npr = subprocess.Popen(["taskset", "-c", "1", "nginx", "-p", nbase, "-c", os.path.join(nbase, "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(npr)
        wait_ready(nport, "/page.html", npr, os.path.join(nbase, "logs", "error.log"))

        runs = [("serval-static", sport, "/page.html"), ("serval-dynamic", sport, "/dyn/page?kb=64"),
                ("serval-isolated", sport, "/iso/page?kb=64"), ("nginx-gzip", nport, "/page.html")]
        # The static variant is made off the loop after the first request: wait for it.
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if get(sport, "/page.html", {"Accept-Encoding": "gzip"})[1].get("content-encoding") == "gzip":
                break
            time.sleep(0.05)
        for name, port, path in runs:
            status, fields, got = get(port, path, {"Accept-Encoding": "gzip"})
            if status != 200 or fields.get("content-encoding") != "gzip" or gzip.decompress(got) != body:
                sys.exit(f"compression perf: {name} GET {path}: {status} {fields.get('content-encoding')!r}, "
                         f"body does not decode to the page")
            results[name] = {"size": len(got)}
        for name, port, path in runs:
            wrk(port, path, opts.connections, 2)  # warm-up
            results[name].update(wrk(port, path, opts.connections, opts.duration))
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(base, ignore_errors=True)
    nginx = results["nginx-gzip"].get("rps") or 1
    print(f"| 64 KiB HTML, gzip, {opts.connections} conns, pinned | req/s | gzip bytes | vs nginx |")
    print("|---|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r.get('rps', 0):,.0f} | {r['size']:,} | {r.get('rps', 0) / nginx:.2f}x |")
    os.makedirs(os.path.join(opts.build, "perf"), exist_ok=True)
    with open(os.path.join(opts.build, "perf", "compression.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
