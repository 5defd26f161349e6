// TLS on a real `serval`: certificates from a throw-away CA (support/TestCertificates), the
// protocol and cipher policy checked with `openssl s_client`, SNI selection, RSA and ECDSA side
// by side, HTTP/1.1 keep-alive, pipelining and sendfile over TLS, the handshake timeout, and
// garbage instead of a ClientHello.
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/Shell.h"
#include "support/TempDir.h"
#include "support/TestCertificates.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <gtest/gtest.h>
#include <memory>
#include <openssl/ssl.h>
#include <thread>
#include <unistd.h>
#include <vector>

using serval::test::HttpReply;
using serval::test::RawConnection;
using serval::test::ServalProcess;
using serval::test::TempDir;
using serval::test::TestCa;
using serval::test::TlsOptions;

namespace {

using namespace std::chrono_literals;

std::string run(const std::string& command, int& status)
{
    return serval::test::runCommand(command, status);
}

std::string get(const std::string& target, const std::string& host = "localhost",
                const std::string& extra = "")
{
    return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra + "\r\n";
}

class TlsTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        _base = std::make_unique<TempDir>();
        const TempDir& b = *_base;
        b.write("certs/.keep", "");
        _ca = std::make_unique<TestCa>(b.file("certs"));
        const TestCa& ca = *_ca;
        using Key = TestCa::KeyType;
        auto defaultRsa = ca.issue("default-rsa", "default-rsa", {"localhost"}, Key::Rsa2048);
        auto defaultEc = ca.issue("default-ec", "default-ec", {"localhost"}, Key::EcP256);
        auto a = ca.issue("a", "a.example", {"a.example"});
        auto wild = ca.issue("wild", "wild.example", {"*.wild.example"});
        auto hosted = ca.issue("hosted", "hosted.example", {"hosted.example", "alias.example"});
        auto certificate = [](const serval::test::TestCertificate& c, const std::string& host) {
            return "    <Certificate" + (host.empty() ? std::string() : " host=\"" + host + "\"") +
                   " certificateFile=\"" + c.certificateFile + "\" keyFile=\"" + c.keyFile + "\"/>\n";
        };
        // The TLS connector first: --port 0 gives it a free port, and by the time the plain
        // connector's "listening on http://" line (which ServalProcess waits for) is written,
        // the https one is in the log too.
        b.write("conf/server.xml",
                "<Server>\n"
                "  <Connector port=\"0\" address=\"127.0.0.1\" handshakeTimeout=\"500\">\n" +
                    certificate(defaultRsa, "") + certificate(defaultEc, "") + certificate(a, "a.example") +
                    certificate(wild, "*.wild.example") + certificate(hosted, "hosted.example") +
                    "  </Connector>\n"
                    "  <Connector port=\"0\" address=\"127.0.0.1\"/>\n"
                    "  <Engine defaultHost=\"localhost\">\n"
                    "    <Host name=\"localhost\" appBase=\"webapps\"/>\n"
                    "    <Host name=\"hosted.example\" aliases=\"alias.example\" "
                    "appBase=\"webapps\"/>\n"
                    "  </Engine>\n"
                    "</Server>\n");
        b.write("webapps/ROOT/hello.txt", "Hello, World!");
        std::string big;
        for (int i = 0; big.size() < 300 * 1024; ++i)
            big += std::to_string(i) + "\n";
        _big = big;
        b.write("webapps/ROOT/big.txt", big);
        for (int f = 0; f < kInterleaved; ++f) // distinct bytes per file: a mix-up shows
            b.write("webapps/ROOT/big" + std::to_string(f) + ".txt", interleavedBody(f));
        // A static file whose response head is longer than a 512-byte record (its type).
        b.write("webapps/mfl/WEB-INF/web.xml",
                "<web-app><mime-mapping><extension>long</extension><mime-type>" + longType() +
                    "</mime-type></mime-mapping></web-app>");
        b.write("webapps/mfl/big.long", big);
        _server = std::make_unique<ServalProcess>(b.path());
        ASSERT_TRUE(_server->start()) << _server->error() << "\n" << _server->log();
        ASSERT_TRUE(serval::test::eventually([] { return _server->tlsPort() != 0; })) << _server->log();
    }

    static void TearDownTestSuite()
    {
        _server.reset();
        _ca.reset();
        _base.reset();
    }

    static uint16_t tlsPort() { return _server->tlsPort(); }

    /// A TLS connection (verified against the test CA if options.caFile says so).
    static std::unique_ptr<RawConnection> connectTls(TlsOptions options = {})
    {
        auto c = std::make_unique<RawConnection>();
        EXPECT_TRUE(c->connect("127.0.0.1", tlsPort()));
        EXPECT_TRUE(c->startTls(options)) << c->tlsError();
        return c;
    }

    /// `openssl s_client` with `flags` against the TLS connector: its output; `status` its exit.
    static std::string sClient(const std::string& flags, int& status)
    {
        return serval::test::opensslClient(tlsPort(), flags, status);
    }

    static std::string longType() { return "application/x-" + std::string(700, 'l'); }

    static constexpr int kInterleaved = 4;
    static std::string interleavedBody(int f)
    {
        std::string body;
        for (int i = 0; body.size() < 768 * 1024; ++i)
            body += "file " + std::to_string(f) + " line " + std::to_string(i) + "\n";
        return body;
    }

    static std::unique_ptr<TempDir> _base;
    static std::unique_ptr<TestCa> _ca;
    static std::unique_ptr<ServalProcess> _server;
    static std::string _big;
};

