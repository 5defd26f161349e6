#include "servlets/DefaultServlet.h"

#include "core/Response.h"
#include "http/HttpDate.h"
#include "support/TempDir.h"

#include <atomic>
#include <gtest/gtest.h>
#include <map>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

using serval::servlets::DefaultServlet;
using serval::servlets::MimeTypes;
using serval::servlets::OpenFileCache;
using serval::servlets::StaticConfig;
using serval::test::TempDir;

namespace {

std::atomic<int64_t> gNow{1000};
int64_t testClock()
{
    return gNow.load();
}

/// The observable result of one request: what the Connector would send.
struct Answer
{
    int status = 0;
    std::map<std::string, std::string> headers; // lower-case names
    std::string body; ///< buffered body or the file bytes the Connector would sendfile
    bool fromFile = false;
    bool error = false; ///< sendError was used (the Context would render the error page)
    int64_t declaredLength = -1;
    std::string header(const std::string& name) const
    {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
    bool has(const std::string& name) const { return headers.count(name) != 0; }
};

std::string lower(std::string s)
{
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

void setMtime(const std::string& path, std::time_t seconds)
{
    struct timeval times[2] = {{seconds, 0}, {seconds, 0}};
    ASSERT_EQ(::utimes(path.c_str(), times), 0);
}

class DefaultServletTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        _outside.write("secret.txt", "top secret");
        _root.write("index.html", "<h1>home</h1>");
        _root.write("hello.txt", "Hello, World!");
        _root.write("style.css", "body{}");
        _root.write("big.bin", std::string(100 * 1024, 'x') + "END");
        _root.write("WEB-INF/web.xml", "<web-app/>");
        _root.write("META-INF/MANIFEST.MF", "x");
        _root.write("docs/index.htm", "docs index");
        _root.write("empty/.keep", "");
        _root.write("app.js", "console.log('plain')");
        _root.write("app.js.gz", "GZIPPED-BYTES");
        setMtime(_root.file("hello.txt"), kMtime);
        _types = std::make_shared<MimeTypes>();
        _types->add("html", "text/html");
        _types->add("htm", "text/html");
        _types->add("txt", "text/plain");
        _types->add("css", "text/css");
        _types->add("js", "text/javascript");
        _types->add("gz", "application/gzip");
        gNow = 1000;
    }

    DefaultServlet& servlet()
    {
        if (!_servlet) {
            StaticConfig config;
            config.docBase = _root.path();
            config.welcomeFiles = {"index.html", "index.htm"};
            config.mimeTypes = _types;
            config.cache.clock = &testClock;
            _servlet = std::make_unique<DefaultServlet>(config);
        }
        return *_servlet;
    }

    Answer request(const std::string& path, std::map<std::string, std::string> headers = {},
                   const std::string& method = "GET", const std::string& query = "", bool errorPage = false)
    {
        serval::http::HttpExchange exchange;
        exchange.request.method = method;
        exchange.request.path = "/ctx" + path;
        exchange.request.query = query;
        exchange.request.target = exchange.request.path + (query.empty() ? "" : "?" + query);
        exchange.request.headers.push_back({"Host", "localhost"});
        for (auto& [name, value] : headers)
            exchange.request.headers.push_back({name, value});
        serval::core::Response response(exchange);
        servlet().serve(exchange.request, path, response, errorPage);

        Answer answer;
        serval::http::HttpResponse& out = exchange.response;
        answer.status = out.status();
        for (const auto& h : out.headers())
            answer.headers[lower(h.name)] = h.value;
        answer.error = response.isError();
        answer.declaredLength = out.declaredContentLength();
        if (out.fileBody()) {
            answer.fromFile = true;
            answer.body.resize(out.fileLength());
            ssize_t n = ::pread(out.fileBody()->fd(), answer.body.data(), out.fileLength(),
                                static_cast<off_t>(out.fileOffset()));
            EXPECT_EQ(n, static_cast<ssize_t>(out.fileLength()));
        } else {
            answer.body = out.body();
        }
        return answer;
    }

