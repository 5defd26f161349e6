// The `serval` binary end to end: configuration, routing by host and context, the CLI
// contract (--check-config, --help, --version, exit codes), graceful stop.
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

using serval::test::httpGet;
using serval::test::HttpReply;
using serval::test::ServalProcess;
using serval::test::TempDir;

extern char** environ;

namespace {

const char* kServerXml = R"(<Server>
  <Connector address="127.0.0.1" port="8080"/>
  <Engine defaultHost="localhost">
    <Host name="localhost" appBase="webapps"/>
    <Host name="example.test" aliases="www.example.test" appBase="example" accessLog="logs/example.log"/>
  </Engine>
</Server>
)";

/// A base with conf/server.xml, conf/web.xml, webapps/{ROOT,docs} and example/ROOT.
void writeBase(const TempDir& base)
{
    base.write("conf/server.xml", kServerXml);
    base.write("conf/web.xml", serval::test::readFile(serval::test::env("SERVAL_SOURCE", SERVAL_SOURCE_DIR) +
                                                      "/conf/web.xml"));
    base.write("webapps/ROOT/index.html", "root of localhost");
    base.write("webapps/docs/index.html", "the docs");
    base.write("webapps/docs/guide.txt", "guide");
    base.write("example/ROOT/index.html", "root of example.test");
}

struct Result
{
    int status = -1;
    std::string output; ///< stdout and stderr
};

/// Runs build/bin/serval with `args` to completion.
Result runServal(const std::vector<std::string>& args, const TempDir& dir)
{
    std::vector<std::string> all = {ServalProcess::binary()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string out = dir.file("run.out");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    Result r;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    r.output = serval::test::readFile(out);
    return r;
}

class ServerTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        _base = std::make_unique<TempDir>();
        writeBase(*_base);
        _server = std::make_unique<ServalProcess>(_base->path());
        ASSERT_TRUE(_server->start()) << _server->error();
    }
    static void TearDownTestSuite()
    {
        _server.reset();
        _base.reset();
    }
    static uint16_t port() { return _server->port(); }

    static std::unique_ptr<TempDir> _base;
    static std::unique_ptr<ServalProcess> _server;
};

std::unique_ptr<TempDir> ServerTest::_base;
std::unique_ptr<ServalProcess> ServerTest::_server;

} // namespace

TEST_F(ServerTest, ServesTheRootContext)
{
    HttpReply r = httpGet(port(), "/");
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body, "root of localhost");
    EXPECT_EQ(r.header("Server"), "Serval");
}

TEST_F(ServerTest, ContextPathWithoutSlashRedirects)
{
    HttpReply r = httpGet(port(), "/docs?page=2");
    ASSERT_EQ(r.status, 302) << r.raw;
    EXPECT_EQ(r.header("Location"), "/docs/?page=2");
    HttpReply docs = httpGet(port(), "/docs/");
    EXPECT_EQ(docs.status, 200);
    EXPECT_EQ(docs.body, "the docs");
    EXPECT_EQ(httpGet(port(), "/docs/guide.txt").body, "guide");
}

TEST_F(ServerTest, VirtualHostsByHostHeader)
{
    EXPECT_EQ(httpGet(port(), "/", {{"Host", "example.test"}}).body, "root of example.test");
    EXPECT_EQ(httpGet(port(), "/", {{"Host", "WWW.Example.Test:8080"}}).body, "root of example.test");
    EXPECT_EQ(httpGet(port(), "/", {{"Host", "other.test"}}).body, "root of localhost"); // default host
}

TEST_F(ServerTest, EncodedSlashAndTraversalAre400)
{
    EXPECT_EQ(httpGet(port(), "/docs%2Fguide.txt").status, 400);
    EXPECT_EQ(httpGet(port(), "/docs/%2e%2e/%2e%2e/conf/server.xml").status, 400);
}

TEST_F(ServerTest, UnknownFileIsAnHtml404)
{
    HttpReply r = httpGet(port(), "/docs/nope.html");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("404 Not Found"), std::string::npos);
}

TEST_F(ServerTest, WritesTheServerLogAndAccessLog)
{
    httpGet(port(), "/docs/guide.txt", {{"User-Agent", "server-test"}});
    EXPECT_TRUE(serval::test::eventually([] {
        return serval::test::readFile(_base->file("logs/access.log"))
                   .find("\"GET /docs/guide.txt HTTP/1.1\" 200") != std::string::npos;
    })) << serval::test::readFile(_base->file("logs/access.log"));
    EXPECT_NE(serval::test::readFile(_base->file("logs/serval.log")).find("listening on http://127.0.0.1:"),
              std::string::npos);
}