std::unique_ptr<TempDir> TlsTest::_base;
std::unique_ptr<TestCa> TlsTest::_ca;
std::unique_ptr<ServalProcess> TlsTest::_server;
std::string TlsTest::_big;

TEST_F(TlsTest, AcceptsTls12AndTls13)
{
    int status = 0;
    std::string out = sClient("-tls1_3", status);
    EXPECT_NE(out.find("New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256"), std::string::npos) << out;
    out = sClient("-tls1_2", status);
    EXPECT_NE(out.find("New, TLSv1.2, Cipher is ECDHE-"), std::string::npos) << out;
    EXPECT_NE(out.find("GCM"), std::string::npos) << out;
}

TEST_F(TlsTest, RefusesTls10AndTls11)
{
    for (const char* protocol : {"-tls1", "-tls1_1"}) {
        int status = 0;
        // SECLEVEL=0: the client really offers the old protocol; the server must refuse it.
        std::string out = sClient(std::string(protocol) + " -cipher DEFAULT@SECLEVEL=0", status);
        EXPECT_NE(status, 0) << protocol << "\n" << out;
        EXPECT_NE(out.find("Cipher is (NONE)"), std::string::npos) << protocol << "\n" << out;
    }
}

TEST_F(TlsTest, RefusesCiphersWithoutAeadOrForwardSecrecy)
{
    for (const char* cipher : {"AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA",
                               "ECDHE-ECDSA-AES256-SHA384", "AES128-SHA256", "DHE-RSA-AES128-SHA"}) {
        int status = 0;
        std::string out = sClient(std::string("-tls1_2 -cipher ") + cipher + "@SECLEVEL=0", status);
        EXPECT_NE(status, 0) << cipher << "\n" << out;
        EXPECT_NE(out.find("Cipher is (NONE)"), std::string::npos) << cipher << "\n" << out;
    }
}

