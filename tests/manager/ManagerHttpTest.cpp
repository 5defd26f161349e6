// The manager over HTTP against a real `serval` (tests/support ServalProcess): authentication
// everywhere, CSRF, roles, tokens, lockout, the address allow list, and each action's effect
// in the registry and on the served app (also through servalctl).
#include "registry/Registry.h"
#include "support/DataSourceApps.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <arpa/inet.h>
#include <atomic>
#include <cstdio>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace serval;
using serval::test::eventually;
using serval::test::HttpReply;
using serval::test::ServalProcess;
using serval::test::TempDir;

namespace {

constexpr const char* kCsp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                             "frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

Poco::JSON::Object::Ptr json(const std::string& body)
{
    return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
}

/// Runs a shell command; returns its exit status and stdout+stderr.
int shell(const std::string& command, std::string* output = nullptr)
{
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return -1;
    std::string text;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
        text.append(buffer, n);
    int status = ::pclose(pipe);
    if (output) *output = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string quote(const std::string& s)
{
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out.push_back(c);
    }
    return out + "'";
}

/// GET from a chosen source address (the allow-list test): returns the status code, 0 on error.
int statusFrom(const std::string& source, const std::string& address, uint16_t port,
               const std::string& target)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    ::inet_pton(AF_INET, address.c_str(), &remote.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
        ::close(fd);
        return 0;
    }
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    (void)::write(fd, request.data(), request.size());
    char buffer[64];
    ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
    ::close(fd);
    if (n < 12) return 0;
    return std::atoi(std::string(buffer + 9, 3).c_str());
}

class ManagerHttpTest : public ::testing::Test
{
protected:
    void SetUp() override { startServer("127.0.0.0/8,::1"); }

    void startServer(const std::string& allow, const std::vector<std::string>& args = {})
    {
        base.write(
            "conf/server.xml",
            "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
            "  <Connector address=\"127.0.0.1\" port=\"0\" workerThreads=\"4\"/>\n"
            "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\"/></Engine>\n"
            "  <Manager path=\"/manager\" allow=\"" +
                allow + "\"/>\n</Server>\n");
        std::string source = test::env("SERVAL_SOURCE");
        base.write("conf/web.xml", test::readFile(source + "/conf/web.xml"));
        base.write("webapps/hello/WEB-INF/web.xml",
                   "<web-app><display-name>Hello</display-name></web-app>\n");
        base.write("webapps/hello/index.html", "hello from the exploded app\n");
        for (const auto& [user, roles] : std::vector<std::pair<std::string, std::string>>{
                 {"admin", "manager-gui,manager-script,manager-status"},
                 {"viewer", "manager-status"},
                 {"bot", "manager-script"}}) {
            std::string output;
            int rc = shell("printf '%s\\n' " + quote(user + "-password") + " | " +
                               quote(ServalProcess::binary()) + " passwd " + user + " --base " +
                               quote(base.path()) + " --roles " + roles + " --stdin --iterations 1000",
                           &output);
            ASSERT_EQ(rc, 0) << output;
        }
        server = std::make_unique<ServalProcess>(base.path());
        ASSERT_TRUE(server->start(args)) << server->error() << server->log();
    }

    HttpReply call(const std::string& method, const std::string& target, const std::string& body = "",
                   std::map<std::string, std::string> headers = {})
    {
        headers["Host"] = "localhost";
        headers["Connection"] = "close";
        if (!cookie.empty()) headers["Cookie"] = "SERVAL_MANAGER=" + cookie;
        if (!csrf.empty() && method != "GET") headers["X-CSRF-Token"] = csrf;
        if (!body.empty() && !headers.count("Content-Type")) headers["Content-Type"] = "application/json";
        return test::httpRequest(server->port(), method, target, headers, body, server->address());
    }