TEST_F(ServerTest, EachHostMayHaveItsOwnAccessLog)
{
    httpGet(port(), "/example-only", {{"Host", "example.test"}});
    EXPECT_TRUE(serval::test::eventually([] {
        return serval::test::readFile(_base->file("logs/example.log"))
                   .find("\"GET /example-only HTTP/1.1\" 404") != std::string::npos;
    }));
    EXPECT_EQ(serval::test::readFile(_base->file("logs/access.log")).find("/example-only"),
              std::string::npos);
}

TEST_F(ServerTest, CredentialsInUrlsAreRedactedInTheAccessLog)
{
    // Refused or not, a secret a client puts in a URL (or a Referer) is never written in clear.
    httpGet(port(), "/manager/api/apps?token=svl_SECRET1&page=2");
    httpGet(port(), "/manager/api/apps?access_token=SECRET2");
    httpGet(port(), "/docs/?csrf=SECRET3&password=SECRET4&api_key=SECRET5",
            {{"Referer", "http://localhost/docs/?token=SECRET6"}});
    httpGet(port(), "/docs/guide.txt?redaction-probe-done");
    std::string log;
    ASSERT_TRUE(serval::test::eventually([&] {
        log = serval::test::readFile(_base->file("logs/access.log"));
        return log.find("redaction-probe-done") != std::string::npos;
    })) << log;
    for (const char* secret : {"SECRET1", "SECRET2", "SECRET3", "SECRET4", "SECRET5", "SECRET6"})
        EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in\n" << log;
    EXPECT_NE(log.find("\"GET /manager/api/apps?token=REDACTED&page=2 HTTP/1.1\" 401"), std::string::npos)
        << log;
    EXPECT_NE(log.find("/docs/?csrf=REDACTED&password=REDACTED&api_key=REDACTED HTTP/1.1"), std::string::npos)
        << log;
    EXPECT_NE(log.find("\"http://localhost/docs/?token=REDACTED\""), std::string::npos) << log;
    std::string serverLog = serval::test::readFile(_base->file("logs/serval.log"));
    for (const char* secret : {"SECRET1", "SECRET2", "SECRET3", "SECRET4", "SECRET5", "SECRET6"})
        EXPECT_EQ(serverLog.find(secret), std::string::npos) << secret;
}

TEST(ServerProcessTest, SigtermStopsGracefullyWithExitZero)
{
    TempDir base;
    writeBase(base);
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();
    EXPECT_EQ(httpGet(server.port(), "/").status, 200);
    EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
    EXPECT_NE(server.log().find("received SIGTERM; stopping"), std::string::npos);
}