TEST_F(TlsTest, Tls12FollowsTheServersCipherOrder)
{
    TlsOptions options;
    options.maxVersion = TLS1_2_VERSION;
    options.ciphers =
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256";
    auto c = connectTls(options);
    EXPECT_EQ(c->tlsVersion(), "TLSv1.2");
    EXPECT_EQ(c->tlsCipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_F(TlsTest, SniPicksTheCertificateByNameWildcardAndHostAlias)
{
    auto subject = [](const std::string& serverName) {
        TlsOptions options;
        options.serverName = serverName;
        options.caFile = _ca->caFile();
        RawConnection c;
        EXPECT_TRUE(c.connect("127.0.0.1", tlsPort()));
        if (!c.startTls(options)) return "refused: " + c.tlsError();
        return c.peerSubject();
    };
    EXPECT_EQ(subject("a.example"), "/CN=a.example");
    EXPECT_EQ(subject("A.Example"), "/CN=a.example");
    EXPECT_EQ(subject("x.wild.example"), "/CN=wild.example");
    EXPECT_EQ(subject("hosted.example"), "/CN=hosted.example");
    EXPECT_EQ(subject("alias.example"), "/CN=hosted.example"); // the <Host>'s alias
    TlsOptions unknown;
    unknown.serverName = "unknown.example";
    EXPECT_EQ(connectTls(unknown)->peerSubject().rfind("/CN=default-", 0),
              0u); // the default
}

TEST_F(TlsTest, ClientsWithoutSniGetTheDefaultCertificate)
{
    int status = 0;
    std::string out = sClient("-noservername", status);
    EXPECT_NE(out.find("subject=CN = default-"), std::string::npos) << out;
}

TEST_F(TlsTest, RsaAndEcdsaCertificatesServeSideBySide)
{
    TlsOptions rsa;
    rsa.sigalgs = "RSA-PSS+SHA256:RSA+SHA256";
    EXPECT_EQ(connectTls(rsa)->peerSubject(), "/CN=default-rsa");
    TlsOptions ec;
    ec.sigalgs = "ECDSA+SHA256";
    EXPECT_EQ(connectTls(ec)->peerSubject(), "/CN=default-ec");
    TlsOptions rsa12;
    rsa12.maxVersion = TLS1_2_VERSION;
    rsa12.ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
    EXPECT_EQ(connectTls(rsa12)->peerSubject(), "/CN=default-rsa");
}

TEST_F(TlsTest, KeepAlivePipeliningAndFilesOverTls)
{
    TlsOptions options;
    options.serverName = "localhost";
    options.caFile = _ca->caFile();
    auto c = connectTls(options);
    ASSERT_TRUE(c->send(get("/hello.txt")));
    auto first = c->readResponse();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, 200);
    EXPECT_EQ(first->body, "Hello, World!");

    ASSERT_TRUE(c->send(get("/big.txt"))); // sendfile() on plain TCP: read and encrypted here
    auto big = c->readResponse(false, 10s);
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 200);
    EXPECT_TRUE(big->body == _big) << big->body.size();

    ASSERT_TRUE(c->send(get("/hello.txt") + get("/big.txt") +
                        get("/hello.txt", "localhost", "Connection: close\r\n")));
    for (int i = 0; i < 3; ++i) {
        auto reply = c->readResponse(false, 10s);
        ASSERT_TRUE(reply) << i;
        EXPECT_EQ(reply->status, 200) << i;
        EXPECT_TRUE(reply->body == (i == 1 ? _big : std::string("Hello, World!"))) << i;
    }
    EXPECT_TRUE(c->waitClosed(5s)); // after close_notify
}

TEST_F(TlsTest, ConnectionsBlockedMidRecordKeepTheirOwnBytesWhileOthersWrite)
{
    // Every connection's records are gathered in its loop thread's one buffer; a record that
    // meets a full socket must keep its bytes while the other connections write theirs. Four
    // connections each ask for their own large file (more than the socket buffers hold), a small
    // one, a 404 (a gathered head and body) and the large one again, none read until all are
    // stuck; then they are read one after the other, each in full before the next, so the
    // others wait mid-record meanwhile.
    std::vector<std::unique_ptr<RawConnection>> connections;
    for (int f = 0; f < kInterleaved; ++f) {
        // Half of them with 512-byte records (RFC 6066): one write of 16 KiB is then many
        // records, and OpenSSL reads the rest of the retried bytes after the first one is out.
        TlsOptions options;
        if (f % 2 == 0) options.maxFragmentLength = TLSEXT_max_fragment_length_512;
        connections.push_back(connectTls(options));
        ASSERT_TRUE(connections.back()->send(get("/big" + std::to_string(f) + ".txt") + get("/hello.txt") +
                                             get("/missing-" + std::to_string(f)) +
                                             get("/big" + std::to_string(f) + ".txt")));
    }
    for (int f = 0; f < kInterleaved; ++f) {
        RawConnection& c = *connections[static_cast<size_t>(f)];
        for (int round = 0; round < 2; ++round) {
            auto big = c.readResponse(false, 10s);
            ASSERT_TRUE(big) << f;
            EXPECT_EQ(big->status, 200) << f;
            EXPECT_TRUE(big->body == interleavedBody(f)) << f << ": " << big->body.size() << " bytes";
            if (round == 1) break;
            auto hello = c.readResponse(false, 10s);
            ASSERT_TRUE(hello) << f;
            EXPECT_EQ(hello->body, "Hello, World!") << f;
            auto missing = c.readResponse(false, 10s);
            ASSERT_TRUE(missing) << f;
            EXPECT_EQ(missing->status, 404) << f;
        }
    }
}

TEST_F(TlsTest, SmallRecordsAClientAskedForCarryAHeadLongerThanOneRecord)
{
    // RFC 6066 max_fragment_length 512: the file's head (held to go out with its first bytes)
    // spans two records, then the file follows in 512-byte records.
    TlsOptions options;
    options.serverName = "localhost";
    options.maxFragmentLength = TLSEXT_max_fragment_length_512;
    auto c = connectTls(options);
    ASSERT_TRUE(c->send(get("/mfl/big.long") + get("/hello.txt")));
    auto big = c->readResponse(false, 10s);
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 200);
    EXPECT_EQ(big->header("Content-Type"), longType());
    EXPECT_TRUE(big->body == _big) << big->body.size() << " of " << _big.size();
    auto after = c->readResponse(false, 10s);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->body, "Hello, World!");
}

