#!/usr/bin/python3
"""HTTP/2 conformance harness against a real `serval` (issue 16): h2spec's cases rebuilt with
raw frames over a socket (Debian's python3-hpack encodes and decodes the header blocks), plus
the hostile-client battery in h2 form and the app checks (servlets, static files, the manager,
an isolated app) over h2.

Run by Http2ConformanceTest (tests/integration/Http2Test.cpp):
    h2conformance.py --port PORT [--tls] --group GROUP     (generic http2 hpack hostile app)
Each case prints "case <id>: ok" or "case <id>: FAIL <why>"; the exit status is the number of
failed cases. Case ids are h2spec's (generic/N, http2/SECTION/N, hpack/SECTION/N) so the
checklist is visible; the hostile and app cases have their own names.
"""
import argparse
import os
import socket
import ssl
import struct
import sys
import time

import hpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from casebook import Fail, case, check, run  # noqa: E402  (tests/support/casebook.py)

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, STREAM_CLOSED, \
    FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM = range(12)
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ARGS = None


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def settings(*pairs):
    return b"".join(struct.pack(">HI", k, v) for k, v in pairs)


class Conn:
    """One HTTP/2 connection with raw frames."""

    def __init__(self, preface=True, handshake=True):
        sock = socket.create_connection(("127.0.0.1", ARGS.port), timeout=5)
        if ARGS.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.set_alpn_protocols(["h2"])
            sock = context.wrap_socket(sock, server_hostname="localhost")
            check(sock.selected_alpn_protocol() == "h2", "ALPN chose %r" % sock.selected_alpn_protocol())
        self.sock = sock
        self.buf = b""
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.server_settings = None
        self.streams = {}
        if preface:
            self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
        if preface and handshake:
            # The server's SETTINGS first; then our ACK. Its ACK of ours may come any time.
            ftype, flags, sid, payload = self.read_frame()
            check(ftype == SETTINGS and not flags & ACK, "the server did not start with SETTINGS")
            self.server_settings = payload
            self.send(SETTINGS, ACK, 0)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, ftype, flags, sid, payload=b""):
        self.send_raw(frame(ftype, flags, sid, payload))

    def send_raw(self, data):
        # A server that has already answered a protocol error with GOAWAY and closed makes a
        # later send fail: what the case expects is then read (the close) by expect_*().
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def recv_exact(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        head = self.recv_exact(9)
        if head is None:
            return None
        length = struct.unpack(">I", b"\0" + head[:3])[0]
        payload = self.recv_exact(length) if length else b""
        if payload is None:
            return None
        return head[3], head[4], struct.unpack(">I", head[5:9])[0] & 0x7FFFFFFF, payload

    def headers_block(self, headers):
        return self.encoder.encode(headers)

    def request(self, sid, method="GET", path="/hello.txt", extra=(), end=True, authority="localhost"):
        headers = [(":method", method), (":scheme", "https" if ARGS.tls else "http"), (":path", path),
                   (":authority", authority)] + list(extra)
        self.send(HEADERS, END_HEADERS | (END_STREAM if end else 0), sid, self.headers_block(headers))

    def read_tracked(self):
        """The next frame; HEADERS are decoded here, whichever stream they are for (the HPACK
        state is per connection), into self.streams[sid] = [status, headers, body, ended]."""
        f = self.read_frame()
        if f is None:
            return None
        ftype, flags, sid, payload = f
        if ftype in (HEADERS, DATA) and sid:
            state = self.streams.setdefault(sid, [None, {}, b"", False])
            if ftype == HEADERS:
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                if flags & PRIORITY_FLAG:
                    payload = payload[5:]
                for name, value in self.decoder.decode(payload):
                    name = name.decode() if isinstance(name, bytes) else name
                    value = value.decode() if isinstance(value, bytes) else value
                    if name == ":status":
                        if int(value) >= 200:
                            state[0] = int(value)
                    else:
                        state[1][name] = value
            else:
                state[2] += payload
                if payload:
                    self.send(WINDOW_UPDATE, 0, 0, struct.pack(">I", len(payload)))
                    if not flags & END_STREAM:
                        self.send(WINDOW_UPDATE, 0, sid, struct.pack(">I", len(payload)))
            if flags & END_STREAM:
                state[3] = True
        return f

    def response(self, sid, timeout=5):
        """Reads until stream `sid` ends: (status, headers dict, body)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.streams.get(sid)
            if state and state[3]:
                return state[0], state[1], state[2]
            f = self.read_tracked()
            check(f is not None, "connection closed before stream %d ended" % sid)
            ftype, flags, fsid, payload = f
            if ftype == GOAWAY:
                raise Fail("GOAWAY %d while waiting for stream %d" % (struct.unpack(">I", payload[4:8])[0], sid))
            if ftype == RST_STREAM and fsid == sid:
                raise Fail("RST_STREAM %d on stream %d" % (struct.unpack(">I", payload)[0], sid))
        raise Fail("timeout waiting for stream %d" % sid)

    def expect_connection_error(self, codes, timeout=5):
        """GOAWAY with one of `codes`, or the connection closed (h2spec accepts either)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            f = self.read_tracked()
            if f is None:
                return
            ftype, flags, sid, payload = f
            if ftype == GOAWAY:
                code = struct.unpack(">I", payload[4:8])[0]
                check(code in codes, "GOAWAY %d, expected one of %s" % (code, codes))
                return
        raise Fail("no connection error within %ss" % timeout)

    def expect_stream_error(self, sid, codes, timeout=5):
        """RST_STREAM on `sid` with one of `codes`, or a connection error with one of them."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            f = self.read_tracked()
            if f is None:
                return
            ftype, flags, fsid, payload = f
            if ftype == RST_STREAM and fsid == sid:
                code = struct.unpack(">I", payload)[0]
                check(code in codes, "RST_STREAM %d, expected one of %s" % (code, codes))
                return
            if ftype == GOAWAY:
                code = struct.unpack(">I", payload[4:8])[0]
                check(code in codes, "GOAWAY %d, expected one of %s" % (code, codes))
                return
        raise Fail("no stream error within %ss" % timeout)

    def expect_ping_ack(self, data=b"pingpong", timeout=5):
        """The connection is alive: a PING is answered."""
        self.send(PING, 0, 0, data)
        deadline = time.time() + timeout
        while time.time() < deadline:
            f = self.read_tracked()
            check(f is not None, "connection closed")
            ftype, flags, sid, payload = f
            check(ftype != GOAWAY, "GOAWAY instead of PING ACK")
            if ftype == PING and flags & ACK:
                check(payload == data, "PING ACK with other data")
                return
        raise Fail("no PING ACK")


def wait_ping_ack(c, data):
    for _ in range(10):
        f = c.read_tracked()
        check(f is not None, "closed")
        if f[0] == PING and f[1] & ACK:
            check(f[3] == data, "PING ACK with other data")
            return
    raise Fail("no PING ACK")


def still_serving():
    c = Conn()
    c.request(1)
    status, _, body = c.response(1)
    c.close()
    check(status == 200 and body == b"Hello, World!", "a new connection got %s %r" % (status, body[:40]))


# ---- generic (h2spec generic/*) -----------------------------------------------------------

@case("generic", "generic/1")
def generic_1():
    c = Conn()  # the preface is answered with SETTINGS
    c.expect_ping_ack()


@case("generic", "generic/2")
def generic_2():
    c = Conn()
    c.request(1)
    status, _, body = c.response(1)
    check(status == 200 and body == b"Hello, World!", "GET /hello.txt: %s" % status)


@case("generic", "generic/3.1")
def generic_3_1():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", [("content-length", "4")], end=False)
    c.send(DATA, END_STREAM, 1, b"test")
    status, _, body = c.response(1)
    check(status == 200 and b"body=test" in body, "POST body not echoed: %s %r" % (status, body[-80:]))


@case("generic", "generic/3.2")
def generic_3_2():
    c = Conn()
    block = c.headers_block([(":method", "GET"), (":scheme", "https" if ARGS.tls else "http"),
                             (":path", "/hello.txt"), (":authority", "localhost")])
    c.send(HEADERS, END_STREAM, 1, block[:5])
    c.send(CONTINUATION, END_HEADERS, 1, block[5:])
    status, _, _ = c.response(1)
    check(status == 200, "HEADERS + CONTINUATION: %s" % status)


@case("generic", "generic/3.3")
def generic_3_3():
    c = Conn()
    c.send(PRIORITY, 0, 1, struct.pack(">IB", 0, 15))
    c.expect_ping_ack()


@case("generic", "generic/3.4")
def generic_3_4():
    c = Conn()
    c.request(1, end=False)
    c.send(RST_STREAM, 0, 1, struct.pack(">I", CANCEL))
    c.expect_ping_ack()


@case("generic", "generic/3.5")
def generic_3_5():
    c = Conn()
    c.send(SETTINGS, 0, 0, settings((3, 100)))
    for _ in range(10):
        f = c.read_frame()
        check(f is not None, "closed")
        if f[0] == SETTINGS and f[1] & ACK:
            return
    raise Fail("no SETTINGS ACK")


@case("generic", "generic/3.7")
def generic_3_7():
    Conn().expect_ping_ack(b"\x01\x02\x03\x04\x05\x06\x07\x08")


@case("generic", "generic/3.8")
def generic_3_8():
    c = Conn()
    c.send(GOAWAY, 0, 0, struct.pack(">II", 0, NO_ERROR))
    f = c.read_frame()
    while f is not None and f[0] != GOAWAY:
        f = c.read_frame()  # the server may answer with its own GOAWAY, then closes


@case("generic", "generic/3.9")
def generic_3_9():
    c = Conn()
    c.send(WINDOW_UPDATE, 0, 0, struct.pack(">I", 65536))
    c.expect_ping_ack()


@case("generic", "generic/4")
def generic_4():
    c = Conn()
    for sid in (1, 3, 5):
        c.request(sid)
    for sid in (1, 3, 5):
        check(c.response(sid)[0] == 200, "stream %d" % sid)


# ---- http2 (h2spec http2/*) ---------------------------------------------------------------

@case("http2", "http2/3.5/1")
def h3_5_1():
    Conn().expect_ping_ack()


@case("http2", "http2/3.5/2")
def h3_5_2():
    c = Conn(preface=False)
    c.send_raw(b"INVALID CONNECTION PREFACE\r\n\r\n" + frame(SETTINGS, 0, 0))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/4.1/1")
def h4_1_1():
    c = Conn()
    c.send(0x16, 0, 0, b"unknown")
    c.expect_ping_ack()


@case("http2", "http2/4.1/2")
def h4_1_2():
    c = Conn()
    c.send(PING, 0x16, 0, b"\0" * 8)
    wait_ping_ack(c, b"\0" * 8)


@case("http2", "http2/4.1/3")
def h4_1_3():
    c = Conn()
    c.send_raw(struct.pack(">I", 8)[1:] + bytes([PING, 0]) + struct.pack(">I", 0x80000000) + b"\0" * 8)
    wait_ping_ack(c, b"\0" * 8)


@case("http2", "http2/4.2/1")
def h4_2_1():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", end=False)
    c.send(DATA, END_STREAM, 1, b"x" * 16384)
    check(c.response(1)[0] == 200, "a 16384-byte DATA frame was refused")


@case("http2", "http2/4.2/2")
def h4_2_2():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", end=False)
    c.send(DATA, END_STREAM, 1, b"x" * 16385)
    c.expect_stream_error(1, [FRAME_SIZE_ERROR])


@case("http2", "http2/4.2/3")
def h4_2_3():
    c = Conn()
    c.send(HEADERS, END_STREAM | END_HEADERS, 1, b"\x82" * 16385)  # one byte past SETTINGS_MAX_FRAME_SIZE
    c.expect_connection_error([FRAME_SIZE_ERROR])


@case("http2", "http2/4.3/1")
def h4_3_1():
    c = Conn()
    c.send(HEADERS, END_STREAM | END_HEADERS, 1, b"\x82\x86\x84\x40\x0aab")  # a literal name longer than the block
    c.expect_connection_error([COMPRESSION_ERROR])


@case("http2", "http2/4.3/2")
def h4_3_2():
    c = Conn()
    block = c.headers_block([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "localhost")])
    c.send(HEADERS, END_STREAM, 1, block)
    c.send(PRIORITY, 0, 1, struct.pack(">IB", 0, 15))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/5.1/1")
def h5_1_1():
    c = Conn()
    c.send(DATA, END_STREAM, 1, b"test")
    c.expect_connection_error([PROTOCOL_ERROR, STREAM_CLOSED])


@case("http2", "http2/5.1/2")
def h5_1_2():
    c = Conn()
    c.send(RST_STREAM, 0, 1, struct.pack(">I", CANCEL))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/5.1/3")
def h5_1_3():
    c = Conn()
    c.send(WINDOW_UPDATE, 0, 1, struct.pack(">I", 100))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/5.1/5")
def h5_1_5():
    c = Conn()
    c.request(1, path="/features/stream")
    c.send(DATA, 0, 1, b"test")
    c.expect_stream_error(1, [STREAM_CLOSED])


@case("http2", "http2/5.1/6")
def h5_1_6():
    c = Conn()
    c.request(1, path="/features/stream")
    c.request(1, path="/features/stream")
    c.expect_stream_error(1, [STREAM_CLOSED])


@case("http2", "http2/5.1.1/1")
def h5_1_1_1():
    c = Conn()
    c.request(2)
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/5.1.1/2")
def h5_1_1_2():  # stream id reuse / going backwards (hostile: stream id reuse)
    c = Conn()
    c.request(5)
    c.response(5)
    c.request(3)
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/5.1.2/1")
def h5_1_2_1():
    c = Conn()
    limit = None
    payload = c.server_settings or b""
    for i in range(0, len(payload), 6):
        key, value = struct.unpack(">HI", payload[i:i + 6])
        if key == 3:
            limit = value
    check(limit == 100, "SETTINGS_MAX_CONCURRENT_STREAMS is %s, not 100" % limit)
    for n in range(limit):
        c.request(1 + 2 * n, "POST", "/features/echo/x", end=False)
    c.request(1 + 2 * limit, "POST", "/features/echo/x", end=False)
    c.expect_stream_error(1 + 2 * limit, [PROTOCOL_ERROR, REFUSED_STREAM])


@case("http2", "http2/5.4.1/1")
def h5_4_1_1():
    c = Conn()
    c.send(DATA, 0, 0, b"test")
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/5.4.1/2")
def h5_4_1_2():
    c = Conn()
    c.send(GOAWAY, 0, 0, struct.pack(">II", 0, NO_ERROR) )
    c.send(HEADERS, END_HEADERS, 0, b"")  # after the client's GOAWAY: still a connection error
    c.expect_connection_error([PROTOCOL_ERROR, NO_ERROR])


@case("http2", "http2/5.5/1")
def h5_5_1():
    c = Conn()
    c.send(0xFF, 0, 0, b"\0" * 8)
    c.expect_ping_ack()


@case("http2", "http2/6.1/1")
def h6_1_1():
    c = Conn()
    c.send(DATA, END_STREAM, 0, b"test")
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.1/3")
def h6_1_3():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", end=False)
    c.send(DATA, PADDED | END_STREAM, 1, bytes([6]) + b"test")
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.2/1")
def h6_2_1():
    c = Conn()
    block = c.headers_block([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "localhost")])
    c.send(HEADERS, END_STREAM, 1, block)
    c.send(DATA, 0, 1, b"test")
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.2/2")
def h6_2_2():
    c = Conn()
    block = c.headers_block([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "localhost")])
    c.send(HEADERS, END_STREAM, 1, block)
    c.send(CONTINUATION, END_HEADERS, 3, block)
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.2/3")
def h6_2_3():
    c = Conn()
    c.send(HEADERS, END_STREAM | END_HEADERS, 0, c.headers_block([(":method", "GET")]))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.2/4")
def h6_2_4():
    c = Conn()
    c.send(HEADERS, END_STREAM | END_HEADERS | PADDED, 1, bytes([10]) + b"abc")
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.3/1")
def h6_3_1():
    c = Conn()
    c.send(PRIORITY, 0, 0, struct.pack(">IB", 1, 15))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.3/2")
def h6_3_2():
    c = Conn()
    c.request(1, path="/features/stream", end=False)
    c.send(PRIORITY, 0, 1, struct.pack(">IBB", 0, 15, 0))
    c.expect_stream_error(1, [FRAME_SIZE_ERROR])


@case("http2", "http2/6.4/1")
def h6_4_1():
    c = Conn()
    c.send(RST_STREAM, 0, 0, struct.pack(">I", CANCEL))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.4/2")
def h6_4_2():
    c = Conn()
    c.send(RST_STREAM, 0, 1, struct.pack(">I", CANCEL))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.4/3")
def h6_4_3():
    c = Conn()
    c.request(1, end=False)
    c.send(RST_STREAM, 0, 1, struct.pack(">IB", CANCEL, 0))
    c.expect_connection_error([FRAME_SIZE_ERROR])


@case("http2", "http2/6.5/1")
def h6_5_1():
    c = Conn()
    c.send(SETTINGS, ACK, 0, settings((3, 100)))
    c.expect_connection_error([FRAME_SIZE_ERROR])


@case("http2", "http2/6.5/2")
def h6_5_2():
    c = Conn()
    c.send(SETTINGS, 0, 1, settings((3, 100)))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.5/3")
def h6_5_3():
    c = Conn()
    c.send(SETTINGS, 0, 0, b"\0\3\0\0")
    c.expect_connection_error([FRAME_SIZE_ERROR])


@case("http2", "http2/6.5.2/1")
def h6_5_2_1():
    c = Conn()
    c.send(SETTINGS, 0, 0, settings((2, 2)))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.5.2/2")
def h6_5_2_2():
    c = Conn()
    c.send(SETTINGS, 0, 0, settings((4, 2 ** 31)))
    c.expect_connection_error([FLOW_CONTROL_ERROR])


@case("http2", "http2/6.5.2/3")
def h6_5_2_3():
    c = Conn()
    c.send(SETTINGS, 0, 0, settings((5, 16383)))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.5.2/4")
def h6_5_2_4():
    c = Conn()
    c.send(SETTINGS, 0, 0, settings((5, 2 ** 24)))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.5.2/5")
def h6_5_2_5():
    c = Conn()
    c.send(SETTINGS, 0, 0, settings((0xFF, 1)))
    c.expect_ping_ack()


@case("http2", "http2/6.5.3/2")
def h6_5_3_2():
    c = Conn()
    for _ in range(10):
        f = c.read_frame()
        check(f is not None, "closed")
        if f[0] == SETTINGS and f[1] & ACK:
            return
    raise Fail("the preface's SETTINGS was not acknowledged")


@case("http2", "http2/6.7/1")
def h6_7_1():
    Conn().expect_ping_ack(b"h2spec\0\0")


@case("http2", "http2/6.7/2")
def h6_7_2():
    c = Conn()
    c.send(PING, ACK, 0, b"unknown\0")
    c.expect_ping_ack()  # the unsolicited ACK is not answered; the next PING is


@case("http2", "http2/6.7/3")
def h6_7_3():
    c = Conn()
    c.send(PING, 0, 1, b"\0" * 8)
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.7/4")
def h6_7_4():
    c = Conn()
    c.send(PING, 0, 0, b"\0" * 6)
    c.expect_connection_error([FRAME_SIZE_ERROR])


@case("http2", "http2/6.8/1")
def h6_8_1():
    c = Conn()
    c.send(GOAWAY, 0, 1, struct.pack(">II", 0, NO_ERROR))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.9/1")
def h6_9_1():
    c = Conn()
    c.send(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.9/2")
def h6_9_2():
    c = Conn()
    c.request(1, path="/features/stream", end=False)
    c.send(WINDOW_UPDATE, 0, 1, struct.pack(">I", 0))
    c.expect_stream_error(1, [PROTOCOL_ERROR])


@case("http2", "http2/6.9/3")
def h6_9_3():
    c = Conn()
    c.send(WINDOW_UPDATE, 0, 0, b"\0\0\1")
    c.expect_connection_error([FRAME_SIZE_ERROR])


@case("http2", "http2/6.9.1/2")
def h6_9_1_2():
    c = Conn()
    c.send(WINDOW_UPDATE, 0, 0, struct.pack(">I", 2 ** 31 - 1))
    c.send(WINDOW_UPDATE, 0, 0, struct.pack(">I", 2 ** 31 - 1))
    c.expect_connection_error([FLOW_CONTROL_ERROR])


@case("http2", "http2/6.10/2")
def h6_10_2():
    c = Conn()
    c.request(1)
    c.response(1)
    c.send(CONTINUATION, END_HEADERS, 1, c.headers_block([("x-a", "b")]))
    c.expect_connection_error([PROTOCOL_ERROR])


@case("http2", "http2/6.10/4")
def h6_10_4():
    c = Conn()
    block = c.headers_block([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "localhost")])
    c.send(HEADERS, END_STREAM, 1, block)
    c.send(CONTINUATION, END_HEADERS, 0, b"")
    c.expect_connection_error([PROTOCOL_ERROR])


def bad_request(extra_first=(), extra=(), drop=(), replace=None):
    c = Conn()
    headers = [(":method", "GET"), (":scheme", "https" if ARGS.tls else "http"), (":path", "/hello.txt"),
               (":authority", "localhost")]
    headers = [h for h in headers if h[0] not in drop]
    if replace:
        headers = [(k, replace.get(k, v)) for k, v in headers]
    headers = list(extra_first) + headers + list(extra)
    c.send(HEADERS, END_STREAM | END_HEADERS, 1, c.headers_block(headers))
    c.expect_stream_error(1, [PROTOCOL_ERROR])
    c.expect_ping_ack()  # a stream error only


@case("http2", "http2/8.1/1")
def h8_1_1():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", end=False)
    c.send(DATA, 0, 1, b"test")
    c.send(HEADERS, END_HEADERS, 1, c.headers_block([("x-trailer", "no end stream")]))
    c.expect_stream_error(1, [PROTOCOL_ERROR])


@case("http2", "http2/8.1.2/1")
def h8_1_2_1():
    bad_request(extra=[("X-Uppercase", "test")])


@case("http2", "http2/8.1.2.1/1")
def h8_1_2_1_1():
    bad_request(extra=[(":test", "test")])


@case("http2", "http2/8.1.2.1/3")
def h8_1_2_1_3():
    bad_request(extra=[("x-test", "test"), (":status", "200")])


@case("http2", "http2/8.1.2.1/4")
def h8_1_2_1_4():
    bad_request(extra=[("x-test", "a"), (":path", "/b")])


@case("http2", "http2/8.1.2.2/1")
def h8_1_2_2_1():
    bad_request(extra=[("connection", "keep-alive")])


@case("http2", "http2/8.1.2.2/2")
def h8_1_2_2_2():
    bad_request(extra=[("te", "gzip")])


@case("http2", "http2/8.1.2.3/1")
def h8_1_2_3_1():
    bad_request(replace={":path": ""})


@case("http2", "http2/8.1.2.3/2")
def h8_1_2_3_2():
    bad_request(drop=[":method"])


@case("http2", "http2/8.1.2.3/3")
def h8_1_2_3_3():
    bad_request(drop=[":scheme"])


@case("http2", "http2/8.1.2.3/4")
def h8_1_2_3_4():
    bad_request(drop=[":path"])


@case("http2", "http2/8.1.2.3/5")
def h8_1_2_3_5():
    bad_request(extra=[(":method", "GET")])


@case("http2", "http2/8.1.2.3/6")
def h8_1_2_3_6():
    bad_request(extra=[(":scheme", "http")])


@case("http2", "http2/8.1.2.3/7")
def h8_1_2_3_7():
    bad_request(extra=[(":path", "/")])


@case("http2", "http2/8.1.2.6/1")
def h8_1_2_6_1():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", [("content-length", "1")], end=False)
    c.send(DATA, END_STREAM, 1, b"test")
    c.expect_stream_error(1, [PROTOCOL_ERROR])


@case("http2", "http2/8.1.2.6/2")
def h8_1_2_6_2():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", [("content-length", "8")], end=False)
    c.send(DATA, END_STREAM, 1, b"test")
    c.expect_stream_error(1, [PROTOCOL_ERROR])


@case("http2", "http2/8.2/1")
def h8_2_1():
    c = Conn()
    c.request(1, path="/features/stream", end=False)
    c.send(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + c.headers_block([(":method", "GET")]))
    c.expect_connection_error([PROTOCOL_ERROR])


# ---- hpack (h2spec hpack/*) ---------------------------------------------------------------

def compression_error(block):
    c = Conn()
    c.send(HEADERS, END_STREAM | END_HEADERS, 1, block)
    c.expect_connection_error([COMPRESSION_ERROR])


@case("hpack", "hpack/2.3.3/1")
def hp2_3_3_1():
    compression_error(b"\xfe\x01")  # index 127+1 beyond static + (empty) dynamic table


@case("hpack", "hpack/4.2/1")
def hp4_2_1():
    compression_error(b"\x3f\xe2\x1f" + b"\x82\x86\x84")  # table size update to 4097 > 4096


@case("hpack", "hpack/5.2/1")
def hp5_2_1():
    compression_error(b"\x82\x86\x84\x41\x8f\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")


@case("hpack", "hpack/5.2/2")
def hp5_2_2():
    compression_error(b"\x82\x86\x84\x41\x82\xf1\x00")  # padding of zeros, not the EOS prefix


@case("hpack", "hpack/6.1/1")
def hp6_1_1():
    compression_error(b"\x80")  # index 0


@case("hpack", "hpack/6.3/1")
def hp6_3_1():
    compression_error(b"\x82\x86\x84\x20")  # a size update after a field


# ---- hostile battery in h2 form -----------------------------------------------------------

@case("hostile", "hostile/rapid-reset")
def hostile_rapid_reset():
    c = Conn()
    sid = 1
    try:
        for _ in range(2000):
            c.request(sid, path="/features/stream")
            c.send(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
            sid += 2
    except OSError:
        pass
    c.expect_connection_error([ENHANCE_YOUR_CALM, PROTOCOL_ERROR, INTERNAL_ERROR], timeout=10)
    still_serving()


@case("hostile", "hostile/continuation-flood")
def hostile_continuation_flood():
    c = Conn()
    block = c.headers_block([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "localhost")])
    c.send(HEADERS, END_STREAM, 1, block)
    try:
        for i in range(2000):
            c.send(CONTINUATION, 0, 1, c.headers_block([("x-flood-%d" % i, "a" * 100)]))
    except OSError:
        pass
    c.expect_connection_error([ENHANCE_YOUR_CALM, PROTOCOL_ERROR, COMPRESSION_ERROR, INTERNAL_ERROR], timeout=10)
    still_serving()


@case("hostile", "hostile/hpack-bomb")
def hostile_hpack_bomb():
    c = Conn()
    # A 4000-byte entry in the dynamic table (index 62), then referenced one byte at a time
    # 16000 times: 16 KiB on the wire that decode to 64 MB of header list.
    c.request(1, extra=[("x-bomb", "a" * 4000)])
    check(c.response(1)[0] == 200, "the table-filling request failed")
    c.send(HEADERS, END_STREAM | END_HEADERS, 3, b"\x82\x86\x84\xbf" + b"\xbe" * 16000)
    try:
        status = c.response(3)[0]
        check(status == 431, "the bomb got %s, not 431" % status)
    except Fail as e:
        check("RST_STREAM" in str(e) or "GOAWAY" in str(e), str(e))
    still_serving()


@case("hostile", "hostile/window-update-flood")
def hostile_window_update_flood():
    c = Conn()
    try:
        for _ in range(5000):
            c.send(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1))
    except OSError:
        pass
    c.expect_connection_error([ENHANCE_YOUR_CALM, FLOW_CONTROL_ERROR], timeout=10)
    still_serving()


@case("hostile", "hostile/stream-id-reuse")
def hostile_stream_id_reuse():
    c = Conn()
    c.request(1)
    c.response(1)
    c.request(1)
    c.expect_connection_error([PROTOCOL_ERROR, STREAM_CLOSED])
    still_serving()


@case("hostile", "hostile/settings-flood")
def hostile_settings_flood():
    c = Conn()
    try:
        for _ in range(5000):
            c.send(SETTINGS, 0, 0, settings((3, 100)))
    except OSError:
        pass
    c.expect_connection_error([ENHANCE_YOUR_CALM], timeout=10)
    still_serving()


@case("hostile", "hostile/ping-flood")
def hostile_ping_flood():
    c = Conn()
    try:
        for _ in range(5000):
            c.send(PING, 0, 0, b"\0" * 8)
    except OSError:
        pass
    c.expect_connection_error([ENHANCE_YOUR_CALM], timeout=10)
    still_serving()


@case("hostile", "hostile/empty-data-flood")
def hostile_empty_data_flood():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", end=False)
    try:
        for _ in range(5000):
            c.send(DATA, 0, 1, b"")
    except OSError:
        pass
    c.expect_connection_error([ENHANCE_YOUR_CALM], timeout=10)
    still_serving()


@case("hostile", "hostile/priority-flood")
def hostile_priority_flood():
    c = Conn()
    try:
        for i in range(5000):
            c.send(PRIORITY, 0, 1 + 2 * i, struct.pack(">IB", 0, 15))
    except OSError:
        pass
    c.expect_connection_error([ENHANCE_YOUR_CALM, PROTOCOL_ERROR], timeout=10)
    still_serving()


@case("hostile", "hostile/unknown-frame-flood")
def hostile_unknown_frame_flood():
    # RFC 9113 4.1: frames of unknown types are ignored, so a few (a client's GREASE) pass, but
    # each still costs a read and a parse: a flood of them spends the glitch budget.
    c = Conn()
    try:
        for _ in range(20000):
            c.send(0x42, 0, 0, b"x" * 8)
    except OSError:
        pass
    c.expect_connection_error([ENHANCE_YOUR_CALM], timeout=10)
    still_serving()


# ---- the application over h2 --------------------------------------------------------------

@case("hostile", "hostile/authority-userinfo")
def hostile_authority_userinfo():
    # RFC 9113 8.3.1: no userinfo in :authority; answered 400 as HTTP/1.1's Host is, and so is a
    # Host header (no :authority) that carries one; the connection goes on.
    c = Conn()
    c.request(1, authority="user:pass@localhost")
    check(c.response(1)[0] == 400, "userinfo in :authority was not refused")
    c2 = Conn()
    c2.send(HEADERS, END_STREAM | END_HEADERS, 1,
            c2.headers_block([(":method", "GET"), (":scheme", "https" if ARGS.tls else "http"),
                              (":path", "/hello.txt"), ("host", "evil@localhost")]))
    check(c2.response(1)[0] == 400, "userinfo in Host was not refused")
    c2.request(3)
    check(c2.response(3)[0] == 200, "the connection did not go on after the 400")


@case("app", "app/static-file")
def app_static():
    c = Conn()
    c.request(1, path="/big.txt")
    status, headers, body = c.response(1, timeout=10)
    check(status == 200 and len(body) == int(headers.get("content-length", -1)) and len(body) > 300000,
          "big.txt: %s, %d bytes" % (status, len(body)))


@case("app", "app/head")
def app_head():
    c = Conn()
    c.request(1, "HEAD", "/hello.txt")
    status, headers, body = c.response(1)
    check(status == 200 and headers.get("content-length") == "13" and body == b"", "HEAD: %s %s" % (status, headers))


@case("app", "app/not-found")
def app_not_found():
    c = Conn()
    c.request(1, path="/nothing-here")
    check(c.response(1)[0] == 404, "no 404")


@case("app", "app/manager")
def app_manager():
    c = Conn()
    c.request(1, path="/manager/")
    status, _, body = c.response(1)
    check(status == 200 and b"<html" in body.lower(), "manager: %s" % status)


@case("app", "app/isolated-servlet")
def app_isolated():
    c = Conn()
    c.request(1, "POST", "/features/echo/a?x=1", [("content-type", "text/plain"), ("cookie", "a=1"),
                                                   ("cookie", "b=2")], end=False)
    c.send(DATA, 0, 1, b"hello ")
    c.send(DATA, END_STREAM, 1, b"world")
    status, _, body = c.response(1)
    check(status == 200, "echo: %s" % status)
    check(b"method=POST" in body and b"body=hello world" in body, "echo body: %r" % body[:300])
    check(b"protocol=HTTP/2" in body, "protocol line: %r" % body[:300])


@case("app", "app/streamed")
def app_streamed():
    c = Conn()
    c.request(1, path="/features/stream")
    status, _, body = c.response(1)
    check(status == 200 and b"committed" in body, "stream: %s %r" % (status, body))


@case("app", "app/body-limit")
def app_body_limit():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", [("content-length", str(64 * 1024 * 1024))], end=False)
    status, _, _ = c.response(1)
    check(status == 413, "a 64 MiB body announced: %s" % status)


@case("app", "app/concurrent-streams")
def app_concurrent():
    c = Conn()
    for n in range(100):
        c.request(1 + 2 * n, path="/hello.txt" if n % 2 else "/features/echo/n")
    done = 0
    for n in range(100):
        status, _, _ = c.response(1 + 2 * n, timeout=10)
        check(status == 200, "stream %d: %s" % (1 + 2 * n, status))
        done += 1
    check(done == 100, "%d of 100" % done)


# Per-stream timeouts (issue 16): Http2Test runs the server with headerTimeout and bodyTimeout
# of --stream-timeout ms. A stream whose header block or body stalls is ended on its own; the
# connection and its other streams carry on.
def wait_reset(c, sid, timeout):
    """Reads until RST_STREAM on `sid`; its error code. Fails on GOAWAY or a close."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        f = c.read_tracked()
        check(f is not None, "connection closed before RST_STREAM on stream %d" % sid)
        ftype, flags, fsid, payload = f
        check(ftype != GOAWAY, "GOAWAY instead of a stream error")
        if ftype == RST_STREAM and fsid == sid:
            return struct.unpack(">I", payload)[0]
    raise Fail("no RST_STREAM on stream %d within %ss" % (sid, timeout))


@case("timeouts", "timeouts/header-block-stalls")
def timeouts_header_block():
    c = Conn()
    c.request(1)
    check(c.response(1)[0] == 200, "the first stream failed")
    block = c.headers_block([(":method", "GET"), (":scheme", "https" if ARGS.tls else "http"),
                             (":path", "/hello.txt"), (":authority", "localhost"), ("x-a", "1" * 50)])
    started = time.time()
    c.send(HEADERS, END_STREAM, 3, block[:10])  # no END_HEADERS: a CONTINUATION must follow
    code = wait_reset(c, 3, ARGS.stream_timeout / 1000 * 4)
    check(code == CANCEL, "RST_STREAM %d, expected CANCEL" % code)
    check(time.time() - started >= ARGS.stream_timeout / 1000 * 0.9, "reset before the header timeout")
    c.send(CONTINUATION, END_HEADERS, 3, block[10:])  # the block completes late: ignored
    c.request(5)
    status, _, body = c.response(5)
    check(status == 200 and body == b"Hello, World!", "the connection stopped serving: %s" % status)
    check(3 not in c.streams or c.streams[3][0] is None, "the reset stream was answered")


@case("timeouts", "timeouts/body-stalls")
def timeouts_body():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", [("content-length", "10")], end=False)
    c.send(DATA, 0, 1, b"abc")
    started = time.time()
    c.request(3)  # another stream, served while the first one's body stalls
    status, _, body = c.response(3)
    check(status == 200 and body == b"Hello, World!", "stream 3: %s" % status)
    status, _, _ = c.response(1, timeout=ARGS.stream_timeout / 1000 * 4)
    check(status == 408, "a stalled body got %s, not 408" % status)
    check(time.time() - started >= ARGS.stream_timeout / 1000 * 0.9, "408 before the body timeout")
    c.request(5)
    check(c.response(5)[0] == 200, "the connection stopped serving after the 408")


@case("timeouts", "timeouts/slow-body-within-the-gap")
def timeouts_slow_body():
    c = Conn()
    c.request(1, "POST", "/features/echo/x", [("content-length", "4")], end=False)
    for i, chunk in enumerate([b"t", b"e", b"s", b"t"]):
        time.sleep(ARGS.stream_timeout / 1000 * 0.4)  # the client's pace: each gap below the timeout
        c.send(DATA, END_STREAM if i == 3 else 0, 1, chunk)
    status, _, body = c.response(1)
    check(status == 200 and b"body=test" in body, "a slow but steady body got %s" % status)


@case("timeouts", "limits/unfinished-bodies-held-within-max-buffered-body-size")
def limits_unfinished_bodies():
    # This connector holds at most 256 KiB of request bodies at once (maxBufferedBodySize):
    # streams that announce large bodies and never finish them may not make it hold more. The
    # body that would pass the budget is answered 503 at once; the connection goes on.
    c = Conn()
    chunk = b"b" * 16384
    for sid in (1, 3, 5):
        c.request(sid, "POST", "/features/echo/x", [("content-length", "1000000")], end=False)
        for _ in range(10):  # 160 KiB per stream, within its window and the connection's
            c.send(DATA, 0, sid, chunk)
    statuses = {}
    deadline = time.time() + 5
    while len(statuses) < 2 and time.time() < deadline:
        for sid in (3, 5):
            state = c.streams.get(sid)
            if state and state[0] is not None:
                statuses[sid] = state[0]
        if len(statuses) < 2:
            f = c.read_tracked()
            check(f is not None, "connection closed")
            check(f[0] != GOAWAY, "GOAWAY instead of a 503 on the stream")
    check(statuses.get(3) == 503 and statuses.get(5) == 503,
          "the bodies past the budget were not refused: %s" % statuses)
    check(1 not in c.streams or c.streams[1][0] is None, "the first body, within the budget, was answered")
    c.request(7)
    status, _, body = c.response(7)
    check(status == 200 and body == b"Hello, World!", "the connection stopped serving: %s" % status)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--group", required=True)
    parser.add_argument("--case")
    parser.add_argument("--stream-timeout", type=int, default=1500,
                        help="the server's headerTimeout and bodyTimeout, ms (group timeouts)")
    ARGS = parser.parse_args()
    sys.exit(run(ARGS.group, only=ARGS.case))


if __name__ == "__main__":
    main()
