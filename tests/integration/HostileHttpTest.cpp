// Hostile HTTP/1.1 clients against the real `serval` binary (issue 2, "Tests"): malformed
// requests with a canary pipelined behind each (whole and one byte per write), request
// smuggling pairs, 200 header tricklers, a client that never reads, an idle keep-alive
// connection, and a fuzz smoke test of 2,000 mutated requests.
//
// Whether a canary ran is read from the access log (logs/access.log under the temp base): the
// AccessLog valve writes every dispatched request there and flushes on exit, so each test
// stops the server (SIGTERM, exit 0) before reading it. In the ASan/UBSan build a sanitizer
// report from the child fails the test (tests/support/ServalProcess).
#include "connector/MalformedRequests.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <random>
#include <sys/socket.h>
#include <unistd.h>

namespace serval::test {
namespace {

using namespace std::chrono_literals;

/// Size of webapps/ROOT/large.bin: far more than the socket buffers of a client that never reads.
constexpr off_t kLargeFileSize = 64 << 20;

/// A temp base (conf/server.xml with the given <Connector> attributes, conf/web.xml from the
/// repository, webapps/ROOT with index.html and a sparse large.bin) and a serval running on it.
class HostileServer
{
public:
    explicit HostileServer(const std::string& connectorAttributes = "")
    {
        std::string limits = " maxRequestLineSize=\"" + std::to_string(MalformedLimits::maxRequestLineSize) +
                             "\" maxHeaderSize=\"" + std::to_string(MalformedLimits::maxHeaderSize) +
                             "\" maxHeaderCount=\"" + std::to_string(MalformedLimits::maxHeaderCount) +
                             "\" maxBodySize=\"" + std::to_string(MalformedLimits::maxBodySize) + "\"";
        _base.write("conf/server.xml",
                    "<Server accessLog=\"logs/access.log\" logFile=\"logs/serval.log\">\n"
                    "  <Connector address=\"127.0.0.1\" port=\"8080\"" +
                        limits + " " + connectorAttributes +
                        "/>\n"
                        "  <Engine defaultHost=\"localhost\">\n"
                        "    <Host name=\"localhost\" appBase=\"webapps\" autoDeploy=\"false\"/>\n"
                        "  </Engine>\n"
                        "</Server>\n");
        _base.write("conf/web.xml", readFile(env("SERVAL_SOURCE", SERVAL_SOURCE_DIR) + "/conf/web.xml"));
        _base.write("webapps/ROOT/index.html", "hostile clients welcome\n");
        std::string large = _base.file("webapps/ROOT/large.bin");
        int fd = ::open(large.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd >= 0) {
            if (::ftruncate(fd, kLargeFileSize) != 0) ::unlink(large.c_str());
            ::close(fd);
        }
        _process = std::make_unique<ServalProcess>(_base.path());
    }

    /// Starts serval; false with a message in error() when it did not come up.
    bool start() { return _process->start(); }
    const std::string& error() const { return _process->error(); }
    uint16_t port() const { return _process->port(); }
    int pid() const { return _process->pid(); }
    std::string log() const { return _process->log(); }

    std::unique_ptr<RawConnection> connect() const
    {
        auto c = std::make_unique<RawConnection>();
        EXPECT_TRUE(c->connect("127.0.0.1", port()));
        return c;
    }

    /// SIGTERM; asserts exit 0 (ServalProcess fails the test on a sanitizer report), then returns
    /// the flushed access log.
    std::string stopAndReadAccessLog()
    {
        int status = _process->stop();
        EXPECT_EQ(status, 0) << "serval did not stop cleanly:\n" << tail(_process->log());
        return readFile(_base.file("logs/access.log"));
    }

    /// The number after `name{...}` in /metrics, or -1.
    long metric(const std::string& name) const
    {
        HttpReply reply = httpGet(port(), "/metrics");
        if (reply.status != 200) return -1;
        size_t at = reply.body.find("\n" + name + "{");
        if (at == std::string::npos) return -1;
        size_t space = reply.body.find("} ", at);
        if (space == std::string::npos) return -1;
        return std::strtol(reply.body.c_str() + space + 2, nullptr, 10);
    }

