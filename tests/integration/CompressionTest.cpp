// Response compression (issue 16) against the real binary: a negotiation table over dynamic
// responses of an isolated app (the default) and an in-process one, static precompressed and
// cached variants (the second request served from the cache, proved by /metrics and by the
// bytes being brotli 11's), Range, HEAD, already-encoded and opted-out responses. Every
// compressed body is decoded and compared with the identity one.
#include "compression/Decode.h"
#include "compression/Encoder.h"
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <sys/time.h>

using serval::test::eventually;
using serval::test::httpGet;
using serval::test::HttpReply;
using serval::test::httpRequest;
using serval::test::ServalProcess;
using serval::test::TempDir;
using namespace serval::compression;

namespace {

const char* kWebXml = "<web-app><servlet><servlet-name>f</servlet-name>"
                      "<servlet-class>fixture.Faults</servlet-class></servlet>"
                      "<servlet-mapping><servlet-name>f</servlet-name>"
                      "<url-pattern>/*</url-pattern></servlet-mapping></web-app>";

std::string html(size_t size)
{
    std::string out = "<!doctype html>\n";
    for (int i = 0; out.size() < size; ++i)
        out += "<p>Paragraph " + std::to_string(i) + ": static text that compresses.</p>\n";
    out.resize(size);
    return out;
}

std::string compressed(ContentCoding coding, const std::string& plain, Effort effort = Effort::Best)
{
    std::string out;
    EXPECT_TRUE(compressWhole(coding, effort, plain, out));
    return out;
}

/// The body as the client would see it after decoding its Content-Encoding; "?" if that fails.
std::string decoded(const HttpReply& reply)
{
    const std::string coding = reply.header("Content-Encoding");
    if (coding.empty()) return reply.body;
    if (coding == "gzip") return serval::test::gunzip(reply.body).value_or("?");
    if (coding == "br") return serval::test::unbrotli(reply.body).value_or("?");
    return "?";
}

class CompressionTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        _base = std::make_unique<TempDir>();
        const TempDir& b = *_base;
        b.write("conf/server.xml", "<Server accessLog=\"\">\n"
                                   "  <Connector port=\"0\" address=\"127.0.0.1\" ioThreads=\"2\"/>\n"
                                   "  <Engine defaultHost=\"localhost\">\n"
                                   "    <Host name=\"localhost\" appBase=\"webapps\">\n"
                                   "      <Context path=\"/local\" isolation=\"none\"/>\n"
                                   "    </Host>\n"
                                   "  </Engine>\n"
                                   "</Server>\n");
        b.write("conf/web.xml", serval::test::readFile(serval::test::env("SERVAL_SOURCE", SERVAL_SOURCE_DIR) +
                                                       "/conf/web.xml"));
        for (const char* app : {"iso", "local"}) {
            b.write(std::string("webapps/") + app + "/WEB-INF/web.xml", kWebXml);
            b.write(std::string("webapps/") + app + "/WEB-INF/lib/libfaults.so",
                    serval::test::readFile(serval::test::fixtureLibrary("faults")));
        }
        _page = html(64 * 1024);
        b.write("webapps/ROOT/page.html", _page);
        b.write("webapps/ROOT/other.css", html(8 * 1024));
        b.write("webapps/ROOT/small.css", "body{color:red}");
        b.write("webapps/ROOT/photo.png", html(8 * 1024)); // not a compressible type, whatever its bytes
        _pre = html(10 * 1024);
        b.write("webapps/ROOT/pre.js", _pre);
        b.write("webapps/ROOT/pre.js.br", compressed(ContentCoding::Brotli, _pre));
        b.write("webapps/ROOT/pre.js.gz", compressed(ContentCoding::Gzip, _pre));
        b.write("webapps/ROOT/stale.css", html(6 * 1024));
        b.write("webapps/ROOT/stale.css.gz", "STALE");
        // The sibling is older than the file it stands for: never served.
        struct timeval old[2] = {{1700000000, 0}, {1700000000, 0}};
        EXPECT_EQ(::utimes(b.file("webapps/ROOT/stale.css.gz").c_str(), old), 0);
        _server = std::make_unique<ServalProcess>(b.path());
        ASSERT_TRUE(_server->start()) << _server->error() << "\n" << _server->log();
    }

    static void TearDownTestSuite()
    {
        _server.reset();
        _base.reset();
    }

    static HttpReply get(const std::string& target, const std::map<std::string, std::string>& headers = {},
                         const std::string& method = "GET")
    {
        return httpRequest(_server->port(), method, target, headers);
    }

    /// The number after `name ` (or `name{labels} `) in /metrics, or -1.
    static long metric(const std::string& line)
    {
        HttpReply reply = get("/metrics");
        size_t at = reply.body.find("\n" + line + " ");
        if (at == std::string::npos) return -1;
        return std::strtol(reply.body.c_str() + at + line.size() + 2, nullptr, 10);
    }

    static std::unique_ptr<TempDir> _base;
    static std::unique_ptr<ServalProcess> _server;
    static std::string _page;
    static std::string _pre;
};