TEST(ServerProcessTest, SigtermWithARequestStuckInAppCodeExitsByTheShutdownDeadlineNamingIt)
{
    TempDir base;
    writeBase(base);
    // In-process: the server's own threads are the ones stuck in app code (an isolated app's
    // worker is killed after the drain timeout instead).
    base.write("conf/server.xml", "<Server shutdownTimeout=\"1500\">\n  <Connector/>\n"
                                  "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" "
                                  "appBase=\"webapps\" isolation=\"none\"/></Engine>\n</Server>\n");
    base.write("webapps/hang/WEB-INF/web.xml",
               "<web-app><servlet><servlet-name>hang</servlet-name><servlet-class>misbehaving.Hang"
               "</servlet-class></servlet><servlet-mapping><servlet-name>hang</servlet-name>"
               "<url-pattern>/loop</url-pattern></servlet-mapping></web-app>\n");
    base.write("webapps/hang/WEB-INF/lib/libhang.so",
               serval::test::readFile(serval::test::fixtureLibrary("misbehaving")));
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();
    serval::test::RawConnection stuck;
    ASSERT_TRUE(stuck.connect(server.address(), server.port()));
    ASSERT_TRUE(stuck.send("GET /hang/loop?token=s3cret HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ASSERT_TRUE(server.waitForLog("misbehaving: hanging")) << server.log();

    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(server.stop(SIGTERM), 1) << "not 0: the stop did not finish; not -1: no SIGKILL was needed\n"
                                       << server.log();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500 + 3000));
    std::string log = server.log();
    // The connectors' drain ends 2 s before shutdownTimeout (here at once): the stuck request is
    // named there, and the stop exits 1 without waiting for app code that will not return.
    EXPECT_NE(log.find("still running after the drain deadline: GET /hang/loop?token=REDACTED"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("stopped with 1 request(s) still running after the drain deadline; exiting"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("s3cret"), std::string::npos);
}

/// A base whose app /hang never returns from /hang/loop (misbehaving.Hang) and whose app /ok
/// answers "ok" from app code (misbehaving.Ok), both in the server process, /hang on a share
/// of one thread with one waiting; two workers in all, a 500 ms drain.
void writeHungAppBase(const TempDir& base)
{
    writeBase(base);
    base.write("conf/server.xml",
               "<Server shutdownTimeout=\"60000\">\n"
               "  <Connector address=\"127.0.0.1\" port=\"8080\" workerThreads=\"2\" drainTimeout=\"500\"/>\n"
               "  <Engine defaultHost=\"localhost\">\n"
               "    <Host name=\"localhost\" appBase=\"webapps\" isolation=\"none\">\n"
               "      <Context path=\"/hang\" maxThreads=\"1\" maxQueue=\"1\"/>\n"
               "    </Host>\n  </Engine>\n</Server>\n");
    const std::string library = serval::test::readFile(serval::test::fixtureLibrary("misbehaving"));
    for (const char* app : {"hang", "ok"}) {
        const std::string servlet = std::string(app) == "hang" ? "misbehaving.Hang" : "misbehaving.Ok";
        base.write(std::string("webapps/") + app + "/WEB-INF/web.xml",
                   "<web-app><servlet><servlet-name>s</servlet-name><servlet-class>" + servlet +
                       "</servlet-class></servlet><servlet-mapping><servlet-name>s</servlet-name>"
                       "<url-pattern>/loop</url-pattern></servlet-mapping></web-app>\n");
        base.write(std::string("webapps/") + app + "/WEB-INF/lib/lib" + app + ".so", library);
    }
}

TEST(ServerProcessTest, AHungAppHoldsOnlyItsShareOfThePoolAndStopEndsAtTheDrainDeadline)
{
    TempDir base;
    writeHungAppBase(base);
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();
    serval::test::RawConnection stuck, waiting;
    ASSERT_TRUE(stuck.connect(server.address(), server.port()));
    ASSERT_TRUE(stuck.send("GET /hang/loop?token=s3cret HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ASSERT_TRUE(server.waitForLog("misbehaving: hanging")) << server.log();
    // Its one thread is taken: the next waits in its queue, the one after is refused.
    ASSERT_TRUE(waiting.connect(server.address(), server.port()));
    ASSERT_TRUE(waiting.send("GET /hang/loop HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ASSERT_TRUE(serval::test::eventually(
        [&] {
            return httpGet(server.port(), "/metrics")
                       .body.find("serval_app_queued{host=\"localhost\",context=\"/hang\"} 1") !=
                   std::string::npos;
        },
        std::chrono::seconds(5)))
        << httpGet(server.port(), "/metrics").body;
    HttpReply refused = httpGet(server.port(), "/hang/loop");
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.header("Retry-After"), "1");

    // The other app still has the pool's second thread, the manager threads of its own.
    HttpReply ok = httpGet(server.port(), "/ok/loop");
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, "ok");
    EXPECT_EQ(httpGet(server.port(), "/ok/loop").body, "ok") << "and again: the share was handed back";
    std::string metrics = httpGet(server.port(), "/metrics").body;
    EXPECT_NE(metrics.find("serval_app_workers_busy{host=\"localhost\",context=\"/hang\"} 1"),
              std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("serval_app_rejected_total{host=\"localhost\",context=\"/hang\"} 1"),
              std::string::npos)
        << metrics;

    // The drain deadline is hard: stop() names what still runs and the process exits 1, long
    // before shutdownTimeout (60 s).
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(server.stop(SIGTERM), 1) << server.log();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    std::string log = server.log();
    EXPECT_NE(
        log.find("still running after the drain deadline: GET /hang/loop?token=REDACTED (host localhost, "
                 "from 127.0.0.1, running "),
        std::string::npos)
        << log;
    EXPECT_NE(log.find("stopped with 1 request(s) still running after the drain deadline; exiting"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("s3cret"), std::string::npos);
    EXPECT_EQ(log.find("stopping took longer than shutdownTimeout"), std::string::npos);
}

TEST(ServerProcessTest, TwentyLoopingRequestsInOneAppLeaveTheManagerMetricsAndOtherAppsAnswering)
{
    TempDir base;
    writeHungAppBase(base);
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();
    // Twenty clients at the app that never returns: its one thread runs one, its queue holds one,
    // the other eighteen are refused at once instead of taking the pool.
    std::vector<std::unique_ptr<serval::test::RawConnection>> clients;
    for (int i = 0; i < 20; ++i) {
        clients.push_back(std::make_unique<serval::test::RawConnection>());
        ASSERT_TRUE(clients.back()->connect(server.address(), server.port()));
        ASSERT_TRUE(clients.back()->send("GET /hang/loop HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    }
    ASSERT_TRUE(server.waitForLog("misbehaving: hanging")) << server.log();
    int refused = 0;
    for (auto& client : clients) {
        auto reply = client->readResponse(false, std::chrono::seconds(2));
        if (reply && reply->status == 503) ++refused;
    }
    EXPECT_EQ(refused, 18);

    // The admin pool serves the page, login and /metrics; the other app has its threads.
    EXPECT_EQ(httpGet(server.port(), "/manager/").status, 200);
    HttpReply login = serval::test::httpRequest(
        server.port(), "POST", "/manager/api/login",
        {{"Host", "localhost"}, {"Content-Type", "application/json"}, {"Connection", "close"}},
        "{\"user\":\"nobody\",\"password\":\"wrong\"}", server.address());
    EXPECT_EQ(login.status, 401) << login.body;
    HttpReply metrics = httpGet(server.port(), "/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find("serval_app_workers_busy{host=\"localhost\",context=\"/hang\"} 1"),
              std::string::npos)
        << metrics.body;
    EXPECT_EQ(httpGet(server.port(), "/ok/loop").body, "ok");
    EXPECT_EQ(server.stop(SIGTERM), 1) << server.log();
}

TEST(ServerProcessTest, SigintStopsWithExitZero)
{
    TempDir base;
    writeBase(base);
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();
    EXPECT_EQ(server.stop(SIGINT), 0) << server.log();
}

TEST(ServerProcessTest, AddressOverrideIsLogged)
{
    TempDir base;
    writeBase(base);
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start({"--address", "127.0.0.1"})) << server.error();
    EXPECT_EQ(server.address(), "127.0.0.1");
    EXPECT_NE(server.port(), 8080);
}

TEST(ServerProcessTest, CheckConfigAcceptsAValidBase)
{
    TempDir base;
    writeBase(base);
    Result r = runServal({"--base", base.path(), "--check-config"}, base);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("conf/server.xml: OK (1 connector(s), 2 host(s))"), std::string::npos)
        << r.output;
}

TEST(ServerProcessTest, CheckConfigNamesFileAndLine)
{
    TempDir base;
    writeBase(base);
    base.write("conf/server.xml", "<Server>\n  <Connector prot=\"80\"/>\n</Server>\n");
    Result r = runServal({"--base", base.path(), "--check-config"}, base);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(
        r.output.rfind(
            "conf/server.xml:2: unknown attribute \"prot\" on <Connector>; expected one of: address, port",
            0),
        0u)
        << r.output;
    base.write("conf/server.xml", kServerXml);
    base.write("conf/web.xml",
               "<web-app>\n\n<mime-mapping><extension>x</extension></mime-mapping></web-app>");
    r = runServal({"--base", base.path(), "--check-config"}, base);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.output, "conf/web.xml:3: <mime-mapping> needs a <mime-type>\n");
}

TEST(ServerProcessTest, BadConfigStopsStartUpWithTheSameMessage)
{
    TempDir base;
    writeBase(base);
    base.write("conf/server.xml", "<Server>\n<Connector port=\"http\"/></Server>");
    Result r = runServal({"--base", base.path()}, base);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.output.find("conf/server.xml:2: bad value \"http\" for attribute \"port\""),
              std::string::npos)
        << r.output;
}

TEST(ServerProcessTest, PortInUseFailsWithOneLine)
{
    TempDir base;
    writeBase(base);
    ServalProcess first(base.path());
    ASSERT_TRUE(first.start());
    TempDir other;
    writeBase(other);
    Result r = runServal({"--base", other.path(), "--port", std::to_string(first.port())}, other);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("cannot start: "), std::string::npos) << r.output;
}

TEST(ServerProcessTest, HelpVersionAndUsageErrors)
{
    TempDir dir;
    Result help = runServal({"--help"}, dir);
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.output.find("--check-config"), std::string::npos);
    EXPECT_NE(help.output.find("passwd"), std::string::npos);
    Result version = runServal({"--version"}, dir);
    EXPECT_EQ(version.status, 0);
    EXPECT_EQ(version.output.rfind("serval ", 0), 0u);
    Result bad = runServal({"--bogus"}, dir);
    EXPECT_EQ(bad.status, 2);
    EXPECT_EQ(bad.output, "serval: unknown option \"--bogus\"; see serval --help\n");
    Result badPort = runServal({"--port", "x"}, dir);
    EXPECT_EQ(badPort.status, 2);
    Result missingBase = runServal({"--base", dir.file("nope"), "--check-config"}, dir);
    EXPECT_EQ(missingBase.status, 1);
}

TEST(ServerProcessTest, ListeningLineIsWrittenWhateverTheLogLevel)
{
    TempDir base;
    writeBase(base);
    base.write("conf/server.xml",
               "<Server logLevel=\"error\">\n  <Connector/>\n  <Engine defaultHost=\"localhost\">\n"
               "    <Host name=\"localhost\" appBase=\"webapps\"/>\n  </Engine>\n</Server>\n");
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();
    EXPECT_EQ(httpGet(server.port(), "/").body, "root of localhost");
}