    static std::string tail(const std::string& text)
    {
        return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
    }

private:
    TempDir _base;
    std::unique_ptr<ServalProcess> _process;
};

/// True if the access log holds a line for `GET <target> HTTP/1.x`.
bool executed(const std::string& accessLog, const std::string& target)
{
    return accessLog.find("\"GET " + target + " HTTP/1.") != std::string::npos;
}

std::string get(const std::string& target, const std::string& extra = "")
{
    return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

// ---------------------------------------------------------------------------------------------
// Malformed requests: the shared table, each with a canary behind it.

/// Sends `m` and `GET /canary-<id>` on one connection, whole or one byte per write; expects
/// m.status, "Connection: close" and the close. Whether the canary ran is checked later from
/// the access log.
void expectRejected(HostileServer& server, const Malformed& m, const std::string& canaryTarget, bool bytewise)
{
    auto c = server.connect();
    const std::string bytes = m.request + get(canaryTarget);
    if (bytewise)
        c->sendBytewise(bytes); // fails once the server has answered and closed: fine
    else
        c->send(bytes);
    auto reply = c->readResponse();
    ASSERT_TRUE(reply) << m.name;
    EXPECT_EQ(reply->status, m.status) << m.name;
    EXPECT_EQ(reply->header("Connection"), "close") << m.name;
    EXPECT_TRUE(c->waitClosed()) << m.name;
}

void runMalformedTable(bool bytewise)
{
    HostileServer server;
    ASSERT_TRUE(server.start()) << server.error();
    // Control: a canary behind a valid request runs, so the check below can fail.
    {
        auto c = server.connect();
        ASSERT_TRUE(c->send(get("/index.html") + get("/canary-control")));
        auto first = c->readResponse();
        ASSERT_TRUE(first);
        EXPECT_EQ(first->status, 200);
        EXPECT_EQ(first->body, "hostile clients welcome\n");
        auto second = c->readResponse();
        ASSERT_TRUE(second);
        EXPECT_EQ(second->status, 404);
    }
    const auto table = malformedRequests();
    for (size_t i = 0; i < table.size(); ++i)
        expectRejected(server, table[i], "/canary-" + std::to_string(i), bytewise);
    // The server is still healthy.
    EXPECT_EQ(httpGet(server.port(), "/index.html").status, 200);

    std::string log = server.stopAndReadAccessLog();
    EXPECT_TRUE(executed(log, "/canary-control")) << log;
    for (size_t i = 0; i < table.size(); ++i)
        EXPECT_FALSE(executed(log, "/canary-" + std::to_string(i)))
            << table[i].name << ": the canary behind it ran";
}

TEST(HostileHttpTest, MalformedRequestsAreRejectedAndTheCanaryBehindNeverRuns)
{
    runMalformedTable(false);
}

TEST(HostileHttpTest, MalformedRequestsSentOneByteAtATimeAreRejectedAndTheCanaryBehindNeverRuns)
{
    runMalformedTable(true);
}

// ---------------------------------------------------------------------------------------------
// Request smuggling: framing that two parsers could read differently. Each request carries a
// smuggled `GET /smuggled-<n>` that only a wrong reading of the framing would execute.

struct SmugglingCase
{
    std::string name;
    std::string head;   ///< request line and fields up to (not including) the blank line
    std::string body;   ///< what follows the blank line, before the smuggled request
    int status;         ///< expected answer to the outer request
    bool closes = true; ///< the answer says "Connection: close" and the server closes
};

std::vector<SmugglingCase> smugglingCases()
{
    const std::string post = "POST /index.html HTTP/1.1\r\nHost: localhost\r\n";
    const std::string zero = "0\r\n\r\n";
    const std::string chunked = post + "Transfer-Encoding: chunked\r\n";
    // With Content-Length covering everything ("@" is replaced by the length of the body and the
    // smuggled request), a CL reader sees one request; a TE reader ends the body at "0\r\n\r\n"
    // and runs what follows.
    auto clte = [&](const std::string& name, const std::string& teField, int status = 400) {
        return SmugglingCase{name, post + "Content-Length: @\r\n" + teField + "\r\n", zero, status,
                             status == 400};
    };
    return {
        // CL.TE and TE.CL: both framings present is always refused.
        clte("CL.TE", "Transfer-Encoding: chunked"),
        {"TE.CL", chunked + "Content-Length: 3\r\n", "40\r\n", 400},
        // TE.TE: a Transfer-Encoding one parser honours and another ignores.
        clte("TE.TE chunked then x", "Transfer-Encoding: chunked\r\nTransfer-Encoding: x"),
        clte("TE.TE x then chunked", "Transfer-Encoding: x\r\nTransfer-Encoding: chunked"),
        clte("TE.TE space before colon", "Transfer-Encoding : chunked"),
        clte("TE.TE vertical tab", "Transfer-Encoding:\x0b"
                                   "chunked"),
        clte("TE.TE quoted", "Transfer-Encoding: \"chunked\""),
        clte("TE.TE xchunked", "Transfer-Encoding: xchunked"),
        clte("TE.TE chunked, identity", "Transfer-Encoding: chunked, identity"),
        clte("TE.TE identity, chunked", "Transfer-Encoding: identity, chunked"),
        clte("TE.TE folded into another field", "X-Pad: a\r\n Transfer-Encoding: chunked"),
        clte("TE.TE name and value on two lines", "Transfer-Encoding\r\n : chunked"),
        clte("TE.TE control character", "Transfer-Encoding: chunked\x01"),
        // Not Transfer-Encoding at all: an ordinary field, so Content-Length frames the request and
        // the smuggled bytes are its body (static files answer POST with 405).
        clte("TE.TE underscore", "Transfer_Encoding: chunked", 405),
        // CL.CL: two readings of the length.
        {"CL.CL two fields", post + "Content-Length: 0\r\nContent-Length: 5\r\n", "", 400},
        {"CL.CL list", post + "Content-Length: 0, 5\r\n", "", 400},
        {"CL hex", post + "Content-Length: 0x5\r\n", "", 400},
        {"CL vertical tab",
         post + "Content-Length:\x0b"
                "5\r\n",
         "abcde", 400},
        // Chunked framing a lenient parser would end early.
        {"chunk size with bare LF", chunked, "5\nhello\r\n" + zero, 400},
        {"chunk extension with bare LF", chunked, "5;a\nb\r\nhello\r\n" + zero, 400},
        {"chunk data with bare LF", chunked, "5\r\nhello\n" + zero, 400},
        {"chunk size with leading space", chunked, " 5\r\nhello\r\n" + zero, 400},
        {"chunk size 0x5", chunked, "0x5\r\nhello\r\n" + zero, 400},
        {"chunk longer than its size", chunked, "1\r\nxy" + zero, 400},
        {"trailer with bare LF", chunked, "0\r\nX-Trailer: a\nb\r\n\r\n", 400},
        // A request line that hides a second one.
        {"bare CR in request line", "GET /index.html\rGET /x HTTP/1.1\r\nHost: localhost\r\n", "", 400},
        {"bare LF after request line", "GET /index.html HTTP/1.1\nHost: localhost\r\n", "", 400},
        // HTTP/1.0 with Transfer-Encoding: a 1.0 peer ignores TE and reads until close.
        {"HTTP/1.0 with chunked", "POST /index.html HTTP/1.0\r\nTransfer-Encoding: chunked\r\n", zero, 400},
    };
}

TEST(HostileHttpTest, SmuggledRequestsAreNeverExecuted)
{
    HostileServer server;
    ASSERT_TRUE(server.start()) << server.error();
    const auto cases = smugglingCases();
    for (bool bytewise : {false, true}) {
        for (size_t i = 0; i < cases.size(); ++i) {
            const SmugglingCase& s = cases[i];
            const std::string id = std::to_string(i) + (bytewise ? "-b" : "");
            const std::string smuggled = "GET /smuggled-" + id + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
            std::string head = s.head;
            if (size_t at = head.find("Content-Length: @"); at != std::string::npos)
                head.replace(at + 16, 1, std::to_string(s.body.size() + smuggled.size()));
            const std::string bytes = head + "\r\n" + s.body + smuggled;
            auto c = server.connect();
            if (bytewise)
                c->sendBytewise(bytes);
            else
                c->send(bytes);
            auto reply = c->readResponse();
            ASSERT_TRUE(reply) << s.name;
            EXPECT_EQ(reply->status, s.status) << s.name;
            if (s.closes) {
                EXPECT_EQ(reply->header("Connection"), "close") << s.name;
                EXPECT_TRUE(c->waitClosed()) << s.name;
            } else {
                EXPECT_EQ(reply->header("Connection"), "keep-alive") << s.name;
            }
        }
    }
    // Control: the same bytes framed by Content-Length alone are a body, not a request, and the
    // request after the body runs.
    {
        const std::string body = "0\r\n\r\nGET /smuggled-control HTTP/1.1\r\nHost: localhost\r\n\r\n";
        auto c = server.connect();
        ASSERT_TRUE(c->send("POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body + get("/after-control")));
        auto first = c->readResponse();
        ASSERT_TRUE(first);
        EXPECT_NE(first->header("Connection"), "close");
        auto second = c->readResponse();
        ASSERT_TRUE(second);
        EXPECT_EQ(second->status, 404);
    }
    std::string log = server.stopAndReadAccessLog();
    EXPECT_TRUE(executed(log, "/after-control")) << log;
    EXPECT_FALSE(executed(log, "/smuggled-control")) << log;
    for (bool bytewise : {false, true})
        for (size_t i = 0; i < cases.size(); ++i)
            EXPECT_FALSE(executed(log, "/smuggled-" + std::to_string(i) + (bytewise ? "-b" : "")))
                << cases[i].name << (bytewise ? " (bytewise)" : "") << ": the smuggled request ran";
}

// ---------------------------------------------------------------------------------------------
// Slow and idle clients.

TEST(HostileHttpTest, TwoHundredHeaderTricklersDoNotHoldUpANormalClientAndAreTimedOut)
{
    // One I/O thread: the tricklers share the loop with the normal client.
    HostileServer server("ioThreads=\"1\" headerTimeout=\"1500\"");
    ASSERT_TRUE(server.start()) << server.error();
    const std::string head = "GET /index.html HTTP/1.1\r\nHost: localhost\r\nX-Padding: ";
    std::vector<std::unique_ptr<RawConnection>> slow;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) {
        slow.push_back(server.connect());
        ASSERT_TRUE(slow.back()->send("G"));
    }
    // Trickle one more byte on every connection per round, with a normal request between rounds,
    // until the header timeout has closed them (or the deadline says it never will).
    size_t byte = 1;
    int served = 0;
    auto tricklersOpen = [&] {
        bool any = false;
        for (auto& s : slow) {
            std::string next = byte < head.size() ? head.substr(byte, 1) : std::string("a");
            if (s->send(next)) any = true;
        }
        ++byte;
        return any;
    };
    bool stillTrickling = true;
    while (stillTrickling && std::chrono::steady_clock::now() - start < 10s) {
        stillTrickling = tricklersOpen();
        auto before = std::chrono::steady_clock::now();
        HttpReply reply = httpGet(server.port(), "/index.html");
        EXPECT_EQ(reply.status, 200);
        EXPECT_LT(std::chrono::steady_clock::now() - before, 1s)
            << "a normal request waited behind the tricklers";
        ++served;
        if (::testing::Test::HasFailure()) break;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(stillTrickling) << "tricklers were not closed by headerTimeout within 10 s";
    EXPECT_GE(elapsed, 1400ms) << "tricklers closed before headerTimeout";
    EXPECT_GT(served, 10);
    // Each trickler got 408 and the close.
    int timedOut = 0;
    for (auto& s : slow) {
        auto reply = s->readResponse(false, 2s);
        if (reply && reply->status == 408 && reply->header("Connection") == "close" && s->waitClosed(2s))
            ++timedOut;
    }
    EXPECT_EQ(timedOut, 200);
    std::string log = server.stopAndReadAccessLog();
    EXPECT_TRUE(executed(log, "/index.html"));
}

TEST(HostileHttpTest, ClientThatNeverReadsALargeResponseDoesNotStallOthersAndIsDropped)
{
    HostileServer server("ioThreads=\"1\" sendTimeout=\"1500\"");
    ASSERT_TRUE(server.start()) << server.error();
    auto stuck = server.connect();
    int small = 4096;
    ::setsockopt(stuck->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    const auto stuckSince = std::chrono::steady_clock::now();
    ASSERT_TRUE(stuck->send(get("/large.bin")));
    // The stuck connection is open, and the response is under way, before the others are timed.
    ASSERT_TRUE(eventually([&] { return server.metric("serval_connector_open_connections") == 2; }, 5s));
    for (int i = 0; i < 10; ++i) {
        auto before = std::chrono::steady_clock::now();
        HttpReply reply = httpGet(server.port(), "/index.html");
        EXPECT_EQ(reply.status, 200);
        EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
    }
    // Dropped by sendTimeout: only the /metrics request itself stays open.
    EXPECT_TRUE(eventually([&] { return server.metric("serval_connector_open_connections") == 1; }, 10s));
    EXPECT_GE(std::chrono::steady_clock::now() - stuckSince, 1400ms);
    EXPECT_EQ(httpGet(server.port(), "/index.html").status, 200);
    server.stopAndReadAccessLog();
}

TEST(HostileHttpTest, IdleKeepAliveConnectionIsClosedAfterKeepAliveTimeout)
{
    HostileServer server("keepAliveTimeout=\"500\"");
    ASSERT_TRUE(server.start()) << server.error();
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/index.html")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->header("Connection"), "keep-alive");
    const auto idleSince = std::chrono::steady_clock::now();
    EXPECT_TRUE(c->waitClosed(5s));
    const auto idle = std::chrono::steady_clock::now() - idleSince;
    EXPECT_GE(idle, 400ms);
    EXPECT_LT(idle, 3s);
    // A connection that keeps asking within the timeout stays open.
    auto busy = server.connect();
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(busy->send(get("/index.html")));
        auto r = busy->readResponse();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
    }
    server.stopAndReadAccessLog();
}

/// Sends `bytes` and the FIN while serval is stopped (SIGSTOP), so that when it runs again it
/// finds both at once, in one epoll edge, as a loaded server does.
bool sendWithFinWhileStopped(HostileServer& server, RawConnection& c, const std::string& bytes)
{
    ::kill(server.pid(), SIGSTOP);
    bool ok = c.connect("127.0.0.1", server.port()) && c.send(bytes) && ::shutdown(c.fd(), SHUT_WR) == 0;
    ::kill(server.pid(), SIGCONT);
    return ok;
}

TEST(HostileHttpTest, ClientThatHalfClosesIsClosedAtOnceNotAfterATimeout)
{
    // Long timeouts, so only noticing the client's FIN closes these connections in time.
    HostileServer server("headerTimeout=\"20000\" keepAliveTimeout=\"20000\"");
    ASSERT_TRUE(server.start()) << server.error();
    for (const std::string& partial : {std::string("GET /index.html HTTP/1.1\r\nHo"), std::string("G")}) {
        RawConnection c;
        ASSERT_TRUE(sendWithFinWhileStopped(server, c, partial));
        EXPECT_TRUE(c.waitClosed(3s)) << "a partial request from a client that sent FIN was kept open";
    }
    for (const std::string& requests : {get("/index.html"), get("/index.html") + get("/missing")}) {
        RawConnection c;
        ASSERT_TRUE(sendWithFinWhileStopped(server, c, requests));
        auto reply = c.readResponse(false, 3s);
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->status, 200); // a half-closed client still gets its answers
        if (requests.size() > get("/index.html").size()) {
            reply = c.readResponse(false, 3s);
            ASSERT_TRUE(reply);
            EXPECT_EQ(reply->status, 404);
        }
        EXPECT_TRUE(c.waitClosed(3s)) << "an idle connection whose client sent FIN was kept open";
    }
    server.stopAndReadAccessLog();
}

// ---------------------------------------------------------------------------------------------
// Fuzz smoke test: mutated valid requests, fixed seed.

/// Checks that `bytes` is a sequence of complete, well-formed HTTP/1.1 responses (none to
/// HEAD requests: the seeds have none). Returns "" or what is wrong.
std::string checkResponses(const std::string& bytes, int* count)
{
    size_t at = 0;
    *count = 0;
    while (at < bytes.size()) {
        size_t headEnd = bytes.find("\r\n\r\n", at);
        if (headEnd == std::string::npos) return "incomplete head at byte " + std::to_string(at);
        std::string head = bytes.substr(at, headEnd - at);
        if (head.compare(0, 9, "HTTP/1.1 ") != 0 || head.size() < 12)
            return "bad status line: " + head.substr(0, 40);
        int status = 0;
        for (int i = 9; i < 12; ++i) {
            if (head[i] < '0' || head[i] > '9') return "bad status code: " + head.substr(0, 40);
            status = status * 10 + (head[i] - '0');
        }
        if (status < 100 || status > 599 || (head.size() > 12 && head[12] != ' '))
            return "bad status: " + head.substr(0, 40);
        long contentLength = -1;
        bool chunked = false;
        size_t line = head.find("\r\n");
        while (line != std::string::npos) {
            size_t next = head.find("\r\n", line + 2);
            std::string field =
                head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
            size_t colon = field.find(':');
            if (colon == std::string::npos || colon == 0) return "bad field: " + field;
            for (char ch : field)
                if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7f)
                    return "CTL in field: " + field;
            std::string name = field.substr(0, colon);
            for (char& ch : name)
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            std::string value = field.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.erase(0, 1);
            if (name == "content-length") {
                if (contentLength >= 0) return "two Content-Length fields";
                if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
                    return "bad Content-Length: " + value;
                contentLength = std::stol(value);
            }
            if (name == "transfer-encoding") chunked = value == "chunked";
            line = next;
        }
        at = headEnd + 4;
        bool noBody = status < 200 || status == 204 || status == 304;
        if (chunked) {
            if (contentLength >= 0) return "chunked with Content-Length";
            while (true) {
                size_t eol = bytes.find("\r\n", at);
                if (eol == std::string::npos) return "incomplete chunk size";
                size_t size = std::stoul(bytes.substr(at, eol - at), nullptr, 16);
                at = eol + 2;
                if (size == 0) {
                    if (bytes.compare(at, 2, "\r\n") != 0) return "bad last chunk";
                    at += 2;
                    break;
                }
                if (at + size + 2 > bytes.size() || bytes.compare(at + size, 2, "\r\n") != 0)
                    return "bad chunk";
                at += size + 2;
            }
        } else if (contentLength >= 0) {
            if (noBody && contentLength > 0 && status != 304) return "body on a bodiless status";
            if (!noBody) {
                if (at + static_cast<size_t>(contentLength) > bytes.size())
                    return "body shorter than Content-Length";
                at += static_cast<size_t>(contentLength);
            }
        } else if (!noBody) {
            at = bytes.size(); // delimited by the close
        }
        ++*count;
    }
    return "";
}

TEST(HostileHttpTest, FuzzSmokeMutatedRequestsNeverBreakTheServer)
{
    HostileServer server("headerTimeout=\"20000\" bodyTimeout=\"20000\" keepAliveTimeout=\"20000\"");
    ASSERT_TRUE(server.start()) << server.error();
    const std::vector<std::string> seeds = {
        get("/index.html"),
        get("/index.html", "Accept-Encoding: gzip\r\nIf-None-Match: \"x\"\r\nRange: bytes=0-4\r\n"),
        get("/missing?a=1&b=%41") + get("/index.html"),
        "GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello",
        "POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: "
        "v\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n",
        get("/manager/api/apps", "Cookie: a=b; c=d\r\nAuthorization: Basic eDp5\r\n"),
        get("/%2e%2e/%2e%2e/etc/passwd"),
        "PUT /index.html HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    };
    const std::vector<std::string> tokens = {"\r\n",
                                             "\n",
                                             "\r",
                                             std::string(1, '\0'),
                                             " ",
                                             "\t",
                                             ":",
                                             ",",
                                             ";",
                                             "%",
                                             "%00",
                                             "%2f",
                                             "../",
                                             "Transfer-Encoding: chunked\r\n",
                                             "Content-Length: 7\r\n",
                                             "Content-Length: 99999999999999999999\r\n",
                                             "Host: b\r\n",
                                             "HTTP/1.0",
                                             "HTTP/2.0",
                                             "ffffffffffffffff\r\n",
                                             "0\r\n\r\n",
                                             "\r\n\r\n",
                                             "Expect: 100-continue\r\n",
                                             "Connection: close\r\n",
                                             "Connection: upgrade\r\nUpgrade: h2c\r\n",
                                             std::string(2000, 'A'),
                                             "\xff\xfe",
                                             "\x7f"};
    std::mt19937 random(20261125); // fixed seed: the same 2,000 requests every run
    auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(random() % n); };

    int responses = 0;
    for (int i = 0; i < 2000; ++i) {
        std::string request = seeds[pick(seeds.size())];
        const size_t mutations = 1 + pick(4);
        for (size_t m = 0; m < mutations; ++m) {
            size_t at = pick(request.size() + 1);
            switch (pick(6)) {
            case 0: // flip bits of one byte
                if (at < request.size()) request[at] = static_cast<char>(request[at] ^ (1 << pick(8)));
                break;
            case 1: // random byte
                request.insert(at, 1, static_cast<char>(pick(256)));
                break;
            case 2: // delete a run
                if (at < request.size()) request.erase(at, 1 + pick(8));
                break;
            case 3: // interesting token
                request.insert(at, tokens[pick(tokens.size())]);
                break;
            case 4: // duplicate a slice
                if (at < request.size()) request.insert(at, request.substr(at, 1 + pick(40)));
                break;
            default: // truncate
                request.resize(at);
                break;
            }
        }
        RawConnection c;
        ASSERT_TRUE(c.connect("127.0.0.1", server.port())) << "request " << i;
        c.send(request);             // may fail when the server closed early: fine
        ::shutdown(c.fd(), SHUT_WR); // no more requests: the server answers what it has and closes
        const auto sent = std::chrono::steady_clock::now();
        std::string bytes = c.readUntilClose(5s);
        // The client's FIN ends the exchange at once: no waiting for headerTimeout or
        // keepAliveTimeout (20 s here).
        EXPECT_LT(std::chrono::steady_clock::now() - sent, 3s)
            << "request " << i
            << " was not closed after the client's FIN: " << ::testing::PrintToString(request);
        int count = 0;
        std::string problem = checkResponses(bytes, &count);
        ASSERT_EQ(problem, "") << "request " << i << ": " << ::testing::PrintToString(request)
                               << "\nresponse: " << ::testing::PrintToString(bytes.substr(0, 2000));
        responses += count;
        if (i % 100 == 99) {
            ASSERT_EQ(httpGet(server.port(), "/index.html").status, 200) << "after request " << i;
        }
    }
    EXPECT_GT(responses, 1000); // most mutated requests got an answer
    HttpReply after = httpGet(server.port(), "/index.html");
    EXPECT_EQ(after.status, 200);
    EXPECT_EQ(after.body, "hostile clients welcome\n");
    server.stopAndReadAccessLog();
}

} // namespace
} // namespace serval::test

namespace serval::test {

TEST(HostileHttpTest, UnfinishedBodiesCannotMakeTheServerHoldMoreThanMaxBufferedBodySize)
{
    // Each client announces a body it never finishes. Per request maxBodySize allows it; all
    // together they may hold maxBufferedBodySize (256 KiB here) and no more: the body that would
    // pass it is answered 503 at once, with one line in the log, and the budget comes back when
    // the others leave. (Without it: 100 connections x 10 MiB = 1 GB, no log line.)
    TempDir base;
    // One I/O thread: the holders' bodies, sent first, are read before a later connection's.
    writeOneConnectorBase(base, "maxBufferedBodySize=\"262144\" ioThreads=\"1\"", "", "index.html",
                          "hostile clients welcome\n");
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();

    const std::string head =
        "POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n";
    const std::string part(100 * 1024, 'b');
    std::vector<std::unique_ptr<RawConnection>> holders;
    for (int i = 0; i < 2; ++i) { // 200 KiB held: within the budget
        holders.push_back(std::make_unique<RawConnection>());
        ASSERT_TRUE(holders.back()->connect("127.0.0.1", server.port()));
        ASSERT_TRUE(holders.back()->send(head + part));
    }
    // Once the server has read the holders' 200 KiB, the next 100 KiB cannot fit: retried until
    // it is refused (an attempt read before them would wait for its body, and is closed).
    std::optional<HttpReply> refused;
    bool closed = false;
    ASSERT_TRUE(serval::test::eventually([&] {
        RawConnection third;
        if (!third.connect("127.0.0.1", server.port()) || !third.send(head + part)) return false;
        refused = third.readResponse(false, 2s);
        if (!refused || refused->status != 503) return false;
        closed = third.waitClosed();
        return true;
    })) << server.log();
    EXPECT_EQ(refused->header("Connection"), "close");
    EXPECT_TRUE(closed) << "the refused body's connection stays open";
    EXPECT_TRUE(server.waitForLog("reached maxBufferedBodySize (256 KiB)")) << server.log();

    holders.clear(); // the holders leave: their share comes back
    ASSERT_TRUE(serval::test::eventually([&] {
        RawConnection c;
        if (!c.connect("127.0.0.1", server.port()) ||
            !c.send(head.substr(0, head.find("1000000")) + "150000\r\n\r\n" + std::string(150000, 'c')))
            return false;
        auto reply = c.readResponse(false, 5s);
        return reply && reply->status == 405; // a static file: POST refused after the body was read
    })) << server.log();
    EXPECT_EQ(server.stop(), 0) << server.log();
}

} // namespace serval::test