    HttpReply login(const std::string& user, const std::string& password)
    {
        auto reply = call("POST", "/manager/api/login",
                          "{\"user\":\"" + user + "\",\"password\":\"" + password + "\"}");
        if (reply.status == 200) {
            std::string setCookie = reply.header("Set-Cookie");
            auto eq = setCookie.find('=');
            cookie = setCookie.substr(eq + 1, setCookie.find(';') - eq - 1);
            csrf = json(reply.body)->getValue<std::string>("csrf");
        }
        return reply;
    }

    std::string createToken()
    {
        auto reply = call("POST", "/manager/api/tokens", "{\"name\":\"ci\"}");
        EXPECT_EQ(reply.status, 201) << reply.body;
        return json(reply.body)->getValue<std::string>("token");
    }

    int servalctl(const std::string& token, const std::string& args, std::string* output)
    {
        std::string url = "http://" + server->address() + ":" + std::to_string(server->port());
        return shell("SERVAL_TOKEN=" + quote(token) + " " + quote(test::env("SERVAL_BIN") + "/servalctl") +
                         " --url " + url + " " + args,
                     output);
    }

    /// A bundle answering `marker` at its index page, packed with servalctl.
    std::string bundle(const std::string& name, const std::string& marker)
    {
        base.write("src/" + name + "/WEB-INF/web.xml",
                   "<web-app><display-name>" + name + "</display-name></web-app>\n");
        base.write("src/" + name + "/index.html", marker + "\n");
        std::string file = base.file(name + ".sar");
        std::string output;
        EXPECT_EQ(shell(quote(test::env("SERVAL_BIN") + "/servalctl") + " pack " +
                            quote(base.file("src/" + name)) + " -o " + quote(file),
                        &output),
                  0)
            << output;
        return file;
    }

    std::optional<registry::Deployment> deployment(const std::string& path)
    {
        registry::Registry reg(base.file("data/serval.db"));
        for (const auto& d : reg.deployments("localhost")) {
            if (d.path == path) return d;
        }
        return std::nullopt;
    }

    TempDir base;
    std::unique_ptr<ServalProcess> server;
    std::string cookie;
    std::string csrf;
};

} // namespace

TEST_F(ManagerHttpTest, AuthenticationIsRequiredEverywhere)
{
    for (const char* target :
         {"/manager/api/apps", "/manager/api/app?path=/hello", "/manager/api/status", "/manager/api/history",
          "/manager/api/audit", "/manager/api/logs", "/manager/api/tokens", "/manager/api/session"}) {
        auto reply = call("GET", target);
        EXPECT_EQ(reply.status, 401) << target;
        EXPECT_EQ(json(reply.body)->getValue<std::string>("error"), "unauthorized") << target;
        EXPECT_EQ(reply.header("Content-Security-Policy"), kCsp);
    }
    for (const char* target :
         {"/manager/api/stop?path=/hello", "/manager/api/undeploy?path=/hello",
          "/manager/api/deploy?file=x.sar", "/manager/api/tokens", "/manager/api/logout"}) {
        EXPECT_EQ(call("POST", target, "{}").status, 401) << target;
    }
    auto bogus = call("GET", "/manager/api/apps", "", {{"Authorization", "Bearer svl_forged"}});
    EXPECT_EQ(bogus.status, 401);
    EXPECT_EQ(call("GET", "/hello/").status, 200);
}

TEST_F(ManagerHttpTest, SecurityHeadersOnPageAndApi)
{
    for (const char* target : {"/manager/", "/manager/assets/app.js", "/manager/api/apps", "/manager/nope"}) {
        auto reply = call("GET", target);
        EXPECT_EQ(reply.header("Content-Security-Policy"), kCsp) << target;
        EXPECT_EQ(reply.header("X-Frame-Options"), "DENY") << target;
        EXPECT_EQ(reply.header("X-Content-Type-Options"), "nosniff") << target;
        EXPECT_EQ(reply.header("Referrer-Policy"), "no-referrer") << target;
        EXPECT_EQ(reply.header("Cache-Control"), "no-store") << target;
    }
    EXPECT_EQ(call("GET", "/manager").status, 302);
}

