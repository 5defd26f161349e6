// HTTP/2 on a real `serval` (issue 16): the conformance harness h2conformance.py (h2spec's
// generic, http2 and hpack cases with raw frames, the hostile battery in h2 form, and the app
// over h2: static files, the manager, an isolated app, streaming) run over both h2c with prior
// knowledge and TLS with ALPN h2; an h2load smoke run; HTTP/1.1 still answers on both
// connectors; a graceful stop lets an open stream finish.
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/Shell.h"
#include "support/TempDir.h"
#include "support/TestCertificates.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

using serval::test::ServalProcess;
using serval::test::TempDir;
using serval::test::TestCa;

namespace {

std::string run(const std::string& command, int& status)
{
    return serval::test::runCommand(command, status);
}

const char* kFeaturesWebXml =
    "<web-app>"
    "<servlet><servlet-name>e</servlet-name><servlet-class>features.Echo</servlet-class></servlet>"
    "<servlet><servlet-name>s</servlet-name><servlet-class>features.Stream</servlet-class></servlet>"
    "<servlet-mapping><servlet-name>e</servlet-name><url-pattern>/echo/*</url-pattern></servlet-mapping>"
    "<servlet-mapping><servlet-name>s</servlet-name><url-pattern>/stream</url-pattern></servlet-mapping>"
    "</web-app>";

/// One server for the suite: a TLS connector (h2 by ALPN, the default) and a plain one with
/// h2c on; the features fixture deployed with the default isolation (a worker process).
class Http2Server
{
public:
    static Http2Server& instance()
    {
        static Http2Server server;
        return server;
    }
    ServalProcess& process() { return *_server; }
    /// The third connector's port (h2c, 1.5 s header and body timeouts): the second
    /// "listening on http://" line of the log.
    uint16_t timeoutsPort() const
    {
        const std::string marker = "listening on http://";
        const std::string log = _server->log();
        size_t at = log.find(marker);
        at = at == std::string::npos ? at : log.find(marker, at + 1);
        if (at == std::string::npos) return 0;
        size_t end = log.find('/', at + marker.size());
        size_t colon = log.rfind(':', end);
        return static_cast<uint16_t>(std::stoi(log.substr(colon + 1, end - colon - 1)));
    }
    bool started() const { return _started; }
    const std::string& caFile() const { return _ca->caFile(); }

private:
    Http2Server()
    {
        _base.write("certs/.keep", "");
        _ca = std::make_unique<TestCa>(_base.file("certs"));
        auto leaf = _ca->issue("localhost", "localhost", {"localhost"});
        _base.write("conf/server.xml",
                    "<Server accessLog=\"\">\n"
                    "  <Connector port=\"0\" address=\"127.0.0.1\">\n"
                    "    <Certificate certificateFile=\"" +
                        leaf.certificateFile + "\" keyFile=\"" + leaf.keyFile +
                        "\"/>\n"
                        "  </Connector>\n"
                        "  <Connector port=\"0\" address=\"127.0.0.1\" h2c=\"true\"/>\n"
                        // The timeouts group's: short header and body timeouts, 256 KiB of buffered bodies.
                        "  <Connector port=\"0\" address=\"127.0.0.1\" h2c=\"true\" "
                        "headerTimeout=\"1500\" bodyTimeout=\"1500\" maxBufferedBodySize=\"262144\"/>\n"
                        "  <Engine defaultHost=\"localhost\">\n"
                        "    <Host name=\"localhost\" appBase=\"webapps\"/>\n"
                        "  </Engine>\n"
                        "</Server>\n");
        _base.write("webapps/ROOT/hello.txt", "Hello, World!");
        std::string big;
        for (int i = 0; big.size() < 300 * 1024; ++i)
            big += std::to_string(i) + "\n";
        _base.write("webapps/ROOT/big.txt", big);
        _base.write("webapps/features/WEB-INF/web.xml", kFeaturesWebXml);
        _base.write("webapps/features/WEB-INF/lib/libfeatures.so",
                    serval::test::readFile(serval::test::fixtureLibrary("features")));
        _server = std::make_unique<ServalProcess>(_base.path());
        _started = _server->start() && serval::test::eventually([this] { return _server->tlsPort() != 0; }) &&
                   serval::test::eventually([this] { return timeoutsPort() != 0; }) &&
                   serval::test::eventually([this] {
                       return serval::test::httpGet(_server->port(), "/features/stream").status == 200;
                   });
    }