std::unique_ptr<TempDir> CompressionTest::_base;
std::unique_ptr<ServalProcess> CompressionTest::_server;
std::string CompressionTest::_page;
std::string CompressionTest::_pre;

struct Row
{
    const char* query;          ///< /page?...
    const char* acceptEncoding; ///< "" none
    const char* method;
    bool range;
    const char* encoding; ///< expected Content-Encoding ("" none)
    bool vary;
    bool weakEtag; ///< the app's strong ETag comes back weak
};

const Row kTable[] = {
    {"kb=64", "gzip, deflate, br", "GET", false, "br", true, false},
    {"kb=64", "gzip", "GET", false, "gzip", true, false},
    {"kb=64", "br;q=0.5, gzip", "GET", false, "gzip", true, false},
    {"kb=64", "", "GET", false, "", true, false},
    {"kb=64", "identity", "GET", false, "", true, false},
    {"kb=64", "zstd, compress", "GET", false, "", true, false},
    {"kb=64", "*", "GET", false, "br", true, false},
    {"kb=64", "gzip;q=0, br;q=0", "GET", false, "", true, false},
    {"kb=1", "gzip", "GET", false, "", false, false}, // below compressionMinSize (2048)
    {"kb=2", "gzip", "GET", false, "gzip", true, false},
    {"kb=64&type=image/png", "gzip", "GET", false, "", false, false},
    {"kb=64&type=application/json", "br", "GET", false, "br", true, false},
    {"kb=64&type=image/svg%2Bxml", "gzip", "GET", false, "gzip", true, false},
    {"kb=64", "gzip", "GET", true, "", true, false}, // Range: never
    {"kb=64&etag=1", "gzip", "GET", false, "gzip", true, true},
    {"kb=64&etag=1", "", "GET", false, "", true, false},
    {"kb=64&optout=1", "gzip, br", "GET", false, "", false, false}, // the app's opt-out
    {"kb=64&encoded=1", "gzip, br", "GET", false, "gzip", false,
     false}, // already encoded: as the app sent it
    {"kb=64", "br", "HEAD", false, "br", true, false},
    {"kb=64", "", "HEAD", false, "", true, false},
};

TEST_F(CompressionTest, DynamicNegotiationTableForIsolatedAndInProcessApps)
{
    for (const char* app : {"/iso", "/local"}) {
        for (const Row& row : kTable) {
            const std::string target = std::string(app) + "/page?" + row.query;
            std::map<std::string, std::string> headers;
            if (*row.acceptEncoding) headers["Accept-Encoding"] = row.acceptEncoding;
            if (row.range) headers["Range"] = "bytes=0-9";
            const std::string what = std::string(row.method) + " " + target +
                                     " Accept-Encoding: " + row.acceptEncoding + (row.range ? " Range" : "");
            HttpReply reply = get(target, headers, row.method);
            ASSERT_EQ(reply.status, 200) << what;
            EXPECT_EQ(reply.header("Content-Encoding"), row.encoding) << what;
            EXPECT_EQ(reply.hasHeader("Vary"), row.vary) << what;
            if (row.vary) {
                EXPECT_EQ(reply.header("Vary"), "Accept-Encoding") << what;
            }
            if (row.weakEtag) {
                EXPECT_EQ(reply.header("ETag"), "W/\"page-1\"") << what;
            }
            if (!row.weakEtag && std::string_view(row.query).find("etag") != std::string_view::npos) {
                EXPECT_EQ(reply.header("ETag"), "\"page-1\"") << what;
            }
            if (std::string_view(row.method) == "HEAD") {
                EXPECT_TRUE(reply.body.empty()) << what;
                HttpReply getReply = get(target, headers);
                EXPECT_EQ(reply.header("Content-Encoding"), getReply.header("Content-Encoding")) << what;
                EXPECT_EQ(reply.header("Vary"), getReply.header("Vary")) << what;
                continue;
            }
            if (std::string_view(row.query).find("encoded") != std::string_view::npos)
                continue; // not really gzip
            HttpReply plain = get(target);
            EXPECT_EQ(decoded(reply), plain.body) << what;
            EXPECT_FALSE(plain.body.empty()) << what;
            if (*row.encoding) {
                EXPECT_LT(reply.body.size(), plain.body.size() / 3) << what;
            }
        }
    }
}

TEST_F(CompressionTest, AStreamedResponseIsCompressedAsItFlushesIsolatedOrNot)
{
    for (const char* app : {"/iso", "/local"}) {
        HttpReply reply = get(std::string(app) + "/page?kb=64&pieces=4", {{"Accept-Encoding", "gzip"}});
        ASSERT_EQ(reply.status, 200) << app;
        EXPECT_EQ(reply.header("Content-Encoding"), "gzip") << app;
        EXPECT_EQ(reply.header("Transfer-Encoding"), "chunked") << app;
        EXPECT_EQ(decoded(reply), get(std::string(app) + "/page?kb=64").body) << app;
    }
}