TEST_F(ManagerHttpTest, CsrfTokenIsEnforcedAndStopReachesRegistryAndApp)
{
    auto reply = login("admin", "admin-password");
    ASSERT_EQ(reply.status, 200) << reply.body;
    std::string setCookie = reply.header("Set-Cookie");
    EXPECT_NE(setCookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(setCookie.find("SameSite=Strict"), std::string::npos);
    EXPECT_NE(setCookie.find("Path=/manager"), std::string::npos);

    std::string token = csrf;
    csrf.clear();
    EXPECT_EQ(call("POST", "/manager/api/stop?path=/hello").status, 403);
    csrf = token;
    csrf[0] = csrf[0] == 'x' ? 'y' : 'x'; // same length, always a different token
    EXPECT_EQ(call("POST", "/manager/api/stop?path=/hello").status, 403);
    EXPECT_EQ(call("GET", "/hello/").status, 200);

    csrf = token;
    auto stopped = call("POST", "/manager/api/stop?path=/hello");
    ASSERT_EQ(stopped.status, 200) << stopped.body;
    EXPECT_EQ(call("GET", "/hello/").status, 503);
    auto row = deployment("/hello");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, registry::DeploymentState::Stopped);
    EXPECT_EQ(row->desiredState, registry::DeploymentState::Stopped);

    ASSERT_EQ(call("POST", "/manager/api/start?path=/hello").status, 200);
    EXPECT_EQ(call("GET", "/hello/").body, "hello from the exploded app\n");
    EXPECT_EQ(deployment("/hello")->state, registry::DeploymentState::Running);

    registry::Registry reg(base.file("data/serval.db"));
    auto audit = reg.audit(20);
    ASSERT_GE(audit.size(), 4u);
    EXPECT_EQ(audit[0].action, "start");
    EXPECT_EQ(audit[0].user, "admin");
    EXPECT_EQ(audit[0].address, "127.0.0.1");
    EXPECT_EQ(audit[0].result, "ok");
    EXPECT_EQ(audit[1].action, "stop");
    bool csrfRefusal = false;
    for (const auto& a : audit)
        csrfRefusal = csrfRefusal || a.result.find("CSRF") != std::string::npos;
    EXPECT_TRUE(csrfRefusal);
}

TEST_F(ManagerHttpTest, RolesLimitWhatEachUserMayDo)
{
    ASSERT_EQ(login("viewer", "viewer-password").status, 200);
    EXPECT_EQ(call("GET", "/manager/api/apps").status, 200);
    EXPECT_EQ(call("GET", "/manager/api/status").status, 200);
    EXPECT_EQ(call("POST", "/manager/api/stop?path=/hello").status, 403);
    EXPECT_EQ(call("POST", "/manager/api/tokens", "{\"name\":\"x\"}").status, 403);
    EXPECT_EQ(call("GET", "/hello/").status, 200);
    cookie.clear();
    csrf.clear();
    auto bot = login("bot", "bot-password"); // manager-script only: tokens, never the page's cookie
    EXPECT_EQ(bot.status, 403);
    EXPECT_TRUE(bot.header("Set-Cookie").empty());
}

TEST_F(ManagerHttpTest, LockoutAfterFiveFailures)
{
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(login("admin", "wrong").status, 401);
    auto locked = login("ADMIN", "admin-password");
    EXPECT_EQ(locked.status, 429);
    EXPECT_EQ(json(locked.body)->getValue<std::string>("error"), "locked_out");
    EXPECT_FALSE(locked.header("Retry-After").empty());
    EXPECT_EQ(login("viewer", "viewer-password").status, 200); // other users are unaffected
}

