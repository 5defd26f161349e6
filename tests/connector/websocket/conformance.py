#!/usr/bin/python3
"""WebSocket conformance harness: the Autobahn|Testsuite case groups, rebuilt with raw sockets
(exact frames, byte by byte where the case needs it) and Debian's python3-websockets (a real
client for the limits and permessage-deflate groups).

Run by WebSocketConformanceTest against the echo endpoints of WebSocketTestServer.h:
    conformance.py --port PORT --group 1     (groups: 1 2 3 4 5 6 7 9 12 13 hostile)
Each case prints "case <id>: ok" or "case <id>: FAIL <why>"; the exit status is the number of
failed cases (0: the group passes). Case ids follow Autobahn's numbering where one exists.
"""
import argparse
import asyncio
import os
import socket
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from casebook import Fail, case, check, run  # noqa: E402  (tests/support/casebook.py)


# ---- raw client -------------------------------------------------------------------------

class Raw:
    """One connection to an endpoint after a hand-made handshake."""

    def __init__(self, port, path="/ws/echo", extra=""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   f"Sec-WebSocket-Version: 13\r\n{extra}\r\n")
        self.sock.sendall(request.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            check(chunk, "closed during the handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.head = head.decode("latin-1")
        check(self.head.startswith("HTTP/1.1 101"), "no 101: " + self.head.splitlines()[0])

    def send(self, op, payload=b"", fin=True, rsv=0, mask=True, chunk=None):
        self.sock_send(frame(op, payload, fin, rsv, mask), chunk)

    def sock_send(self, data, chunk=None):
        try:
            if chunk is None:
                self.sock.sendall(data)
            else:
                for i in range(0, len(data), chunk):
                    self.sock.sendall(data[i:i + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may already have failed the connection: the reply tells

    def _read(self, n):
        while len(self.buf) < n:
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """(fin, rsv, opcode, payload) of the next server frame, or None at EOF."""
        h = self._read(2)
        if h is None:
            return None
        fin, rsv, op = h[0] >> 7, (h[0] >> 4) & 7, h[0] & 15
        check(not h[1] & 0x80, "the server masked a frame")
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        payload = self._read(n) if n else b""
        check(payload is not None, "EOF inside a frame")
        return fin, rsv, op, payload

    def expect(self, op, payload):
        f = self.recv()
        check(f is not None, f"EOF, expected opcode {op}")
        check(f[2] == op, f"opcode {f[2]}, expected {op}")
        check(f[3] == payload, f"payload of {len(f[3])} bytes differs from the {len(payload)} expected")

    def expect_close(self, codes):
        """The server's close frame (code in `codes`; None = no code), then EOF."""
        f = self.recv()
        check(f is not None, "EOF without a close frame")
        check(f[2] == 8, f"opcode {f[2]} instead of close")
        code = struct.unpack("!H", f[3][:2])[0] if len(f[3]) >= 2 else None
        check(code in codes, f"close code {code}, expected {codes}")
        if len(f[3]) > 2:
            f[3][2:].decode("utf-8")
        self.expect_eof()

    def expect_eof(self):
        while True:
            f = self.recv()
            if f is None:
                return
            check(f[2] != 8, "a second close frame")

    def close_normally(self):
        self.send(8, struct.pack("!H", 1000))
        self.expect_close({1000})


def frame(op, payload=b"", fin=True, rsv=0, mask=True):
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | op])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + xor(payload, key)


def xor(data, key):
    if not data:
        return b""
    k = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(len(data), "big")


PROTOCOL_ERROR = {1002}


# ---- 1 framing ---------------------------------------------------------------------------

def echo_case(port, op, size, chunk=None):
    c = Raw(port)
    payload = (b"*" * size)
    c.send(op, payload, chunk=chunk)
    c.expect(op, payload)
    c.close_normally()


for i, size in enumerate([0, 125, 126, 127, 128, 65535, 65536], 1):
    case(1, f"1.1.{i}")(lambda port, s=size: echo_case(port, 1, s))
    case(1, f"1.2.{i}")(lambda port, s=size: echo_case(port, 2, s))
case(1, "1.1.8")(lambda port: echo_case(port, 1, 65536, chunk=997))
case(1, "1.2.8")(lambda port: echo_case(port, 2, 65536, chunk=997))


# ---- 2 ping/pong -------------------------------------------------------------------------

def ping_case(port, payload, chunk=None):
    c = Raw(port)
    c.send(9, payload, chunk=chunk)
    c.expect(10, payload)
    c.close_normally()


case(2, "2.1")(lambda port: ping_case(port, b""))
case(2, "2.2")(lambda port: ping_case(port, b"Hello, world!"))
case(2, "2.3")(lambda port: ping_case(port, bytes([0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0, 0xff])))
case(2, "2.4")(lambda port: ping_case(port, b"*" * 125))
case(2, "2.6")(lambda port: ping_case(port, b"*" * 125, chunk=1))


@case(2, "2.5")
def _(port):
    c = Raw(port)
    c.send(9, b"*" * 126)
    c.expect_close(PROTOCOL_ERROR)


@case(2, "2.7-2.9")
def _(port):
    c = Raw(port)
    c.send(10, b"")                      # unsolicited pongs: no answer
    c.send(10, b"unsolicited pong payload")
    c.send(9, b"ping payload")
    c.expect(10, b"ping payload")
    c.close_normally()


@case(2, "2.10-2.11")
def _(port):
    for chunk in (None, 1):
        c = Raw(port)
        for i in range(10):
            c.send(9, f"payload-{i}".encode(), chunk=chunk)
        for i in range(10):
            c.expect(10, f"payload-{i}".encode())
        c.close_normally()


# ---- 3 reserved bits ---------------------------------------------------------------------

@case(3, "3.1")
def _(port):
    c = Raw(port, "/ws/nodeflate")
    c.send(1, b"Hello, world!", rsv=4)
    c.expect_close(PROTOCOL_ERROR)


def rsv_after_echo(port, op, rsv, payload=b"Hello, world!"):
    c = Raw(port, "/ws/nodeflate")
    c.send(1, b"Hello, world!")
    c.send(op, payload, rsv=rsv)
    c.send(9, b"")
    c.expect(1, b"Hello, world!")
    c.expect_close(PROTOCOL_ERROR)


case(3, "3.2")(lambda port: rsv_after_echo(port, 1, 2))
case(3, "3.3")(lambda port: rsv_after_echo(port, 1, 3))
case(3, "3.4")(lambda port: rsv_after_echo(port, 1, 4))
case(3, "3.5")(lambda port: rsv_after_echo(port, 2, 5, bytes(range(8))))
case(3, "3.6")(lambda port: rsv_after_echo(port, 9, 6))
case(3, "3.7")(lambda port: rsv_after_echo(port, 8, 7, struct.pack("!H", 1000)))


# ---- 4 opcodes ---------------------------------------------------------------------------

def reserved_opcode(port, op, payload=b""):
    c = Raw(port)
    c.send(1, b"Hello, world!")
    c.send(op, payload)
    c.send(9, b"")
    c.expect(1, b"Hello, world!")
    c.expect_close(PROTOCOL_ERROR)


for i, op in enumerate([3, 4, 5, 6, 7], 1):
    case(4, f"4.1.{i}")(lambda port, o=op: reserved_opcode(port, o, b"reserved" if o % 2 == 0 else b""))
for i, op in enumerate([11, 12, 13, 14, 15], 1):
    case(4, f"4.2.{i}")(lambda port, o=op: reserved_opcode(port, o, b"reserved" if o % 2 == 0 else b""))


# ---- 5 fragmentation ---------------------------------------------------------------------

@case(5, "5.1-5.2")
def _(port):
    for op in (9, 10):
        c = Raw(port)
        c.send(op, b"fragment1", fin=False)
        c.send(0, b"fragment2")
        c.expect_close(PROTOCOL_ERROR)


@case(5, "5.3-5.5")
def _(port):
    for chunk in (None, 1):
        c = Raw(port)
        c.send(1, b"fragment1", fin=False, chunk=chunk)
        c.send(0, b"fragment2", chunk=chunk)
        c.expect(1, b"fragment1fragment2")
        c.close_normally()


@case(5, "5.6-5.8")
def _(port):
    for chunk in (None, 1):
        c = Raw(port)
        c.send(1, b"fragment1", fin=False, chunk=chunk)
        c.send(9, b"ping payload", chunk=chunk)
        c.send(0, b"fragment2", chunk=chunk)
        c.expect(10, b"ping payload")
        c.expect(1, b"fragment1fragment2")
        c.close_normally()


@case(5, "5.9-5.14")
def _(port):
    for fin in (True, False):
        c = Raw(port)
        c.send(0, b"non-continuation payload", fin=fin)
        c.send(1, b"Hello, world!")
        c.expect_close(PROTOCOL_ERROR)


@case(5, "5.15")
def _(port):
    c = Raw(port)
    c.send(1, b"fragment1", fin=False)
    c.send(0, b"fragment2", fin=True)
    c.send(0, b"fragment3", fin=False)
    c.send(1, b"fragment4", fin=True)
    c.expect(1, b"fragment1fragment2")
    c.expect_close(PROTOCOL_ERROR)


@case(5, "5.16-5.18")
def _(port):
    c = Raw(port)
    c.send(1, b"fragment1", fin=False)
    c.send(1, b"fragment2", fin=True)
    c.expect_close(PROTOCOL_ERROR)


@case(5, "5.19-5.20")
def _(port):
    c = Raw(port)
    for i in range(1, 6):
        c.send(1 if i == 1 else 0, f"fragment{i}".encode(), fin=i == 5)
        c.send(9, f"pongme {i}!".encode())
    for i in range(1, 5):
        c.expect(10, f"pongme {i}!".encode())
    c.expect(1, b"fragment1fragment2fragment3fragment4fragment5")  # the last fragment came before ping 5
    c.expect(10, b"pongme 5!")
    c.close_normally()


# ---- 6 UTF-8 -----------------------------------------------------------------------------

@case(6, "6.1")
def _(port):
    c = Raw(port)
    c.send(1, b"")
    c.expect(1, b"")
    c.send(1, b"", fin=False)
    c.send(0, b"", fin=False)
    c.send(0, b"")
    c.expect(1, b"")
    c.close_normally()


VALID = ["Hello-µ@ßöäüàá-UTF-8!!", "κόσμε", "\u0080", "\u0800", "\U00010000", "\u007f", "\u07ff",
         "\uffff", "\U0010ffff", "\ud7ff", "\ue000", "\ufffd"]
INVALID = [b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
           b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80", b"\xf4\x90\x80\x80", b"\x80",
           b"\xbf", b"\x80\xbf\x80", b"\xc0 ", b"\xe0\x80 ", b"\xfe", b"\xff", b"\xc0\xaf",
           b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
           b"\xed\xa0\x80\xed\xb0\x80", b"\xce", b"\xe1\xbd", b"\xf0\x90\x80"]


@case(6, "6.2-6.2.4 (valid, split at every byte)")
def _(port):
    text = "Hello-µ@ßöäüàá-UTF-8!! κόσμε \U0001d11e".encode()
    c = Raw(port)
    for i in range(len(text)):
        c.send(1, text[i:i + 1], fin=False) if i == 0 else c.send(0, text[i:i + 1], fin=i == len(text) - 1)
    c.expect(1, text)
    c.close_normally()


@case(6, "6.5-6.23 (valid sequences)")
def _(port):
    c = Raw(port)
    for text in VALID:
        c.send(1, text.encode())
        c.expect(1, text.encode())
    c.close_normally()


@case(6, "6.3-6.23 (invalid sequences)")
def _(port):
    for data in INVALID:
        for fragmented in (False, True):
            c = Raw(port)
            if fragmented:
                for i in range(len(data)):
                    c.send(1 if i == 0 else 0, data[i:i + 1], fin=i == len(data) - 1)
            else:
                c.send(1, data)
            c.expect_close({1007})


@case(6, "6.4 (fail fast)")
def _(port):
    c = Raw(port)
    c.send(1, "κόσμε".encode(), fin=False)
    c.send(0, b"\xf4\x90\x80\x80", fin=False)   # invalid: the server fails now, mid-message
    c.expect_close({1007})


# ---- 7 close -----------------------------------------------------------------------------

@case(7, "7.1.1-7.1.4")
def _(port):
    c = Raw(port)
    c.send(1, b"Hello World!")
    c.expect(1, b"Hello World!")
    c.send(8, struct.pack("!H", 1000))
    c.send(8, struct.pack("!H", 1000))  # 7.1.2: a second close is ignored
    c.send(9, b"")                      # 7.1.3: so is a ping after it
    c.send(1, b"after close")           # 7.1.4: and data
    c.expect_close({1000})


@case(7, "7.1.5-7.1.6")
def _(port):
    c = Raw(port)
    c.send(1, b"fragment1", fin=False)
    c.send(8, struct.pack("!H", 1000))
    c.send(0, b"fragment2")
    c.expect_close({1000})
    c = Raw(port)
    c.send(1, b"BAsd7&jh23" * 26214)
    c.send(8, struct.pack("!H", 1000))
    c.send(9, b"")
    c.expect(1, b"BAsd7&jh23" * 26214)
    c.expect_close({1000})


@case(7, "7.3.1-7.3.6")
def _(port):
    c = Raw(port)
    c.send(8, b"")
    c.expect_close({None, 1000})
    c = Raw(port)
    c.send(8, b"a")
    c.expect_close(PROTOCOL_ERROR)
    for reason in (b"", b"Hello World!", b"*" * 123):
        c = Raw(port)
        c.send(8, struct.pack("!H", 1000) + reason)
        c.expect_close({1000})
    c = Raw(port)
    c.send(8, struct.pack("!H", 1000) + b"*" * 124)
    c.expect_close(PROTOCOL_ERROR)


@case(7, "7.5.1")
def _(port):
    c = Raw(port)
    c.send(8, struct.pack("!H", 1000) + b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")
    c.expect_close({1007})


@case(7, "7.7.1-7.7.13")
def _(port):
    for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999):
        c = Raw(port)
        c.send(8, struct.pack("!H", code))
        c.expect_close({code})


@case(7, "7.9.1-7.9.13")
def _(port):
    for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
        c = Raw(port)
        c.send(8, struct.pack("!H", code))
        c.expect_close(PROTOCOL_ERROR)


@case(7, "7.13 server-initiated close")
def _(port):
    c = Raw(port)
    c.send(1, b"close")
    f = c.recv()
    check(f is not None and f[2] == 8 and struct.unpack("!H", f[3][:2])[0] == 1000, "no close 1000")
    c.send(8, struct.pack("!H", 1000))
    c.expect_eof()


# ---- 9 limits (a real client: python3-websockets) ----------------------------------------

def run_async(coroutine):
    return asyncio.new_event_loop().run_until_complete(coroutine)


async def echo_with_client(port, messages, path="/ws/echo", **kwargs):
    import websockets
    async with websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=None, **kwargs) as ws:
        for m in messages:
            await ws.send(m)
            got = await ws.recv()
            check(got == m, f"echo of a {len(m)}-byte message differs")
        return ws


for i, size in enumerate([65536, 262144, 1 << 20, 4 << 20, 8 << 20, 16 << 20], 1):
    case(9, f"9.1.{i}")(lambda port, s=size: run_async(echo_with_client(port, ["*" * s], compression=None)))
    case(9, f"9.2.{i}")(lambda port, s=size: run_async(echo_with_client(port, [b"\xfe" * s], compression=None)))


def fragmented_echo(port, op, size, fragment):
    c = Raw(port)
    payload = (b"*" if op == 1 else b"\xfe") * size
    wire = b"".join(frame(op if i == 0 else 0, payload[i:i + fragment], fin=i + fragment >= size)
                    for i in range(0, size, fragment))
    c.sock_send(wire)
    c.expect(op, payload)
    c.close_normally()


for i, fragment in enumerate([64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20, 4 << 20], 1):
    case(9, f"9.3.{i}")(lambda port, f=fragment: fragmented_echo(port, 1, 4 << 20, f))
    case(9, f"9.4.{i}")(lambda port, f=fragment: fragmented_echo(port, 2, 4 << 20, f))
for i, chop in enumerate([64, 128, 256, 512, 1024, 2048], 1):
    case(9, f"9.5.{i}")(lambda port, ch=chop: echo_case(port, 1, 1 << 20, chunk=ch))
    case(9, f"9.6.{i}")(lambda port, ch=chop: echo_case(port, 2, 1 << 20, chunk=ch))


@case(9, "9.7-9.8 (1000 round trips)")
def _(port):
    for op in (1, 2):
        c = Raw(port)
        for _ in range(1000):
            c.send(op, b"*" * 16)
            c.expect(op, b"*" * 16)
        c.close_normally()


@case(9, "limit: a message over the endpoint's limit gets 1009")
def _(port):
    c = Raw(port, "/ws/small")
    c.send(2, b"x" * 2048)
    c.expect_close({1009})


# ---- 12 / 13 permessage-deflate ----------------------------------------------------------

def deflate_factory(**params):
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    return ClientPerMessageDeflateFactory(**params)


def payloads():
    import random
    rnd = random.Random(15)
    words = ["serval", "tomcat", "socket", "frame", "deflate", "message", "κόσμε"]
    for size in (16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072):
        text = " ".join(rnd.choice(words) for _ in range(size // 6 + 1))[:size]
        yield text
        yield bytes(rnd.getrandbits(8) for _ in range(min(size, 4096))) * (max(size, 4096) // 4096)


async def deflate_echo(port, factory, path="/ws/echo"):
    import websockets
    async with websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=None,
                                  extensions=[factory]) as ws:
        check(ws.response_headers.get("Sec-WebSocket-Extensions", "").startswith("permessage-deflate"),
              "permessage-deflate not negotiated")
        for m in payloads():
            for _ in range(2):  # the second round trip uses the kept context
                await ws.send(m)
                got = await ws.recv()
                check(got == m, f"compressed echo of {len(m)} bytes differs")


@case(12, "12.1-12.5 (texts and binaries, 16 B to 128 KiB, context takeover)")
def _(port):
    run_async(deflate_echo(port, deflate_factory()))


@case(12, "12.x (server without context takeover)")
def _(port):
    run_async(deflate_echo(port, deflate_factory(), path="/ws/notakeover"))


@case(12, "RSV1 on a continuation frame is a protocol error")
def _(port):
    c = Raw(port, extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
    body = zlib.compressobj(wbits=-15)
    data = body.compress(b"Hello") + body.flush(zlib.Z_SYNC_FLUSH)
    c.send(1, data[:-4], fin=False, rsv=4)
    c.send(0, b"", rsv=4)
    c.expect_close(PROTOCOL_ERROR)


PARAMS_13 = [
    ("13.1", {}),
    ("13.2", {"client_no_context_takeover": True}),
    ("13.3", {"client_max_window_bits": 9}),
    ("13.4", {"client_max_window_bits": 15}),
    ("13.5", {"server_max_window_bits": 9}),
    ("13.6", {"server_max_window_bits": 15}),
    ("13.7", {"server_no_context_takeover": True, "client_no_context_takeover": True,
              "server_max_window_bits": 10, "client_max_window_bits": 10}),
]
for cid, params in PARAMS_13:
    case(13, cid)(lambda port, p=params: run_async(deflate_echo(port, deflate_factory(**p))))


@case(13, "13.x (server_max_window_bits=8 is declined, the connection goes on uncompressed)")
def _(port):
    c = Raw(port, extra="Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n")
    check("sec-websocket-extensions" not in c.head.lower(), "accepted a window zlib cannot make")
    c.send(1, b"plain")
    c.expect(1, b"plain")
    c.close_normally()


# ---- hostile clients ---------------------------------------------------------------------

@case("hostile", "unmasked frame")
def _(port):
    c = Raw(port)
    c.send(1, b"unmasked", mask=False)
    c.expect_close(PROTOCOL_ERROR)


@case("hostile", "huge length")
def _(port):
    c = Raw(port)
    c.sock_send(bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 62) + os.urandom(4) + b"x" * 100)
    c.expect_close({1009})


@case("hostile", "compression bomb")
def _(port):
    c = Raw(port, "/ws/small", extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
    body = zlib.compressobj(wbits=-15)
    bomb = body.compress(b"\0" * (64 << 20)) + body.flush(zlib.Z_SYNC_FLUSH)
    c.send(2, bomb[:900], rsv=4)   # under the frame limit; inflates far past the message limit
    c.expect_close({1009})


@case("hostile", "fragmented control frame")
def _(port):
    c = Raw(port)
    c.send(8, b"", fin=False)
    c.expect_close(PROTOCOL_ERROR)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--group", required=True)
    args = parser.parse_args()
    group = int(args.group) if args.group.isdigit() else args.group
    return run(group, lambda fn: fn(args.port))


if __name__ == "__main__":
    sys.exit(main())
