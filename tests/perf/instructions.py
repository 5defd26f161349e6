#!/usr/bin/env python3
"""Instructions per request under callgrind: deterministic, so it works on a busy machine where
wall-clock requests/s do not (issue 6: what each layer adds over the bare connector).

Usage: tests/perf/instructions.py [--build build] [--requests 20000] [--connections 4] [--keep DIR]
                                  [--workloads bench,static4k,static13,hello,hello-worker,session-read]

Each workload starts the server under `valgrind --tool=callgrind`, sends 2,000 warm-up
requests, zeroes the counters, sends --requests keep-alive GETs (one outstanding request per
connection, every answer checked: 200 and its Content-Length), dumps, and divides. Counted:
all user-space instructions of every server thread (the kernel and context switches are
not: compare those with server CPU time per request from a pinned wrk run), plus calls per
request to malloc, the libstdc++ shared_ptr lock pool (_Sp_locker), stat and the worker
hand-off (pthread_cond_signal).

  bench         build/tests/connector_bench: the Connector alone, 4 KiB from memory
  static4k      serval, DefaultServlet, a 4096-byte file, access log on
  static13      serval, DefaultServlet, "Hello, World!" as a file
  hello         serval, the hello sample through the C ABI (serval.dispatch=inline, as shipped)
  hello-worker  the same bundle with the context-param removed: app code on the worker pool
  session-read  the sessions sample's /hello (worker pool): one logged-in session's cookie on
                every request, one attribute read from the SQLite store, no write (issue 12)
  session-write the sessions sample's /visit: the same read plus one attribute written, its
                response held until the group commit (synchronous="normal": no fsync)
  static4k-tls  static4k over HTTPS/1.1 (TLS 1.3, ECDSA P-256; Python's ssl client)
  hello-tls     hello over HTTPS/1.1
The TLS rows count OpenSSL's record work too (AES-GCM, its buffers); the handshakes happen in
the warm-up, before the counters are zeroed.
Needs valgrind (Debian package valgrind) and openssl (for the test certificate).
"""
import argparse, os, re, selectors, shutil, socket, ssl, subprocess, sys, tempfile, time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNTED = re.compile(r"^(malloc|std::_Sp_locker::_Sp_locker\(void const\*\)|stat|stat64|statx|"
                     r"pthread_cond_signal(@@.*)?)$")

SERVER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Server logFile="logs/serval.log" accessLog="logs/access.log">
  <Connector address="127.0.0.1" port="{port}" ioThreads="1" workerThreads="4"
             maxKeepAliveRequests="0"/>
  <Connector address="127.0.0.1" port="{tls_port}" ioThreads="1" workerThreads="4"
             maxKeepAliveRequests="0">
    <Certificate certificateFile="{cert}" keyFile="{key}"/>
  </Connector>
  <Engine defaultHost="localhost">
    <!-- In-process: these counts follow the request through the server's own code (an
         isolated app's work happens in its worker, which callgrind does not follow). -->
    <Host name="localhost" appBase="webapps" autoDeploy="false" isolation="none">
      <Manager synchronous="normal"/>
    </Host>
  </Engine>