TEST_F(ManagerHttpTest, ServalctlDrivesTheWholeLifecycleWithAToken)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    std::string token = createToken();
    std::string greet = bundle("greet", "greetings from the bundle");
    std::string output;

    ASSERT_EQ(servalctl(token, "deploy " + greet, &output), 0) << output;
    EXPECT_NE(output.find("/greet"), std::string::npos) << output;
    EXPECT_TRUE(eventually([&] { return call("GET", "/greet/").body == "greetings from the bundle\n"; }));
    auto row = deployment("/greet");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, registry::DeploymentState::Running);
    EXPECT_EQ(row->checksum.size(), 64u);

    ASSERT_EQ(servalctl(token, "list", &output), 0) << output;
    EXPECT_NE(output.find("/greet"), std::string::npos);
    EXPECT_NE(output.find("running"), std::string::npos);
    ASSERT_EQ(servalctl(token, "list --json", &output), 0);
    EXPECT_NE(output.find("\"apps\""), std::string::npos);

    // Deploying it again needs --update.
    EXPECT_EQ(servalctl(token, "deploy " + greet, &output), 1);
    EXPECT_NE(output.find("already deployed"), std::string::npos) << output;

    ASSERT_EQ(servalctl(token, "stop /greet", &output), 0) << output;
    EXPECT_EQ(call("GET", "/greet/").status, 503);
    EXPECT_EQ(deployment("/greet")->state, registry::DeploymentState::Stopped);
    ASSERT_EQ(servalctl(token, "start /greet", &output), 0) << output;
    EXPECT_EQ(call("GET", "/greet/").status, 200);
    ASSERT_EQ(servalctl(token, "reload /greet", &output), 0) << output;
    EXPECT_TRUE(eventually([&] { return call("GET", "/greet/").status == 200; }));

    ASSERT_EQ(servalctl(token, "status", &output), 0) << output;
    EXPECT_NE(output.find("uptime"), std::string::npos);
    ASSERT_EQ(servalctl(token, "history /greet", &output), 0) << output;
    EXPECT_NE(output.find("stopped"), std::string::npos) << output;

    ASSERT_EQ(servalctl(token, "undeploy /greet", &output), 0) << output;
    EXPECT_TRUE(eventually([&] { return call("GET", "/greet/").status == 404; }));
    EXPECT_FALSE(deployment("/greet"));

    // A refused bundle: exit 1 and the deployer's one-line reason.
    base.write("broken.sar", "not an archive at all\n");
    EXPECT_EQ(servalctl(token, "deploy " + base.file("broken.sar"), &output), 1);
    EXPECT_NE(output.find("broken.sar"), std::string::npos) << output;
    EXPECT_EQ(output.find('\n'), output.size() - 1) << "one line: " << output;

    EXPECT_EQ(servalctl(token, "stop /nothing-here", &output), 1);
    EXPECT_EQ(servalctl(token, "stop", &output), 2);

    // A revoked token stops working at once.
    auto tokens = json(call("GET", "/manager/api/tokens").body)->getArray("tokens");
    ASSERT_EQ(tokens->size(), 1u);
    auto id = tokens->getObject(0)->getValue<long long>("id");
    ASSERT_EQ(call("DELETE", "/manager/api/tokens/" + std::to_string(id)).status, 200);
    EXPECT_EQ(servalctl(token, "list", &output), 1);
    EXPECT_NE(output.find("revoked"), std::string::npos) << output;
}

TEST_F(ManagerHttpTest, UploadThroughTheApiAndMetrics)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    std::string bytes = test::readFile(bundle("up", "uploaded"));
    auto reply = call("POST", "/manager/api/deploy?file=up.sar", bytes,
                      {{"Content-Type", "application/octet-stream"}});
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(json(reply.body)->getObject("app")->getValue<std::string>("path"), "/up");
    EXPECT_TRUE(eventually([&] { return call("GET", "/up/").body == "uploaded\n"; }));
    auto detail = call("GET", "/manager/api/app?path=/up");
    ASSERT_EQ(detail.status, 200) << detail.body;
    EXPECT_EQ(json(detail.body)->getObject("files")->getValue<int>("count"), 2);

    auto metrics = call("GET", "/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find("serval_up 1"), std::string::npos);
    EXPECT_NE(metrics.body.find("serval_app_requests_total{host=\"localhost\",context=\"/up\"}"),
              std::string::npos);
}

