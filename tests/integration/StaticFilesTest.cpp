// Static files over real sockets: a `serval` child process serving webapps/ROOT from a temp
// base, checked byte for byte, including a traversal corpus that must never reach a file
// outside the docBase or under WEB-INF / META-INF.
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <memory>
#include <sys/time.h>
#include <unistd.h>

using serval::test::httpGet;
using serval::test::HttpReply;
using serval::test::httpRequest;
using serval::test::RawConnection;
using serval::test::ServalProcess;
using serval::test::TempDir;

namespace {

constexpr std::time_t kMtime = 1764100000; // Tue, 25 Nov 2025 19:46:40 GMT
const char* const kLastModified = "Tue, 25 Nov 2025 19:46:40 GMT";
const char* const kOutsideMarker = "SECRET-OUTSIDE-MARKER";
const char* const kWebInfMarker = "SECRET-WEBINF-MARKER";

class StaticFilesTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        _base = std::make_unique<TempDir>();
        const TempDir& b = *_base;
        b.write("conf/server.xml", "<Server>\n"
                                   "  <Connector port=\"0\" address=\"127.0.0.1\"/>\n"
                                   "  <Engine defaultHost=\"localhost\">\n"
                                   "    <Host name=\"localhost\" appBase=\"webapps\"/>\n"
                                   "  </Engine>\n"
                                   "</Server>\n");
        b.write("conf/web.xml", serval::test::readFile(serval::test::env("SERVAL_SOURCE", SERVAL_SOURCE_DIR) +
                                                       "/conf/web.xml"));
        b.write("secret.txt", kOutsideMarker);
        b.write("webapps/ROOT/index.html", "<h1>root</h1>");
        b.write("webapps/ROOT/hello.txt", "Hello, World!");
        b.write("webapps/ROOT/app.js", "console.log('plain')");
        b.write("webapps/ROOT/app.js.gz", "GZIPPED-BYTES");
        b.write("webapps/ROOT/guide/index.htm", "guide index");
        std::string big;
        for (int i = 0; big.size() < 200 * 1024; ++i)
            big += std::to_string(i) + "\n";
        _big = big;
        b.write("webapps/ROOT/big.txt", big);
        b.write("webapps/ROOT/WEB-INF/web.xml",
                std::string("<web-app><display-name>") + kWebInfMarker + "</display-name></web-app>\n");
        b.write("webapps/ROOT/META-INF/MANIFEST.MF", kWebInfMarker);
        ASSERT_EQ(::symlink(b.file("secret.txt").c_str(), b.file("webapps/ROOT/link-out.txt").c_str()), 0);
        ASSERT_EQ(::symlink("hello.txt", b.file("webapps/ROOT/link-in.txt").c_str()), 0);
        struct timeval times[2] = {{kMtime, 0}, {kMtime, 0}};
        ASSERT_EQ(::utimes(b.file("webapps/ROOT/hello.txt").c_str(), times), 0);

        _server = std::make_unique<ServalProcess>(b.path());
        ASSERT_TRUE(_server->start()) << _server->error() << "\n" << _server->log();
    }

    static void TearDownTestSuite()
    {
        _server.reset();
        _base.reset();
    }

    static uint16_t port() { return _server->port(); }

    static std::unique_ptr<TempDir> _base;
    static std::unique_ptr<ServalProcess> _server;
    static std::string _big;
};

std::unique_ptr<TempDir> StaticFilesTest::_base;
std::unique_ptr<ServalProcess> StaticFilesTest::_server;
std::string StaticFilesTest::_big;

} // namespace

TEST_F(StaticFilesTest, ServesAFileWithValidators)
{
    HttpReply r = httpGet(port(), "/hello.txt");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body, "Hello, World!");
    EXPECT_EQ(r.header("Content-Length"), "13");
    EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(r.header("ETag"), "W/\"13-1764100000000\"");
    EXPECT_EQ(r.header("Last-Modified"), kLastModified);
    EXPECT_EQ(r.header("Accept-Ranges"), "bytes");
}