</Server>
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def login(port):
    """The session cookie (NAME=VALUE) of one login to the sessions sample."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /sessions/login?user=World HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        reply = b""
        while data := s.recv(65536):
            reply += data
    head = reply.split(b"\r\n\r\n", 1)[0].decode("latin1")
    cookie = re.search(r"(?im)^set-cookie:\s*([^;\r\n]+)", head)
    if not head.startswith("HTTP/1.1 200") or not cookie:
        raise RuntimeError(f"login: {head.splitlines()[0] if head else 'no answer'}")
    return cookie.group(1)


def load(port, path, connections, total, cookie=None):
    """Sends `total` GETs over `connections` keep-alive connections; raises on a bad answer."""
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: instructions\r\n{extra}\r\n".encode()
    selector = selectors.DefaultSelector()
    buffers, sent, done = {}, 0, 0
    for _ in range(min(connections, total)):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(request)
        sent += 1
        buffers[s] = bytearray()
        selector.register(s, selectors.EVENT_READ)
    while done < total:
        for key, _ in selector.select(timeout=60):
            s, buf = key.fileobj, buffers[key.fileobj]
            data = s.recv(65536)
            if not data:
                raise RuntimeError(f"{path}: connection closed after {done} answers")
            buf += data
            while (end := buf.find(b"\r\n\r\n")) >= 0:
                head = bytes(buf[:end]).decode("latin1")
                length = int(re.search(r"(?im)^content-length:\s*(\d+)", head).group(1))
                if len(buf) < end + 4 + length:
                    break
                if not head.startswith("HTTP/1.1 200"):
                    raise RuntimeError(f"{path}: {head.splitlines()[0]}")
                del buf[:end + 4 + length]
                done += 1
                if sent < total:
                    s.sendall(request)
                    sent += 1
    for s in buffers:
        s.close()


def load_tls(port, path, connections, total):
    """load() over TLS: each connection one request at a time, round robin (blocking sockets:
    an ssl socket's decrypted bytes are invisible to select)."""
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: instructions\r\n\r\n".encode()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conns = []
    for _ in range(min(connections, total)):
        raw = socket.create_connection(("127.0.0.1", port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns.append((context.wrap_socket(raw, server_hostname="localhost"), bytearray()))
    done = 0
    while done < total:
        batch = conns[:total - done]
        for s, _ in batch:
            s.sendall(request)
        for s, buf in batch:
            while True:
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    head = bytes(buf[:end]).decode("latin1")
                    length = int(re.search(r"(?im)^content-length:\s*(\d+)", head).group(1))
                    if len(buf) >= end + 4 + length:
                        if not head.startswith("HTTP/1.1 200"):
                            raise RuntimeError(f"{path}: {head.splitlines()[0]}")
                        del buf[:end + 4 + length]
                        done += 1
                        break
                data = s.recv(65536)
                if not data:
                    raise RuntimeError(f"{path}: connection closed after {done} answers")
                buf += data
    for s, _ in conns:
        s.close()


def callgrind_counts(path):
    """Total Ir and call counts of COUNTED functions in a callgrind output file."""
    names, calls, total, callee = {}, Counter(), 0, None
    def name(token):
        m = re.match(r"\((\d+)\)(?: (.*))?", token)
        if not m:
            return token
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "?")
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = int(line.split()[1])
            elif line.startswith("fn="):
                name(line[3:].strip())
            elif line.startswith("cfn="):
                callee = name(line[4:].strip())
            elif line.startswith("calls=") and callee and COUNTED.match(callee):
                calls[re.sub(r"@@.*|\(.*", "", callee)] += int(line[6:].split()[0])
    return total, calls


def measure(name, command, port, path, args, work, tls=False):
    out = os.path.join(work, f"cg-{name}")
    log = open(os.path.join(work, f"{name}.stderr"), "w+")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.%p",
                             "--dump-instr=no"] + command, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 60
        listeners = 2 if "--base" in command else 1  # serval: the plain and the TLS connector
        while open(log.name).read().count("listening on") < listeners:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name}: did not start; see {log.name}")
            time.sleep(0.2)
        send = load_tls if tls else load
        if path.startswith("/sessions/"):  # one logged-in session for every request
            cookie = login(port)
            send = lambda port, path, connections, total: load(port, path, connections, total, cookie)
        send(port, path, args.connections, 2000)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        send(port, path, args.connections, args.requests)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        proc.terminate()
        proc.wait()
    dumps = sorted(p for p in os.listdir(work) if p.startswith(f"cg-{name}.{proc.pid}."))
    total, calls = callgrind_counts(os.path.join(work, dumps[-1]))
    if args.keep:  # for callgrind_annotate
        os.makedirs(args.keep, exist_ok=True)
        shutil.copy(os.path.join(work, dumps[-1]), os.path.join(args.keep, f"callgrind.{name}"))
    n = args.requests
    extra = "  ".join(f"{k.split('::')[-1].split('(')[0]} {v / n:.3f}" for k, v in sorted(calls.items()))
    print(f"| {name:13} | {total / n:8.0f} | {extra} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--keep", help="copy each workload's callgrind output into this directory")
    parser.add_argument("--workloads", default="bench,static4k,static13,hello,hello-worker")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("instructions: valgrind is missing; apt-get install -y valgrind")
    serval = os.path.join(args.build, "bin", "serval")
    bench = os.path.join(args.build, "tests", "connector_bench")
    bundle = os.path.join(args.build, "bundles", "hello")
    with tempfile.TemporaryDirectory(prefix="serval-instructions-") as work:
        base = os.path.join(work, "base")
        os.makedirs(os.path.join(base, "webapps", "ROOT"))
        os.makedirs(os.path.join(base, "logs"))
        shutil.copytree(os.path.join(ROOT, "conf"), os.path.join(base, "conf"))
        port, tls_port = free_port(), free_port()
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
        with open(os.path.join(base, "conf", "server.xml"), "w") as f:
            f.write(SERVER_XML.format(port=port, tls_port=tls_port, cert=cert, key=key))
        with open(os.path.join(base, "webapps", "ROOT", "4k.html"), "w") as f:
            f.write(("0123456789abcdef" * 256))
        with open(os.path.join(base, "webapps", "ROOT", "13.txt"), "w") as f:
            f.write("Hello, World!")
        shutil.copytree(bundle, os.path.join(base, "webapps", "hello"))
        shutil.copytree(bundle, os.path.join(base, "webapps", "hw"))
        sessions = os.path.join(args.build, "bundles", "sessions")
        if os.path.isdir(sessions):
            shutil.copytree(sessions, os.path.join(base, "webapps", "sessions"))
        web_xml = os.path.join(base, "webapps", "hw", "WEB-INF", "web.xml")
        text = open(web_xml).read()
        text = re.sub(r"<context-param>\s*<param-name>serval\.dispatch</param-name>.*?</context-param>", "",
                      text, flags=re.S)
        open(web_xml, "w").write(text)
        print(f"{args.requests} requests on {args.connections} keep-alive connections, per request:\n")
        print("| workload      | instr.   | calls per request |")
        print("|---|---|---|")
        serval_cmd = [serval, "--base", base]
        workloads = {
            "bench": ([bench, str(port), "1"], "/"),
            "static4k": (serval_cmd, "/4k.html"),
            "static13": (serval_cmd, "/13.txt"),
            "hello": (serval_cmd, "/hello/hello"),
            "hello-worker": (serval_cmd, "/hw/hello"),
            "session-read": (serval_cmd, "/sessions/hello"),
            "session-write": (serval_cmd, "/sessions/visit"),
            "static4k-tls": (serval_cmd, "/4k.html"),
            "hello-tls": (serval_cmd, "/hello/hello"),
        }
        for name in args.workloads.split(","):
            command, path = workloads[name]
            tls = name.endswith("-tls")
            measure(name, command, tls_port if tls else port, path, args, work, tls)


if __name__ == "__main__":
    main()