TEST_F(TlsTest, CurlFetchesOverHttps)
{
    int status = 0;
    std::string port = std::to_string(tlsPort());
    std::string out =
        run("timeout 10 curl -sS --cacert " + _ca->caFile() + " --resolve a.example:" + port +
                ":127.0.0.1 https://a.example:" + port + "/hello.txt https://a.example:" + port +
                "/big.txt -o /dev/null -o " + _base->file("fetched.txt") + " -w '%{http_code} '",
            status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "200 200 ");
    EXPECT_TRUE(serval::test::readFile(_base->file("fetched.txt")) == _big);
}

TEST_F(TlsTest, AStalledHandshakeIsClosedAtTheHandshakeTimeout)
{
    for (const std::string& sent : {std::string(), std::string("\x16\x03\x01\x02\x00", 5)}) {
        RawConnection c; // nothing, or a ClientHello record header without its body
        ASSERT_TRUE(c.connect("127.0.0.1", tlsPort()));
        if (!sent.empty()) {
            ASSERT_TRUE(c.send(sent));
        }
        auto start = std::chrono::steady_clock::now();
        EXPECT_TRUE(c.waitClosed(5s));
        EXPECT_LT(std::chrono::steady_clock::now() - start, 3s); // handshakeTimeout="500"
    }
}

TEST_F(TlsTest, GarbageInsteadOfAClientHelloIsClosedAtOnce)
{
    for (const std::string& garbage : {get("/hello.txt"), std::string(300, '\x16'), std::string(64, '\0')}) {
        RawConnection c;
        ASSERT_TRUE(c.connect("127.0.0.1", tlsPort()));
        ASSERT_TRUE(c.send(garbage));
        auto start = std::chrono::steady_clock::now();
        std::string answer = c.readUntilClose(5s);
        EXPECT_LT(std::chrono::steady_clock::now() - start, 400ms) << "closed by the timeout, not at once";
        EXPECT_EQ(answer.find("HTTP/1.1"), std::string::npos);
    }
    TlsOptions options;
    options.serverName = "a.example";
    options.caFile = _ca->caFile();
    auto c = connectTls(options);
    ASSERT_TRUE(c->send(get("/hello.txt", "a.example", "Connection: close\r\n")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
}

TEST(TlsStartupTest, AnUnusableCertificateStopsStartupWithItsLine)
{
    TempDir base;
    base.write("certs/.keep", "");
    TestCa ca(base.file("certs"));
    auto good = ca.issue("good", "good", {"localhost"});
    auto other = ca.issue("other", "other", {"localhost"});
    auto expired = ca.issue("expired", "expired", {"localhost"}, TestCa::KeyType::EcP256, -7200, -3600);
    struct Case
    {
        std::string attributes;
        std::string expected;
    };
    for (const Case& c :
         {Case{"certificateFile=\"" + base.file("missing.pem") + "\"", "cannot read"},
          Case{"certificateFile=\"" + good.certificateFile + "\" keyFile=\"" + other.keyFile + "\"",
               "does not belong to the certificate"},
          Case{"certificateFile=\"" + expired.certificateFile + "\" keyFile=\"" + expired.keyFile + "\"",
               "expired"},
          Case{"certificateFile=\"" + good.certificateFile + "\" keyFile=\"" + good.keyFile +
                   "\" chainFile=\"" + other.certificateFile + "\"",
               "the chain is broken"}}) {
        base.write("conf/server.xml", "<Server>\n"
                                      "  <Connector port=\"0\">\n"
                                      "    <Certificate " +
                                          c.attributes +
                                          "/>\n"
                                          "  </Connector>\n"
                                          "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" "
                                          "appBase=\"webapps\"/></Engine>\n"
                                          "</Server>\n");
        ServalProcess server(base.path());
        EXPECT_FALSE(server.start());
        EXPECT_NE(server.log().find("conf/server.xml:3: <Certificate certificateFile="), std::string::npos)
            << server.log();
        EXPECT_NE(server.log().find(c.expected), std::string::npos) << server.log();
    }
}

} // namespace

namespace {

/// Certificate reload under load: one default certificate whose PEM (certificate and key in one
/// file, so that one rename() replaces both at once) is swapped while clients keep connecting.
class TlsReloadTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        base.write("certs/.keep", "");
        ca = std::make_unique<TestCa>(base.file("certs"));
        install(combined(ca->issue("first", "first", {"localhost"})));
        base.write("conf/server.xml",
                   "<Server>\n"
                   "  <Connector port=\"0\" address=\"127.0.0.1\" certificateCheckInterval=\"50\" "
                   "maxKeepAliveRequests=\"0\">\n"
                   "    <Certificate certificateFile=\"" +
                       base.file("certs/live.pem") +
                       "\"/>\n"
                       "  </Connector>\n"
                       "  <Connector port=\"0\" address=\"127.0.0.1\"/>\n"
                       "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" "
                       "appBase=\"webapps\"/></Engine>\n"
                       "</Server>\n");
        base.write("webapps/ROOT/hello.txt", "Hello, World!");
        server = std::make_unique<ServalProcess>(base.path());
        ASSERT_TRUE(server->start()) << server->error() << "\n" << server->log();
        ASSERT_TRUE(serval::test::eventually([&] { return server->tlsPort() != 0; })) << server->log();
    }

    std::string combined(const serval::test::TestCertificate& c)
    {
        return serval::test::readFile(c.certificateFile) + serval::test::readFile(c.keyFile);
    }

    /// Replaces certs/live.pem in one rename(), as a certificate tool does.
    void install(const std::string& pem)
    {
        base.write("certs/next.pem", pem);
        ASSERT_EQ(::rename(base.file("certs/next.pem").c_str(), base.file("certs/live.pem").c_str()), 0);
    }

    std::string subjectNow()
    {
        RawConnection c;
        if (!c.connect("127.0.0.1", server->tlsPort()) || !c.startTls()) return "refused: " + c.tlsError();
        return c.peerSubject();
    }

    size_t refusals()
    {
        std::string log = server->log();
        size_t count = 0;
        for (size_t at = log.find("certificate not reloaded"); at != std::string::npos;
             at = log.find("certificate not reloaded", at + 1))
            ++count;
        return count;
    }

    TempDir base;
    std::unique_ptr<TestCa> ca;
    std::unique_ptr<ServalProcess> server;
};