TEST_F(CompressionTest, PrecompressedSiblingsArePreferredWhenNotOlder)
{
    HttpReply br = get("/pre.js", {{"Accept-Encoding", "gzip, br"}});
    EXPECT_EQ(br.header("Content-Encoding"), "br");
    EXPECT_EQ(br.body, serval::test::readFile(_base->file("webapps/ROOT/pre.js.br")));
    EXPECT_EQ(decoded(br), _pre);
    HttpReply gz = get("/pre.js", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
    EXPECT_EQ(decoded(gz), _pre);
    EXPECT_EQ(gz.header("Vary"), "Accept-Encoding");
    HttpReply plain = get("/pre.js");
    EXPECT_EQ(plain.body, _pre);
    EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");

    HttpReply stale = get("/stale.css", {{"Accept-Encoding", "gzip"}});
    EXPECT_NE(stale.body, "STALE") << "an older sibling is ignored";
    EXPECT_EQ(decoded(stale), serval::test::readFile(_base->file("webapps/ROOT/stale.css")));
}

TEST_F(CompressionTest, StaticVariantsAreMadeOnceOffTheLoopAndServedFromTheCache)
{
    const long fillsBefore = metric("serval_static_compressed_fills_total");
    const long hitsBefore = metric("serval_static_compressed_hits_total");
    ASSERT_GE(fillsBefore, 0);
    HttpReply first = get("/page.html", {{"Accept-Encoding", "br"}});
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.header("Vary"), "Accept-Encoding");
    EXPECT_EQ(decoded(first), _page); // identity while the variant is being made, or the variant
    HttpReply cached;
    ASSERT_TRUE(eventually([&] {
        cached = get("/page.html", {{"Accept-Encoding", "br"}});
        return cached.header("Content-Encoding") == "br";
    }));
    // Brotli 11's bytes, not the per-request quality 1: made by the cache's fill, once.
    EXPECT_EQ(cached.body, compressed(ContentCoding::Brotli, _page, Effort::Best));
    EXPECT_NE(cached.body, compressed(ContentCoding::Brotli, _page, Effort::Fast));
    EXPECT_EQ(decoded(cached), _page);
    EXPECT_EQ(cached.header("ETag").substr(0, 2), "W/");
    EXPECT_NE(cached.header("ETag"), get("/page.html").header("ETag"));
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(get("/page.html", {{"Accept-Encoding", "br"}}).body, cached.body);
    EXPECT_EQ(metric("serval_static_compressed_fills_total"), fillsBefore + 1);
    EXPECT_GE(metric("serval_static_compressed_hits_total"), hitsBefore + 6);

    // gzip is a variant of its own; a conditional request on the variant's ETag is a 304.
    ASSERT_TRUE(eventually([&] {
        return get("/page.html", {{"Accept-Encoding", "gzip"}}).header("Content-Encoding") == "gzip";
    }));
    HttpReply gz = get("/page.html", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(decoded(gz), _page);
    EXPECT_EQ(get("/page.html", {{"Accept-Encoding", "gzip"}, {"If-None-Match", gz.header("ETag")}}).status,
              304);

    // HEAD: the GET's headers and length.
    HttpReply head = get("/page.html", {{"Accept-Encoding", "br"}}, "HEAD");
    EXPECT_EQ(head.header("Content-Encoding"), "br");
    EXPECT_EQ(head.header("Content-Length"), std::to_string(cached.body.size()));
}

TEST_F(CompressionTest, StaticRangeSmallAndIncompressibleFilesStayIdentity)
{
    ASSERT_TRUE(eventually([&] {
        return get("/other.css", {{"Accept-Encoding", "gzip"}}).header("Content-Encoding") == "gzip";
    }));
    HttpReply part = get("/other.css", {{"Accept-Encoding", "gzip"}, {"Range", "bytes=0-9"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_FALSE(part.hasHeader("Content-Encoding"));
    EXPECT_EQ(part.body, serval::test::readFile(_base->file("webapps/ROOT/other.css")).substr(0, 10));
    EXPECT_EQ(part.header("Vary"), "Accept-Encoding");

    HttpReply small = get("/small.css", {{"Accept-Encoding", "gzip, br"}});
    EXPECT_EQ(small.body, "body{color:red}");
    EXPECT_FALSE(small.hasHeader("Vary"));
    HttpReply png = get("/photo.png", {{"Accept-Encoding", "gzip, br"}});
    EXPECT_FALSE(png.hasHeader("Content-Encoding"));
    EXPECT_FALSE(png.hasHeader("Vary"));
}

TEST_F(CompressionTest, DynamicResponsesAreCountedInMetrics)
{
    const long before = metric("serval_compressed_responses_total{coding=\"gzip\"}");
    ASSERT_GE(before, 0);
    get("/local/page?kb=8", {{"Accept-Encoding", "gzip"}});
    get("/iso/page?kb=8", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(metric("serval_compressed_responses_total{coding=\"gzip\"}"), before + 2);
}

} // namespace
