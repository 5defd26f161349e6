#pragma once
// The table of malformed requests that every HTTP/1.1 front door of Serval must reject, shared
// by the in-process Connector test (tests/connector/ConnectorTest.cpp) and the hostile-client
// test against the real binary (tests/integration/HostileHttpTest.cpp). Each entry is sent on
// a fresh connection with a canary request pipelined behind it; the expected answer is
// `status` with "Connection: close", and the canary must never run.
//
// The limit cases (414, 431, 413) assume the limits in MalformedLimits: a server under test
// must be configured with exactly these.

#include <cstddef>
#include <string>
#include <vector>

namespace serval::test {

/// Connector limits the table below is written against.
struct MalformedLimits
{
    static constexpr size_t maxRequestLineSize = 1024;
    static constexpr size_t maxHeaderSize = 4096;
    static constexpr size_t maxHeaderCount = 20;
    static constexpr size_t maxBodySize = 1024;
};

struct Malformed
{
    const char* name;
    std::string request;
    int status;
};

inline std::vector<Malformed> malformedRequests()
{
    const std::string h = "Host: t\r\n";
    return {
        {"method with bad character", "G@T / HTTP/1.1\r\n" + h + "\r\n", 400},
        {"lower-case method", "get / HTTP/1.1\r\n" + h + "\r\n", 400},
        {"two spaces after method", "GET  / HTTP/1.1\r\n" + h + "\r\n", 400},
        {"two spaces before version", "GET /  HTTP/1.1\r\n" + h + "\r\n", 400},
        {"space in target", "GET /a b HTTP/1.1\r\n" + h + "\r\n", 400},
        {"target without slash", "GET a HTTP/1.1\r\n" + h + "\r\n", 400},
        {"absolute-form target", "GET http://t/ HTTP/1.1\r\n" + h + "\r\n", 400},
        {"asterisk without OPTIONS", "GET * HTTP/1.1\r\n" + h + "\r\n", 400},
        {"CONNECT authority-form", "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n", 501},
        {"fragment in target", "GET /a#b HTTP/1.1\r\n" + h + "\r\n", 400},
        {"control character in target", std::string("GET /a\x01 HTTP/1.1\r\n") + h + "\r\n", 400},
        {"NUL in target", std::string("GET /a\0b HTTP/1.1\r\n", 19) + h + "\r\n", 400},
        {"DEL in target", "GET /a\x7f HTTP/1.1\r\n" + h + "\r\n", 400},
        {"non-ASCII in target", "GET /a\xff HTTP/1.1\r\n" + h + "\r\n", 400},
        {"HTTP/1.2", "GET / HTTP/1.2\r\n" + h + "\r\n", 505},
        {"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", 505},
        {"HTTP/0.9", "GET / HTTP/0.9\r\n" + h + "\r\n", 505},
        {"HTTP/3.0", "GET / HTTP/3.0\r\n" + h + "\r\n", 505},
        {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
        {"bad protocol name", "GET / HTTX/1.1\r\n" + h + "\r\n", 400},
        {"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
        {"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"duplicate Host on 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400},
        {"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        {"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        {"duplicate Content-Length",
         "POST / HTTP/1.1\r\n" + h + "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
        {"signed Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: +1\r\n\r\nx", 400},
        {"negative Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\nx", 400},
        {"listed Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1, 1\r\n\r\nx", 400},
        {"non-numeric Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: abc\r\n\r\n", 400},
        {"Transfer-Encoding and Content-Length",
         "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"Transfer-Encoding on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"Transfer-Encoding gzip only", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", 400},
        {"chunked not last", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
         400},
        {"chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
         400},
        {"unsupported coding before chunked",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
        {"two Transfer-Encoding fields",
         "POST / HTTP/1.1\r\n" + h +
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400},
        {"tab before colon", "GET / HTTP/1.1\r\n" + h + "X-A\t: b\r\n\r\n", 400},
        {"empty field name", "GET / HTTP/1.1\r\n" + h + ": b\r\n\r\n", 400},
        {"obs-fold", "GET / HTTP/1.1\r\n" + h + "X-A: a\r\n b\r\n\r\n", 400},
        {"space before first field", "GET / HTTP/1.1\r\n " + h + "\r\n", 400},
        {"control character in value", "GET / HTTP/1.1\r\n" + h + "X-A: a\x01z\r\n\r\n", 400},
        {"NUL in value", std::string("GET / HTTP/1.1\r\nX-A: a\0z\r\n", 26) + h + "\r\n", 400},
        {"DEL in value", "GET / HTTP/1.1\r\n" + h + "X-A: a\x7fz\r\n\r\n", 400},
        {"bare CR in value", "GET / HTTP/1.1\r\n" + h + "X-A: a\rz\r\n\r\n", 400},
        {"bare LF line ending", "GET / HTTP/1.1\n" + h + "\r\n", 400},
        {"bare LF in fields", "GET / HTTP/1.1\r\nHost: t\n\r\n", 400},
        {"chunk-size overflow",
         "POST / HTTP/1.1\r\n" + h +
             "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n",
         400},
        {"chunk-size not hex",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n", 400},
        {"chunk data without CRLF",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", 400},
        {"request line too long", "GET /" + std::string(1100, 'a') + " HTTP/1.1\r\n" + h + "\r\n", 414},
        {"head too large", "GET / HTTP/1.1\r\n" + h + "X-A: " + std::string(5000, 'b') + "\r\n\r\n", 431},
        {"too many fields",
         [&] {
             std::string r = "GET / HTTP/1.1\r\n" + h;
             for (int i = 0; i < 25; ++i)
                 r += "X-" + std::to_string(i) + ": v\r\n";
             return r + "\r\n";
         }(),
         431},
        {"body too large",
         "POST / HTTP/1.1\r\n" + h + "Content-Length: 2000\r\n\r\n" + std::string(2000, 'x'), 413},
        {"chunked body too large",
         "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(2048, 'x') +
             "\r\n0\r\n\r\n",
         413},
        {"unknown expectation", "POST / HTTP/1.1\r\n" + h + "Expect: teapot\r\nContent-Length: 1\r\n\r\nx",
         417},
    };
}

} // namespace serval::test