    static constexpr std::time_t kMtime = 1764100000;
    TempDir _root;
    TempDir _outside;
    std::shared_ptr<MimeTypes> _types;
    std::unique_ptr<DefaultServlet> _servlet;
};

} // namespace

TEST_F(DefaultServletTest, ServesFileWithTypeValidatorsAndBody)
{
    Answer a = request("/hello.txt");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "Hello, World!");
    EXPECT_EQ(a.header("content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(a.header("etag"), "W/\"13-1764100000000\"");
    EXPECT_EQ(a.header("last-modified"), serval::http::formatHttpDate(kMtime));
    EXPECT_EQ(a.header("accept-ranges"), "bytes");
    EXPECT_FALSE(a.has("vary"));
    EXPECT_FALSE(a.fromFile); // small file: from memory
}

TEST_F(DefaultServletTest, LargeFileGoesOutWithSendfile)
{
    Answer a = request("/big.bin");
    EXPECT_EQ(a.status, 200);
    EXPECT_TRUE(a.fromFile);
    EXPECT_EQ(a.body.size(), 100u * 1024 + 3);
    EXPECT_EQ(a.body.substr(a.body.size() - 3), "END");
    EXPECT_EQ(a.header("content-type"), "application/octet-stream");

    Answer part = request("/big.bin", {{"Range", "bytes=-3"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_TRUE(part.fromFile);
    EXPECT_EQ(part.body, "END");
    EXPECT_EQ(part.header("content-range"), "bytes 102400-102402/102403");
}

TEST_F(DefaultServletTest, MissingFileIsNotFound)
{
    Answer a = request("/nope.txt");
    EXPECT_EQ(a.status, 404);
    EXPECT_TRUE(a.error);
    EXPECT_EQ(request("/hello.txt/").status, 404);      // ENOTDIR
    EXPECT_EQ(request("/nope/deeper.txt").status, 404); // ENOENT
}

TEST_F(DefaultServletTest, NeverServesWebInfOrMetaInfInAnyCase)
{
    for (const char* path : {"/WEB-INF/web.xml", "/web-inf/web.xml", "/Web-Inf/web.xml", "/WEB-INF/",
                             "/WEB-INF", "/META-INF/MANIFEST.MF", "/meta-inf/MANIFEST.MF",
                             "/Meta-Inf/MANIFEST.MF", "/docs/WEB-INF/x", "/docs/../WEB-INF/web.xml"}) {
        Answer a = request(path);
        EXPECT_EQ(a.status, 404) << path;
        EXPECT_TRUE(a.body.find("web-app") == std::string::npos) << path;
    }
}

TEST_F(DefaultServletTest, RefusesDotSegmentsNulAndBackslashEvenIfTheEngineMissedThem)
{
    std::string climb = "/../" + _outside.path().substr(_outside.path().rfind('/') + 1) + "/secret.txt";
    for (const std::string& path :
         {climb, std::string("/./hello.txt"), std::string("/docs/../hello.txt"),
          std::string("/hello.txt\0x", 12), std::string("/..\\secret.txt"), std::string("hello.txt")}) {
        Answer a = request(path);
        EXPECT_EQ(a.status, 404) << path;
        EXPECT_NE(a.body, "top secret");
    }
    EXPECT_FALSE(DefaultServlet::isServablePath("/a/../b"));
    EXPECT_FALSE(DefaultServlet::isServablePath("/a/./b"));
    EXPECT_FALSE(DefaultServlet::isServablePath("/.."));
    EXPECT_TRUE(DefaultServlet::isServablePath("/a/..b/c..d/.e"));
    EXPECT_TRUE(DefaultServlet::isServablePath("/WEB-INFO/x"));
    EXPECT_TRUE(DefaultServlet::isServablePath("/"));
}

TEST_F(DefaultServletTest, SymlinksOutOfTheDocBaseAreRefused)
{
    ASSERT_EQ(::symlink(_outside.file("secret.txt").c_str(), _root.file("leak.txt").c_str()), 0);
    ASSERT_EQ(::symlink(_outside.path().c_str(), _root.file("outdir").c_str()), 0);
    ASSERT_EQ(::symlink("/etc/passwd", _root.file("passwd").c_str()), 0);
    EXPECT_EQ(request("/leak.txt").status, 404);
    EXPECT_EQ(request("/outdir/secret.txt").status, 404);
    EXPECT_EQ(request("/outdir/").status, 404);
    EXPECT_EQ(request("/passwd").status, 404);
}

TEST_F(DefaultServletTest, SymlinksWithinTheDocBaseAreServed)
{
    ASSERT_EQ(::symlink("hello.txt", _root.file("alias.txt").c_str()), 0);
    ASSERT_EQ(::symlink("docs", _root.file("docs-link").c_str()), 0);
    Answer a = request("/alias.txt");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "Hello, World!");
    EXPECT_EQ(request("/docs-link/index.htm").body, "docs index");
}

TEST_F(DefaultServletTest, SpecialFilesAreNotServed)
{
    ASSERT_EQ(::mkfifo(_root.file("pipe.txt").c_str(), 0644), 0);
    EXPECT_EQ(request("/pipe.txt").status, 404); // and did not block on open
}

TEST_F(DefaultServletTest, UnreadableFileIsForbidden)
{
    if (::geteuid() == 0) {
        GTEST_SKIP() << "root reads every file";
    }
    _root.write("private.txt", "x");
    ASSERT_EQ(::chmod(_root.file("private.txt").c_str(), 0), 0);
    EXPECT_EQ(request("/private.txt").status, 403);
}

TEST_F(DefaultServletTest, ErrnoMapsToStatusInOnePlace)
{
    EXPECT_EQ(DefaultServlet::statusForErrno(ENOENT), 404);
    EXPECT_EQ(DefaultServlet::statusForErrno(ENOTDIR), 404);
    EXPECT_EQ(DefaultServlet::statusForErrno(ELOOP), 404);
    EXPECT_EQ(DefaultServlet::statusForErrno(EACCES), 403);
    EXPECT_EQ(DefaultServlet::statusForErrno(EPERM), 403);
    EXPECT_EQ(DefaultServlet::statusForErrno(EIO), 500);
    EXPECT_EQ(DefaultServlet::statusForErrno(EMFILE), 500);
}

TEST_F(DefaultServletTest, DirectoryWithoutSlashRedirectsKeepingTheQuery)
{
    Answer a = request("/docs", {}, "GET", "a=1&b=2");
    EXPECT_EQ(a.status, 302);
    EXPECT_EQ(a.header("location"), "/ctx/docs/?a=1&b=2");
    EXPECT_EQ(request("/docs").header("location"), "/ctx/docs/");
}

TEST_F(DefaultServletTest, DirectoryServesTheFirstExistingWelcomeFile)
{
    Answer root = request("/");
    EXPECT_EQ(root.status, 200);
    EXPECT_EQ(root.body, "<h1>home</h1>");
    EXPECT_EQ(root.header("content-type"), "text/html; charset=utf-8");
    Answer docs = request("/docs/");
    EXPECT_EQ(docs.status, 200);
    EXPECT_EQ(docs.body, "docs index");           // index.html absent, index.htm next
    EXPECT_EQ(request("").body, "<h1>home</h1>"); // empty path = context root
}

TEST_F(DefaultServletTest, DirectoryWithoutWelcomeFileIsNotListed)
{
    Answer a = request("/empty/");
    EXPECT_EQ(a.status, 404);
    EXPECT_TRUE(a.body.find(".keep") == std::string::npos);
}

TEST_F(DefaultServletTest, IfNoneMatchGivesNotModified)
{
    std::string etag = request("/hello.txt").header("etag");
    Answer a = request("/hello.txt", {{"If-None-Match", etag}});
    EXPECT_EQ(a.status, 304);
    EXPECT_EQ(a.body, "");
    EXPECT_EQ(a.header("etag"), etag);
    EXPECT_EQ(request("/hello.txt", {{"If-None-Match", "\"other\""}}).status, 200);
}

TEST_F(DefaultServletTest, IfModifiedSinceGivesNotModified)
{
    EXPECT_EQ(request("/hello.txt", {{"If-Modified-Since", serval::http::formatHttpDate(kMtime)}}).status,
              304);
    EXPECT_EQ(request("/hello.txt", {{"If-Modified-Since", serval::http::formatHttpDate(kMtime + 5)}}).status,
              304);
    EXPECT_EQ(request("/hello.txt", {{"If-Modified-Since", serval::http::formatHttpDate(kMtime - 5)}}).status,
              200);
    EXPECT_EQ(request("/hello.txt", {{"If-Modified-Since", "yesterday"}}).status, 200);
}

TEST_F(DefaultServletTest, IfNoneMatchWinsOverIfModifiedSince)
{
    std::string etag = request("/hello.txt").header("etag");
    std::string now = serval::http::formatHttpDate(kMtime);
    std::string old = serval::http::formatHttpDate(kMtime - 100);
    EXPECT_EQ(request("/hello.txt", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", now}}).status,
              200);
    EXPECT_EQ(request("/hello.txt", {{"If-None-Match", etag}, {"If-Modified-Since", old}}).status, 304);
}

TEST_F(DefaultServletTest, SingleRangeGivesPartialContent)
{
    Answer a = request("/hello.txt", {{"Range", "bytes=0-4"}});
    EXPECT_EQ(a.status, 206);
    EXPECT_EQ(a.body, "Hello");
    EXPECT_EQ(a.header("content-range"), "bytes 0-4/13");
    EXPECT_EQ(a.header("content-type"), "text/plain; charset=utf-8");

    Answer suffix = request("/hello.txt", {{"Range", "bytes=-6"}});
    EXPECT_EQ(suffix.status, 206);
    EXPECT_EQ(suffix.body, "World!");
    Answer open = request("/hello.txt", {{"Range", "bytes=7-"}});
    EXPECT_EQ(open.body, "World!");
    EXPECT_EQ(open.header("content-range"), "bytes 7-12/13");
}

TEST_F(DefaultServletTest, UnsatisfiableRangeGives416WithSize)
{
    Answer a = request("/hello.txt", {{"Range", "bytes=13-"}});
    EXPECT_EQ(a.status, 416);
    EXPECT_TRUE(a.error);
    EXPECT_EQ(a.header("content-range"), "bytes */13");
}

TEST_F(DefaultServletTest, SeveralRangesOrMalformedRangeGiveTheWholeFile)
{
    Answer multi = request("/hello.txt", {{"Range", "bytes=0-1,3-4"}});
    EXPECT_EQ(multi.status, 200);
    EXPECT_EQ(multi.body, "Hello, World!");
    EXPECT_EQ(request("/hello.txt", {{"Range", "bytes=4-1"}}).status, 200);
    EXPECT_EQ(request("/hello.txt", {{"Range", "lines=1-2"}}).status, 200);
}

TEST_F(DefaultServletTest, IfRangeControlsWhetherTheRangeApplies)
{
    std::string etag = request("/hello.txt").header("etag");
    std::string lastModified = serval::http::formatHttpDate(kMtime);
    Answer dateMatch = request("/hello.txt", {{"Range", "bytes=0-4"}, {"If-Range", lastModified}});
    EXPECT_EQ(dateMatch.status, 206);
    EXPECT_EQ(dateMatch.body, "Hello");
    Answer dateOld = request(
        "/hello.txt", {{"Range", "bytes=0-4"}, {"If-Range", serval::http::formatHttpDate(kMtime - 60)}});
    EXPECT_EQ(dateOld.status, 200);
    EXPECT_EQ(dateOld.body, "Hello, World!");
    Answer weakTag = request("/hello.txt", {{"Range", "bytes=0-4"}, {"If-Range", etag}});
    EXPECT_EQ(weakTag.status, 200); // weak tags never satisfy If-Range
    Answer otherTag = request("/hello.txt", {{"Range", "bytes=0-4"}, {"If-Range", "\"other\""}});
    EXPECT_EQ(otherTag.status, 200);
    // If-Range also keeps an unsatisfiable range from becoming a 416.
    EXPECT_EQ(request("/hello.txt", {{"Range", "bytes=99-"}, {"If-Range", "\"other\""}}).status, 200);
}

TEST_F(DefaultServletTest, PrecompressedGzipIsSentWhenAccepted)
{
    Answer gz = request("/app.js", {{"Accept-Encoding", "gzip, deflate, br"}});
    EXPECT_EQ(gz.status, 200);
    EXPECT_EQ(gz.body, "GZIPPED-BYTES");
    EXPECT_EQ(gz.header("content-encoding"), "gzip");
    EXPECT_EQ(gz.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(gz.header("vary"), "Accept-Encoding");

    Answer plain = request("/app.js");
    EXPECT_EQ(plain.body, "console.log('plain')");
    EXPECT_FALSE(plain.has("content-encoding"));
    EXPECT_EQ(plain.header("vary"), "Accept-Encoding");
    EXPECT_NE(plain.header("etag"), gz.header("etag"));

    Answer refused = request("/app.js", {{"Accept-Encoding", "gzip;q=0, deflate"}});
    EXPECT_EQ(refused.body, "console.log('plain')");
    EXPECT_FALSE(refused.has("content-encoding"));
    EXPECT_EQ(refused.header("vary"), "Accept-Encoding");

    Answer noGzipFile = request("/style.css", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(noGzipFile.body, "body{}");
    EXPECT_FALSE(noGzipFile.has("vary"));
    EXPECT_FALSE(noGzipFile.has("content-encoding"));

    // The .gz file itself is an ordinary file.
    Answer direct = request("/app.js.gz");
    EXPECT_EQ(direct.header("content-type"), "application/gzip");
    EXPECT_FALSE(direct.has("content-encoding"));
}

TEST_F(DefaultServletTest, ConditionalAndRangeApplyToTheGzipVariant)
{
    Answer gz = request("/app.js", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(request("/app.js", {{"Accept-Encoding", "gzip"}, {"If-None-Match", gz.header("etag")}}).status,
              304);
    Answer part = request("/app.js", {{"Accept-Encoding", "gzip"}, {"Range", "bytes=0-3"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.body, "GZIP");
    EXPECT_EQ(part.header("content-range"), "bytes 0-3/13");
}

TEST_F(DefaultServletTest, HeadHasTheHeadersAndLengthButNoBody)
{
    Answer head = request("/hello.txt", {}, "HEAD");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(head.declaredLength, 13);
    EXPECT_EQ(head.header("content-type"), "text/plain; charset=utf-8");
    EXPECT_FALSE(head.header("etag").empty());
    Answer big = request("/big.bin", {}, "HEAD");
    EXPECT_FALSE(big.fromFile);
    EXPECT_EQ(big.declaredLength, 100 * 1024 + 3);
    EXPECT_EQ(request("/hello.txt", {{"Range", "bytes=0-1"}}, "HEAD").declaredLength, 2);
}

TEST_F(DefaultServletTest, OnlyGetAndHeadAreAllowed)
{
    for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
        Answer a = request("/hello.txt", {}, method);
        EXPECT_EQ(a.status, 405) << method;
        EXPECT_EQ(a.header("allow"), "GET, HEAD, OPTIONS") << method;
    }
    Answer options = request("/hello.txt", {}, "OPTIONS");
    EXPECT_EQ(options.status, 200);
    EXPECT_EQ(options.header("allow"), "GET, HEAD, OPTIONS");
    EXPECT_EQ(options.body, "");
}

TEST_F(DefaultServletTest, CacheSeesChangesAfterTheValidityWindow)
{
    EXPECT_EQ(request("/hello.txt").body, "Hello, World!");
    _root.write("hello.txt", "Changed content");
    EXPECT_EQ(request("/hello.txt").body, "Hello, World!"); // within the second: cached
    gNow += 1;
    Answer changed = request("/hello.txt");
    EXPECT_EQ(changed.body, "Changed content");
    EXPECT_NE(changed.header("etag"), "W/\"13-1764100000000\"");

    ASSERT_EQ(::unlink(_root.file("hello.txt").c_str()), 0);
    gNow += 1;
    EXPECT_EQ(request("/hello.txt").status, 404);
    EXPECT_EQ(servlet().cache().entryCount(), servlet().cache().entryCount()); // no crash, consistent

    _root.write("later.css", "a{}");
    EXPECT_EQ(request("/later.css").body, "a{}"); // misses are never cached
}

TEST_F(DefaultServletTest, CacheNoticesANewGzipSibling)
{
    EXPECT_FALSE(request("/style.css", {{"Accept-Encoding", "gzip"}}).has("vary"));
    _root.write("style.css.gz", "GZ");
    gNow += 1;
    Answer a = request("/style.css", {{"Accept-Encoding", "gzip"}});
    EXPECT_EQ(a.body, "GZ");
    EXPECT_EQ(a.header("vary"), "Accept-Encoding");
}

TEST_F(DefaultServletTest, CacheIsBoundedInEntriesAndMemory)
{
    StaticConfig config;
    config.docBase = _root.path();
    config.mimeTypes = _types;
    config.cache.maxEntries = 16; // one per shard
    config.cache.maxMemoryBytes = 20;
    DefaultServlet small(config);
    for (int i = 0; i < 40; ++i)
        _root.write("f" + std::to_string(i) + ".txt", "0123456789");
    for (int i = 0; i < 40; ++i) {
        serval::http::HttpExchange exchange;
        exchange.request.method = "GET";
        serval::core::Response response(exchange);
        small.serve(exchange.request, "/f" + std::to_string(i) + ".txt", response);
        ASSERT_EQ(exchange.response.status(), 200);
        if (!exchange.response.fileBody()) {
            EXPECT_EQ(exchange.response.body(), "0123456789");
        }
    }
    EXPECT_LE(small.cache().entryCount(), 16u);
    EXPECT_LE(small.cache().memoryBytes(), 20u);
}

TEST_F(DefaultServletTest, CachedDescriptorsStayWithinTheProcessBudget)
{
    int64_t before = OpenFileCache::cachedDescriptors().load();
    EXPECT_GT(OpenFileCache::descriptorBudget(), 0);
    {
        StaticConfig config;
        config.docBase = _root.path();
        config.mimeTypes = _types;
        DefaultServlet servlet(config);
        serval::http::HttpExchange exchange;
        exchange.request.method = "GET";
        serval::core::Response response(exchange);
        servlet.serve(exchange.request, "/big.bin", response);
        ASSERT_TRUE(exchange.response.fileBody());
        EXPECT_EQ(OpenFileCache::cachedDescriptors().load(), before + 1);
        EXPECT_LE(OpenFileCache::cachedDescriptors().load(), OpenFileCache::descriptorBudget());
    }
    EXPECT_EQ(OpenFileCache::cachedDescriptors().load(), before); // given back with the cache
}

TEST_F(DefaultServletTest, ErrorPageIsServedForAnyMethodWithoutConditionalsOrRanges)
{
    Answer post = request("/hello.txt", {}, "POST", "", true);
    EXPECT_FALSE(post.error);
    EXPECT_EQ(post.body, "Hello, World!");

    Answer ranged = request("/hello.txt", {{"Range", "bytes=0-4"}, {"If-None-Match", "*"}}, "GET", "", true);
    EXPECT_NE(ranged.status, 206);
    EXPECT_NE(ranged.status, 304);
    EXPECT_EQ(ranged.body, "Hello, World!");
}