    TempDir _base;
    std::unique_ptr<TestCa> _ca;
    std::unique_ptr<ServalProcess> _server;
    bool _started = false;
};

struct Group
{
    const char* id; ///< h2conformance.py --group
    bool tls;       ///< TLS + ALPN h2, else h2c with prior knowledge
    const char* name;
};

class Http2ConformanceTest : public ::testing::TestWithParam<Group>
{
};

TEST_P(Http2ConformanceTest, CasesPass)
{
    Http2Server& server = Http2Server::instance();
    ASSERT_TRUE(server.started()) << server.process().error() << "\n" << server.process().log();
    const Group& group = GetParam();
    const bool timeouts = std::string(group.id) == "timeouts";
    const uint16_t port = timeouts    ? server.timeoutsPort()
                          : group.tls ? server.process().tlsPort()
                                      : server.process().port();
    ASSERT_NE(port, 0) << server.process().log();
    int status = 0;
    const std::string out = run(std::string("/usr/bin/python3 ") + SERVAL_SOURCE_DIR +
                                    "/tests/integration/h2conformance.py --port " + std::to_string(port) +
                                    (group.tls ? " --tls" : "") + " --group " + group.id +
                                    (timeouts ? " --stream-timeout 1500" : ""),
                                status);
    size_t cases = 0;
    for (size_t at = out.find("case "); at != std::string::npos; at = out.find("case ", at + 1))
        ++cases;
    EXPECT_EQ(status, 0) << out;
    EXPECT_GT(cases, 0u) << out;
    EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
}

INSTANTIATE_TEST_SUITE_P(
    H2spec, Http2ConformanceTest,
    ::testing::Values(Group{"generic", false, "generic_h2c"}, Group{"generic", true, "generic_tls"},
                      Group{"http2", false, "http2_h2c"}, Group{"http2", true, "http2_tls"},
                      Group{"hpack", false, "hpack_h2c"}, Group{"hpack", true, "hpack_tls"},
                      Group{"hostile", false, "hostile_h2c"}, Group{"hostile", true, "hostile_tls"},
                      Group{"app", false, "app_h2c"}, Group{"app", true, "app_tls"},
                      Group{"timeouts", false, "timeouts_h2c"}),
    [](const ::testing::TestParamInfo<Group>& info) { return std::string(info.param.name); });

TEST(Http2Test, H2loadSmokeOverTlsAndH2c)
{
    Http2Server& server = Http2Server::instance();
    ASSERT_TRUE(server.started()) << server.process().log();
    for (const std::string& url :
         {"https://127.0.0.1:" + std::to_string(server.process().tlsPort()) + "/hello.txt",
          "http://127.0.0.1:" + std::to_string(server.process().port()) + "/features/echo/x"}) {
        int status = 0;
        const std::string out = run("timeout 60 h2load -n 2000 -c 4 -m 10 " + url, status);
        EXPECT_EQ(status, 0) << out;
        EXPECT_NE(out.find("2000 succeeded, 0 failed, 0 errored, 0 timeout"), std::string::npos)
            << url << "\n"
            << out;
        EXPECT_NE(out.find("2000 2xx"), std::string::npos) << out;
    }
}

TEST(Http2Test, Http11StillAnswersOnBothConnectors)
{
    Http2Server& server = Http2Server::instance();
    ASSERT_TRUE(server.started()) << server.process().log();
    EXPECT_EQ(serval::test::httpGet(server.process().port(), "/hello.txt").body, "Hello, World!");
    int status = 0;
    std::string out =
        run("curl -s --http1.1 --cacert " + server.caFile() + " -w ' %{http_version}' https://localhost:" +
                std::to_string(server.process().tlsPort()) + "/hello.txt",
            status);
    EXPECT_EQ(out, "Hello, World! 1.1");
    out = run("curl -s --http2 --cacert " + server.caFile() + " -w ' %{http_version}' https://localhost:" +
                  std::to_string(server.process().tlsPort()) + "/manager/ -o /dev/null",
              status);
    EXPECT_EQ(out, " 2") << "curl negotiates h2 by ALPN and gets the manager page";
}

TEST(Http2Test, H2IsOffWhenProtocolsSaySo)
{
    TempDir base;
    base.write("certs/.keep", "");
    TestCa ca(base.file("certs"));
    auto leaf = ca.issue("localhost", "localhost", {"localhost"});
    base.write("conf/server.xml", "<Server accessLog=\"\">\n"
                                  "  <Connector port=\"0\" address=\"127.0.0.1\" protocols=\"http/1.1\">\n"
                                  "    <Certificate certificateFile=\"" +
                                      leaf.certificateFile + "\" keyFile=\"" + leaf.keyFile +
                                      "\"/>\n"
                                      "  </Connector>\n"
                                      "  <Connector port=\"0\" address=\"127.0.0.1\"/>\n"
                                      "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" "
                                      "appBase=\"webapps\"/></Engine>\n"
                                      "</Server>\n");
    base.write("webapps/ROOT/hello.txt", "Hello, World!");
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();
    ASSERT_TRUE(serval::test::eventually([&] { return server.tlsPort() != 0; })) << server.log();
    int status = 0;
    std::string out =
        run("curl -s --http2 --cacert " + ca.caFile() +
                " -w ' %{http_version}' https://localhost:" + std::to_string(server.tlsPort()) + "/hello.txt",
            status);
    EXPECT_EQ(out, "Hello, World! 1.1") << "ALPN offers only http/1.1";
    // h2c is off by default: the preface is not HTTP/1.1 either, so it is refused.
    out = run("curl -s --http2-prior-knowledge -m 5 -w '%{http_code}' http://127.0.0.1:" +
                  std::to_string(server.port()) + "/hello.txt",
              status);
    EXPECT_EQ(out.find("Hello"), std::string::npos) << out;
}

TEST(Http2Test, AStreamOpenPastTheKeepAliveTimeoutLeavesTheLoopFree)
{
    // keepAliveTimeout passes while a stream is open (its body still to come, as a long upload
    // or an event stream's quiet spell): the idle check must look again later. It re-armed
    // itself at a moment already past, fired again at once, forever: the loop thread spun at
    // 100% and every connection on it stopped being served.
    TempDir base;
    serval::test::writeOneConnectorBase(
        base, "h2c=\"true\" ioThreads=\"1\" keepAliveTimeout=\"300\" bodyTimeout=\"60000\"",
        "shutdownTimeout=\"3000\"");
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();

    serval::test::RawConnection h2;
    ASSERT_TRUE(h2.connect("127.0.0.1", server.port()));
    auto frame = [](uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
        std::string f;
        for (int shift : {16, 8, 0})
            f += static_cast<char>((payload.size() >> shift) & 0xff);
        f += static_cast<char>(type);
        f += static_cast<char>(flags);
        for (int shift : {24, 16, 8, 0})
            f += static_cast<char>((stream >> shift) & 0x7f & (shift == 24 ? 0x7f : 0xff));
        return f + payload;
    };
    auto literal = [](const std::string& name, const std::string& value) { // without indexing
        return std::string(1, '\0') + static_cast<char>(name.size()) + name +
               static_cast<char>(value.size()) + value;
    };
    std::string block = literal(":method", "POST") + literal(":scheme", "http") +
                        literal(":path", "/hello.txt") + literal(":authority", "localhost") +
                        literal("content-length", "10");
    ASSERT_TRUE(h2.send(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + frame(4, 0, 0, "") +
                        frame(1, 4 /* END_HEADERS, no END_STREAM */, 1, block)));

    auto cpuTicks = [&] {
        std::ifstream stat("/proc/" + std::to_string(server.pid()) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        long utime = 0, stime = 0;
        size_t end = text.rfind(')');
        std::sscanf(text.c_str() + end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime,
                    &stime);
        return utime + stime;
    };
    const long before = cpuTicks();
    const auto started = std::chrono::steady_clock::now();
    // Three keep-alive timeouts with the stream open: the behaviour under test is what the
    // server does while that time passes.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    serval::test::HttpReply reply = serval::test::httpGet(server.port(), "/hello.txt");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double busy = double(cpuTicks() - before) / double(::sysconf(_SC_CLK_TCK));
    EXPECT_EQ(reply.status, 200) << "the loop thread no longer serves\n" << server.log();
    EXPECT_LT(busy, seconds / 2) << "the server was busy " << busy << " s of " << seconds << " s";
    // The stream is still open at the stop: the drain deadline (shutdownTimeout less 2 s) closes
    // it, and the stop ends cleanly within shutdownTimeout.
    EXPECT_EQ(server.stop(), 0) << server.log();
}

} // namespace