TEST_F(ManagerHttpTest, ClientOutsideTheAllowListIsRefused)
{
    server.reset();
    ::unlink(base.file("serval.stderr").c_str()); // the next start must not read the old "listening on"
    startServer("127.0.0.1/32", {"--address", "127.0.0.2"});
    ASSERT_EQ(server->address(), "127.0.0.2");
    // Loopback traffic to 127.0.0.2 leaves from 127.0.0.1 unless the client binds its source.
    EXPECT_EQ(statusFrom("127.0.0.2", "127.0.0.2", server->port(), "/manager/"), 403);
    EXPECT_EQ(statusFrom("127.0.0.2", "127.0.0.2", server->port(), "/manager/api/apps"), 403);
    EXPECT_EQ(statusFrom("127.0.0.2", "127.0.0.2", server->port(), "/metrics"), 403);
    EXPECT_EQ(statusFrom("127.0.0.2", "127.0.0.2", server->port(), "/hello/"), 200);
    EXPECT_EQ(statusFrom("127.0.0.1", "127.0.0.2", server->port(), "/manager/"), 200);
    EXPECT_TRUE(server->waitForLog("not in the manager allow list"));
}

namespace {

/// The one-value answer of `sql` on the SQLite file `file` ("" if it cannot be read).
std::string sqliteValue(const std::string& file, const std::string& sql)
{
    sqlite3* db = nullptr;
    std::string value;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
            sqlite3_step(statement) == SQLITE_ROW) {
            const unsigned char* text = sqlite3_column_text(statement, 0);
            value = text ? reinterpret_cast<const char*>(text) : "";
        }
        sqlite3_finalize(statement);
    }
    sqlite3_close(db);
    return value;
}

} // namespace