TEST_F(TlsReloadTest, GoodPairsSwapInAndBadOnesKeepTheOldServingWithZeroFailedRequests)
{
    std::atomic<bool> stop{false};
    std::atomic<unsigned> ok{0}, failed{0};
    const uint16_t port = server->tlsPort();
    auto load = [&](bool keepAlive) {
        RawConnection c;
        bool open = false;
        while (!stop) {
            if (!open) {
                open = c.connect("127.0.0.1", port) && c.startTls();
                if (!open) {
                    ++failed;
                    continue;
                }
            }
            bool sent = c.send(get("/hello.txt", "localhost", keepAlive ? "" : "Connection: close\r\n"));
            auto reply = sent ? c.readResponse() : std::nullopt;
            if (reply && reply->status == 200 && reply->body == "Hello, World!")
                ++ok;
            else
                ++failed;
            if (!keepAlive) open = false;
        }
    };
    std::thread fresh(load, false), established(load, true); // new handshakes, and one long connection

    using Key = TestCa::KeyType;
    install(combined(ca->issue("second", "second", {"localhost"}, Key::Rsa2048)));
    EXPECT_TRUE(serval::test::eventually([&] { return subjectNow() == "/CN=second"; })) << server->log();

    auto third = ca->issue("third", "third", {"localhost"});
    auto other = ca->issue("other", "other", {"localhost"});
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"garbage", "not a certificate\n"},
        {"expired", combined(ca->issue("expired", "expired", {"localhost"}, Key::EcP256, -7200, -3600))},
        {"mismatched key",
         serval::test::readFile(third.certificateFile) + serval::test::readFile(other.keyFile)},
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        install(bad[i].second);
        EXPECT_TRUE(serval::test::eventually([&] { return refusals() == i + 1; })) << bad[i].first;
        EXPECT_EQ(subjectNow(), "/CN=second") << bad[i].first;
    }
    install(combined(third));
    EXPECT_TRUE(serval::test::eventually([&] { return subjectNow() == "/CN=third"; })) << server->log();
    EXPECT_EQ(refusals(), bad.size()) << "one line per bad file, not one per check";

    stop = true;
    fresh.join();
    established.join();
    EXPECT_EQ(failed.load(), 0u);
    EXPECT_GT(ok.load(), 20u);

    HttpReply metrics = serval::test::httpGet(server->port(), "/metrics");
    EXPECT_NE(metrics.body.find("serval_tls_certificate_expiry_seconds{address=\"127.0.0.1\",port=\"" +
                                std::to_string(port) +
                                "\",certificate=\"conf/server.xml:3\",subject=\"CN=third\"} "),
              std::string::npos)
        << metrics.body;
}

} // namespace