TEST_F(StaticFilesTest, ServesALargeFileIntact)
{
    HttpReply r = httpGet(port(), "/big.txt");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Length"), std::to_string(_big.size()));
    EXPECT_TRUE(r.body == _big);
    HttpReply part = httpGet(port(), "/big.txt", {{"Range", "bytes=100000-100009"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.body, _big.substr(100000, 10));
}

TEST_F(StaticFilesTest, WelcomeFilesAndDirectoryRedirect)
{
    EXPECT_EQ(httpGet(port(), "/").body, "<h1>root</h1>");
    HttpReply redirect = httpGet(port(), "/guide?x=1");
    EXPECT_EQ(redirect.status, 302);
    EXPECT_EQ(redirect.header("Location").substr(redirect.header("Location").find("/guide")), "/guide/?x=1");
    HttpReply guide = httpGet(port(), "/guide/");
    EXPECT_EQ(guide.status, 200);
    EXPECT_EQ(guide.body, "guide index");
}

TEST_F(StaticFilesTest, ConditionalRequestsGiveNotModified)
{
    std::string etag = httpGet(port(), "/hello.txt").header("ETag");
    HttpReply byTag = httpGet(port(), "/hello.txt", {{"If-None-Match", etag}});
    EXPECT_EQ(byTag.status, 304);
    EXPECT_EQ(byTag.body, "");
    EXPECT_EQ(httpGet(port(), "/hello.txt", {{"If-Modified-Since", kLastModified}}).status, 304);
    EXPECT_EQ(
        httpGet(port(), "/hello.txt", {{"If-None-Match", "\"x\""}, {"If-Modified-Since", kLastModified}})
            .status,
        200);
}

TEST_F(StaticFilesTest, RangesAndIfRange)
{
    HttpReply r = httpGet(port(), "/hello.txt", {{"Range", "bytes=7-"}});
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "World!");
    EXPECT_EQ(r.header("Content-Range"), "bytes 7-12/13");
    EXPECT_EQ(r.header("Content-Length"), "6");
    HttpReply unsatisfiable = httpGet(port(), "/hello.txt", {{"Range", "bytes=50-"}});
    EXPECT_EQ(unsatisfiable.status, 416);
    EXPECT_EQ(unsatisfiable.header("Content-Range"), "bytes */13");
    EXPECT_EQ(httpGet(port(), "/hello.txt", {{"Range", "bytes=0-4"}, {"If-Range", kLastModified}}).body,
              "Hello");
    HttpReply stale = httpGet(port(), "/hello.txt", {{"Range", "bytes=0-4"}, {"If-Range", "\"old\""}});
    EXPECT_EQ(stale.status, 200);
    EXPECT_EQ(stale.body, "Hello, World!");
}

TEST_F(StaticFilesTest, PrecompressedGzipNegotiation)
{
    HttpReply gz = httpGet(port(), "/app.js", {{"Accept-Encoding", "gzip, br"}});
    EXPECT_EQ(gz.body, "GZIPPED-BYTES");
    EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
    EXPECT_EQ(gz.header("Vary"), "Accept-Encoding");
    HttpReply refused = httpGet(port(), "/app.js", {{"Accept-Encoding", "gzip;q=0"}});
    EXPECT_EQ(refused.body, "console.log('plain')");
    EXPECT_FALSE(refused.hasHeader("Content-Encoding"));
    EXPECT_EQ(refused.header("Vary"), "Accept-Encoding");
}

TEST_F(StaticFilesTest, HeadSendsHeadersOnlyAndKeepsTheConnectionInSync)
{
    RawConnection c;
    ASSERT_TRUE(c.connect("127.0.0.1", port()));
    ASSERT_TRUE(c.send("HEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
                       "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    auto head = c.readResponse(true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header("Content-Length"), "13");
    EXPECT_EQ(head->body, "");
    auto get = c.readResponse();
    ASSERT_TRUE(get);
    EXPECT_EQ(get->body, "Hello, World!"); // no stray HEAD body bytes before it
}

TEST_F(StaticFilesTest, OnlyGetHeadAndOptions)
{
    HttpReply post = httpRequest(port(), "POST", "/hello.txt", {}, "x");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("Allow"), "GET, HEAD, OPTIONS");
}

TEST_F(StaticFilesTest, SymlinksInsideAreServedAndOutsideAreNot)
{
    EXPECT_EQ(httpGet(port(), "/link-in.txt").body, "Hello, World!");
    HttpReply out = httpGet(port(), "/link-out.txt");
    EXPECT_EQ(out.status, 404);
    EXPECT_EQ(out.body.find(kOutsideMarker), std::string::npos);
}

TEST_F(StaticFilesTest, TraversalCorpusNeverEscapes)
{
    const char* const corpus[] = {
        "/../secret.txt",
        "/../../secret.txt",
        "/./../../secret.txt",
        "//../../secret.txt",
        "/guide/../../../secret.txt",
        "/%2e%2e/%2e%2e/secret.txt",
        "/%2E%2E/%2E%2E/secret.txt",
        "/.%2e/.%2e/secret.txt",
        "/%252e%252e/%252e%252e/secret.txt",
        "/..%2f..%2fsecret.txt",
        "/..%2F..%2Fsecret.txt",
        "/..%5c..%5csecret.txt",
        "/\\..\\..\\secret.txt",
        "/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",
        "/%c0%af..%c0%af..%c0%afsecret.txt",
        "/..;/..;/secret.txt",
        "/a/%00",
        "/hello.txt%00.html",
        "/WEB-INF/web.xml",
        "/web-inf/web.xml",
        "/Web-Inf/web.xml",
        "/WEB-INF%2fweb.xml",
        "/%57EB-INF/web.xml",
        "/WEB-INF/",
        "/WEB-INF",
        "/./WEB-INF/web.xml",
        "/guide/../WEB-INF/web.xml",
        "/META-INF/MANIFEST.MF",
        "/meta-inf/MANIFEST.MF",
        "/link-out.txt",
    };
    for (const char* target : corpus) {
        HttpReply r = httpGet(port(), target);
        EXPECT_TRUE(r.status == 400 || r.status == 403 || r.status == 404) << target << " -> " << r.status;
        EXPECT_EQ(r.raw.find(kOutsideMarker), std::string::npos) << target;
        EXPECT_EQ(r.raw.find(kWebInfMarker), std::string::npos) << target;
    }
    EXPECT_TRUE(_server->running()); // and the server is still there
    EXPECT_EQ(httpGet(port(), "/hello.txt").status, 200);
}