TEST_F(ManagerHttpTest, DataSourcesOnTheApiAndMetricsAndABackupUnderWriteLoad)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    std::string token = createToken();
    test::writeDataSourceApp(base, "src/shop", "guestbook", test::guestbookWebXml("shop"),
                             {{"V1__create_tables.sql", test::createTables(false)}});
    std::string sar = base.file("shop.sar");
    std::string output;
    ASSERT_EQ(shell(quote(test::env("SERVAL_BIN") + "/servalctl") + " pack " + quote(base.file("src/shop")) +
                        " -o " + quote(sar),
                    &output),
              0)
        << output;
    ASSERT_EQ(servalctl(token, "deploy " + sar, &output), 0) << output;
    auto add = [&](const std::string& name) {
        return call("POST", "/shop/entries", "name=" + name + "&message=hi",
                    {{"Content-Type", "application/x-www-form-urlencoded"}});
    };
    for (const char* name : {"ada", "brian", "cy"})
        ASSERT_EQ(add(name).status, 200);

    // The API: every data source, and the app's own on its detail.
    auto listed = call("GET", "/manager/api/datasources");
    ASSERT_EQ(listed.status, 200) << listed.body;
    auto sources = json(listed.body)->getArray("dataSources");
    ASSERT_EQ(sources->size(), 1u) << listed.body;
    auto main = sources->getObject(0);
    EXPECT_EQ(main->getValue<std::string>("host"), "localhost");
    EXPECT_EQ(main->getValue<std::string>("path"), "/shop");
    EXPECT_EQ(main->getValue<std::string>("name"), "main");
    EXPECT_EQ(main->getValue<std::string>("type"), "sqlite");
    EXPECT_NE(main->getValue<std::string>("url").find("data/localhost/shop/main.db"), std::string::npos);
    EXPECT_GT(main->getValue<int>("maxConnections"), 0);
    EXPECT_GE(main->getValue<int>("open"), 1);
    EXPECT_EQ(main->getValue<int>("inUse"), 0);
    EXPECT_GE(main->getValue<int>("acquires"), 3);
    EXPECT_GE(main->getValue<int>("queries"), 3);
    EXPECT_EQ(main->getValue<int>("timeouts"), 0);
    auto detail = call("GET", "/manager/api/app?path=/shop");
    ASSERT_EQ(detail.status, 200) << detail.body;
    EXPECT_EQ(json(detail.body)->getArray("dataSources")->size(), 1u) << detail.body;

    // /metrics: the pool gauges, the counters and the latency histogram per data source.
    auto metrics = call("GET", "/metrics");
    ASSERT_EQ(metrics.status, 200);
    const std::string labels = "{host=\"localhost\",context=\"/shop\",datasource=\"main\"}";
    for (const char* metric : {"serval_datasource_max_connections", "serval_datasource_connections_open",
                               "serval_datasource_connections_in_use", "serval_datasource_waiting",
                               "serval_datasource_acquires_total", "serval_datasource_waits_total",
                               "serval_datasource_timeouts_total", "serval_datasource_errors_total",
                               "serval_datasource_query_duration_seconds_count"})
        EXPECT_NE(metrics.body.find(metric + labels), std::string::npos) << metric << "\n" << metrics.body;
    EXPECT_NE(metrics.body.find("serval_datasource_query_duration_seconds_bucket{host=\"localhost\",context="
                                "\"/shop\",datasource=\"main\",le=\"+Inf\"}"),
              std::string::npos);

    // servalctl backup while a writer keeps adding rows: the copy is one consistent state (every
    // committed row, ids without a gap, the schema history), never a torn file.
    std::atomic<bool> writing{true};
    std::atomic<int> written{0};
    std::thread writer([&] {
        while (writing) {
            if (add("w").status == 200) ++written;
        }
    });
    std::string copy = base.file("shop-main.db");
    int backedUp = servalctl(token, "backup localhost/shop main -o " + quote(copy), &output);
    EXPECT_TRUE(eventually([&] { return written.load() > 20; }));
    std::string second = base.file("again.db");
    int again = servalctl(token, "backup localhost/shop main -o " + quote(second), &output);
    writing = false;
    writer.join();
    ASSERT_EQ(backedUp, 0) << output;
    ASSERT_EQ(again, 0) << output;
    EXPECT_NE(output.find("backed up localhost/shop main to " + second), std::string::npos) << output;
    for (const std::string& file : {copy, second}) {
        EXPECT_EQ(sqliteValue(file, "PRAGMA integrity_check"), "ok");
        int rows = std::stoi(sqliteValue(file, "SELECT count(*) FROM entry"));
        EXPECT_GE(rows, 3);
        EXPECT_EQ(sqliteValue(file, "SELECT max(id) FROM entry"), std::to_string(rows));
        EXPECT_EQ(sqliteValue(file, "SELECT count(*) FROM serval_schema_history"), "1");
    }
    EXPECT_GT(std::stoi(sqliteValue(second, "SELECT count(*) FROM entry")), 20);

    // The page's button downloads the same through the API: a file named after the app.
    auto download = call("POST", "/manager/api/backup?path=/shop&name=main");
    ASSERT_EQ(download.status, 200) << download.body;
    EXPECT_EQ(download.header("Content-Type"), "application/vnd.sqlite3");
    EXPECT_EQ(download.header("Content-Disposition"), "attachment; filename=\"shop-main.db\"");
    EXPECT_EQ(download.body.compare(0, 16, std::string("SQLite format 3\0", 16)), 0);

    // Mistakes say what is wrong; a read-only user cannot take a copy.
    EXPECT_EQ(servalctl(token, "backup localhost/shop nosuch -o " + quote(base.file("x.db")), &output), 1);
    EXPECT_NE(output.find("no data source \"nosuch\" is open for localhost/shop"), std::string::npos)
        << output;
    EXPECT_EQ(servalctl(token, "backup shop main -o " + quote(base.file("x.db")), &output), 1);
    EXPECT_NE(output.find("HOST/APP"), std::string::npos) << output;
    EXPECT_EQ(servalctl(token, "backup localhost/shop main", &output), 2);
    EXPECT_NE(::access(base.file("x.db").c_str(), F_OK), 0);
    ASSERT_EQ(login("viewer", "viewer-password").status, 200);
    EXPECT_EQ(call("POST", "/manager/api/backup?path=/shop&name=main").status, 403);
}
