// The manager over HTTP against a real `serval` (tests/support ServalProcess): authentication
// everywhere, CSRF, roles, tokens, lockout, the address allow list, and each action's effect
// in the registry and on the served app (also through servalctl).
#include "registry/Registry.h"
#include "support/DataSourceApps.h"
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

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

/// VmRSS of a process in KiB, from /proc/PID/status; -1 if unreadable.
long residentKiB(int pid)
{
    std::string status = test::readFile("/proc/" + std::to_string(pid) + "/status");
    auto at = status.find("VmRSS:");
    return at == std::string::npos ? -1 : std::atol(status.c_str() + at + 6);
}

/// The Path attribute of a Set-Cookie header, "" if none.
std::string cookiePath(const std::string& setCookie)
{
    auto at = setCookie.find("; Path=");
    if (at == std::string::npos) return "";
    auto end = setCookie.find(';', at + 7);
    return setCookie.substr(at + 7, end == std::string::npos ? std::string::npos : end - at - 7);
}

/// RFC 6265 5.1.4: does a browser send a cookie with this Path to this request path?
bool pathMatches(const std::string& cookiePath, const std::string& requestPath)
{
    if (requestPath == cookiePath) return true;
    if (requestPath.compare(0, cookiePath.size(), cookiePath) != 0) return false;
    return cookiePath.back() == '/' || requestPath[cookiePath.size()] == '/';
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

    /// `managerAttributes`: more attributes of <Manager>, such as ` deployRoots="..."`.
    void startServer(const std::string& allow, const std::vector<std::string>& args = {},
                     const std::string& managerAttributes = "")
    {
        base.write(
            "conf/server.xml",
            "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
            "  <Connector address=\"127.0.0.1\" port=\"0\" workerThreads=\"4\"/>\n"
            "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\"/></Engine>\n"
            "  <Manager path=\"/manager\" allow=\"" +
                allow + "\"" + managerAttributes + "/>\n</Server>\n");
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

    /// Stops the server and starts it again with other <Manager> attributes.
    void restart(const std::string& managerAttributes)
    {
        server.reset();
        ::unlink(base.file("serval.stderr").c_str()); // the next start must not read the old "listening on"
        startServer("127.0.0.0/8,::1", {}, managerAttributes);
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

    /// A request with a bearer token instead of the page's cookie.
    HttpReply callWithToken(const std::string& token, const std::string& method, const std::string& target,
                            const std::string& body = "")
    {
        std::string savedCookie = std::exchange(cookie, "");
        std::string savedCsrf = std::exchange(csrf, "");
        auto reply =
            call(method, target, body,
                 {{"Authorization", "Bearer " + token}, {"Content-Type", "application/octet-stream"}});
        cookie = savedCookie;
        csrf = savedCsrf;
        return reply;
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

TEST_F(ManagerHttpTest, UploadsAreAuthenticatedBeforeOneBodyByteIsRead)
{
    // Four clients at once announce 250 MiB bodies without credentials: each hears 401 at once,
    // before sending a byte of it, and whatever they send afterwards is never kept.
    const uint64_t announced = 250ull << 20;
    long before = residentKiB(server->pid());
    ASSERT_GT(before, 0);
    std::vector<std::unique_ptr<test::RawConnection>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(std::make_unique<test::RawConnection>());
        ASSERT_TRUE(clients.back()->connect(server->address(), server->port()));
        ASSERT_TRUE(
            clients.back()->send("POST /manager/api/deploy?file=big.sar HTTP/1.1\r\nHost: localhost\r\n"
                                 "Content-Type: application/octet-stream\r\nContent-Length: " +
                                 std::to_string(announced) + "\r\n\r\n"));
    }
    for (auto& client : clients) {
        auto reply = client->readResponse(false, std::chrono::seconds(5));
        ASSERT_TRUE(reply) << "no answer before the body";
        EXPECT_EQ(reply->status, 401);
        EXPECT_EQ(json(reply->body)->getValue<std::string>("error"), "unauthorized");
        EXPECT_EQ(reply->header("Connection"), "close");
    }
    std::vector<uint64_t> sent(clients.size(), 0);
    std::vector<std::thread> senders;
    for (size_t i = 0; i < clients.size(); ++i) {
        senders.emplace_back([&, i] {
            std::string chunk(1 << 20, 'x');
            while (sent[i] < announced && clients[i]->send(chunk))
                sent[i] += chunk.size();
        });
    }
    for (auto& t : senders)
        t.join();
    for (uint64_t bytes : sent)
        EXPECT_LT(bytes, 64ull << 20) << "the server closed instead of reading the body";
    EXPECT_LT(residentKiB(server->pid()) - before, 32 * 1024) << "no body was buffered";

    // The same at the head for every other refusal: a forged token, a session without its CSRF
    // token, a read-only role, a login body larger than any login.
    ASSERT_EQ(login("viewer", "viewer-password").status, 200);
    std::string viewerCookie = cookie;
    std::string viewerCsrf = csrf;
    cookie.clear();
    csrf.clear();
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    struct Case
    {
        std::string target;
        std::string headers;
        int status;
    };
    std::vector<Case> cases = {
        {"/manager/api/deploy?file=big.sar", "Authorization: Bearer svl_forged\r\n", 401},
        {"/manager/api/deploy?file=big.sar", "Cookie: SERVAL_MANAGER=" + cookie + "\r\n", 403},
        {"/manager/api/deploy?file=big.sar",
         "Cookie: SERVAL_MANAGER=" + viewerCookie + "\r\nX-CSRF-Token: " + viewerCsrf + "\r\n", 403},
        {"/manager/api/login", "Content-Type: application/json\r\n", 413},
    };
    for (const Case& c : cases) {
        test::RawConnection client;
        ASSERT_TRUE(client.connect(server->address(), server->port()));
        ASSERT_TRUE(client.send("POST " + c.target + " HTTP/1.1\r\nHost: localhost\r\n" + c.headers +
                                "Content-Length: " + std::to_string(announced) + "\r\n\r\n"));
        auto reply = client.readResponse(false, std::chrono::seconds(5));
        ASSERT_TRUE(reply) << c.headers;
        EXPECT_EQ(reply->status, c.status) << c.headers << reply->body;
    }
}

TEST_F(ManagerHttpTest, AnAuthenticatedUploadStreamsToDiskAndIsNeverHeldInMemory)
{
    // 200 MiB from a logged-in admin: the server's RSS stays flat while it arrives (it goes to a
    // staged file, not into memory); the bytes are no bundle, so the deployer refuses them.
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    const uint64_t total = 200ull << 20;
    long before = residentKiB(server->pid());
    ASSERT_GT(before, 0);
    test::RawConnection client;
    ASSERT_TRUE(client.connect(server->address(), server->port()));
    ASSERT_TRUE(client.send("POST /manager/api/deploy?file=big.sar HTTP/1.1\r\nHost: localhost\r\n"
                            "Content-Type: application/octet-stream\r\nCookie: SERVAL_MANAGER=" +
                            cookie + "\r\nX-CSRF-Token: " + csrf +
                            "\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n"));
    std::string chunk(1 << 20, 'x');
    long peak = before;
    for (uint64_t sent = 0; sent < total; sent += chunk.size()) {
        ASSERT_TRUE(client.send(chunk)) << "the server stopped reading at " << sent;
        if (sent % (16ull << 20) == 0) peak = std::max(peak, residentKiB(server->pid()));
    }
    auto reply = client.readResponse(false, std::chrono::seconds(60));
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 422) << reply->body;
    peak = std::max(peak, residentKiB(server->pid()));
    EXPECT_LT(peak - before, 48 * 1024) << "the upload was held in memory";

    // The staged path deploys a real bundle, byte for byte; nothing is left in staging.
    std::string bytes = test::readFile(bundle("streamed", "streamed to disk"));
    auto deployed = call("POST", "/manager/api/deploy?file=streamed.sar", bytes,
                         {{"Content-Type", "application/octet-stream"}});
    ASSERT_EQ(deployed.status, 200) << deployed.body;
    EXPECT_TRUE(eventually([&] { return call("GET", "/streamed/").body == "streamed to disk\n"; }));
    std::string listing;
    shell("ls -A " + quote(base.file("work/.uploads")), &listing);
    EXPECT_EQ(listing, "");
}

TEST_F(ManagerHttpTest, NoAppLivesBelowTheManagerAndItsCookieStaysThere)
{
    auto reply = login("admin", "admin-password");
    ASSERT_EQ(reply.status, 200);
    std::string path = cookiePath(reply.header("Set-Cookie"));
    EXPECT_EQ(path, "/manager/");
    EXPECT_TRUE(pathMatches(path, "/manager/api/apps"));
    EXPECT_FALSE(pathMatches(path, "/managerx/"));
    EXPECT_FALSE(pathMatches(path, "/hello/"));

    // Below the manager or /metrics, every way of deploying is refused: upload with path= or by
    // file name, a bundle or a directory dropped into webapps/.
    std::string token = createToken();
    std::string bytes = test::readFile(bundle("below", "an app below the manager"));
    for (const char* target :
         {"/manager/api/deploy?path=/manager/x", "/manager/api/deploy?file=manager%23x.sar",
          "/manager/api/deploy?path=/metrics/y", "/manager/api/deploy?path=/manager"}) {
        auto refused = callWithToken(token, "POST", target, bytes);
        EXPECT_EQ(refused.status, 409) << target << refused.body;
        EXPECT_EQ(json(refused.body)->getValue<std::string>("error"), "reserved") << target;
    }
    base.write("webapps/manager#d/index.html", "a directory below the manager");
    ASSERT_EQ(
        ::rename(bundle("dropped", "dropped below").c_str(), base.file("webapps/metrics#z.sar").c_str()), 0);
    EXPECT_TRUE(server->waitForLog("/manager/d is reserved")) << server->log();
    EXPECT_TRUE(server->waitForLog("/metrics/z is reserved")) << server->log();
    EXPECT_EQ(call("GET", "/manager/x/").status, 404);
    EXPECT_EQ(call("GET", "/manager/d/index.html").status, 404);
    EXPECT_NE(call("GET", "/metrics").body.find("serval_up 1"), std::string::npos);

    // /managerx is an ordinary path: it deploys, and the cookie's path does not cover it.
    auto managerx = callWithToken(token, "POST", "/manager/api/deploy?path=/managerx", bytes);
    ASSERT_EQ(managerx.status, 200) << managerx.body << server->log();
    EXPECT_EQ(call("GET", "/managerx/").body, "an app below the manager\n");
}

TEST_F(ManagerHttpTest, ParallelWrongLoginsCheckNoMoreThanTheLockoutLimit)
{
    // Slow enough a hash that the 30 attempts overlap on the 4 workers.
    std::string output;
    ASSERT_EQ(shell("printf 'racer-password\\n' | " + quote(ServalProcess::binary()) +
                        " passwd racer --base " + quote(base.path()) +
                        " --roles manager-gui --stdin --iterations 100000",
                    &output),
              0)
        << output;
    std::atomic<int> checked{0};
    std::atomic<int> locked{0};
    std::vector<std::thread> attempts;
    for (int i = 0; i < 30; ++i) {
        attempts.emplace_back([&] {
            auto reply = test::httpRequest(server->port(), "POST", "/manager/api/login",
                                           {{"Content-Type", "application/json"}},
                                           "{\"user\":\"racer\",\"password\":\"wrong\"}", server->address());
            if (reply.status == 401) ++checked;
            if (reply.status == 429) ++locked;
        });
    }
    for (auto& t : attempts)
        t.join();
    EXPECT_GE(checked.load(), 1);
    EXPECT_LE(checked.load(), 5) << "each attempt counts before its password is checked";
    EXPECT_EQ(checked.load() + locked.load(), 30);
    EXPECT_EQ(login("racer", "racer-password").status, 429) << "locked out, even with the right password";
}

TEST_F(ManagerHttpTest, StateChangesFromAnotherSiteAreRefusedDespiteAValidCsrfToken)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto evil = call("POST", "/manager/api/stop?path=/hello", "", {{"Origin", "http://evil.example"}});
    EXPECT_EQ(evil.status, 403);
    EXPECT_EQ(json(evil.body)->getValue<std::string>("error"), "cross_site");
    auto fetched = call("POST", "/manager/api/stop?path=/hello", "", {{"Sec-Fetch-Site", "cross-site"}});
    EXPECT_EQ(fetched.status, 403);
    auto sibling = call("POST", "/manager/api/stop?path=/hello", "", {{"Sec-Fetch-Site", "same-site"}});
    EXPECT_EQ(sibling.status, 403);
    EXPECT_EQ(call("GET", "/hello/").status, 200) << "nothing was stopped";
    EXPECT_TRUE(server->waitForLog("sent by another site (Origin: http://evil.example"));

    cookie.clear();
    csrf.clear();
    EXPECT_EQ(call("POST", "/manager/api/login", "{\"user\":\"admin\",\"password\":\"admin-password\"}",
                   {{"Origin", "http://evil.example"}})
                  .status,
              403)
        << "no login from another site either";
    // The page's own requests: same origin (the Host it was loaded from), or no Origin at all.
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto own = call("POST", "/manager/api/stop?path=/hello", "",
                    {{"Origin", "http://localhost"}, {"Sec-Fetch-Site", "same-origin"}});
    EXPECT_EQ(own.status, 200) << own.body;
    EXPECT_EQ(call("GET", "/hello/").status, 503);
}

TEST_F(ManagerHttpTest, DeployByServerPathIsOffUnlessDeployRootsAllowsIt)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    std::string file = bundle("onserver", "on the server");
    auto refused = call("POST", "/manager/api/deploy?serverPath=" + file);
    EXPECT_EQ(refused.status, 403) << refused.body;
    EXPECT_NE(json(refused.body)->getValue<std::string>("detail").find("deployRoots"), std::string::npos);
    EXPECT_EQ(call("GET", "/onserver/").status, 404);
}

TEST_F(ManagerHttpTest, DeployByServerPathTakesRegularFilesAndDirectoriesWithinItsRootsOnly)
{
    test::makeDirs(base.file("drop"));
    restart(" deployRoots=\"" + base.file("drop") + "\" maxUploadSize=\"65536\"");
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto deployPath = [&](const std::string& serverPath, const std::string& more = "") {
        return call("POST", "/manager/api/deploy?serverPath=" + serverPath + more);
    };
    auto error = [](const HttpReply& reply) { return json(reply.body)->getValue<std::string>("error"); };

    // Outside the roots (/dev/zero once streamed 1.5 GB into webapps/).
    auto zero = deployPath("/dev/zero", "&path=/zero");
    EXPECT_EQ(zero.status, 403) << zero.body;
    // A FIFO inside: refused at once, and every later admin action still answers.
    ASSERT_EQ(::mkfifo(base.file("drop/wedge.sar").c_str(), 0644), 0);
    auto fifo = deployPath(base.file("drop/wedge.sar"));
    EXPECT_EQ(fifo.status, 400) << fifo.body;
    EXPECT_EQ(call("GET", "/manager/api/apps").status, 200);
    // A link, even to a good bundle inside the root.
    std::string good = bundle("good", "a good bundle");
    ASSERT_EQ(::rename(good.c_str(), base.file("drop/good.sar").c_str()), 0);
    ASSERT_EQ(::symlink(base.file("drop/good.sar").c_str(), base.file("drop/link.sar").c_str()), 0);
    auto link = deployPath(base.file("drop/link.sar"));
    EXPECT_EQ(link.status, 403) << link.body;
    EXPECT_EQ(deployPath(base.file("drop/../drop/good.sar")).status, 400);
    // Larger than maxUploadSize, or not a bundle at all: refused, and nothing stays in webapps/.
    base.write("drop/huge.sar", std::string(70000, 'z'));
    auto huge = deployPath(base.file("drop/huge.sar"));
    EXPECT_EQ(huge.status, 413) << huge.body;
    EXPECT_EQ(error(huge), "too_large");
    base.write("drop/broken.sar", "not an archive");
    auto broken = deployPath(base.file("drop/broken.sar"));
    EXPECT_EQ(broken.status, 422) << broken.body;
    EXPECT_EQ(test::listTree(base.file("webapps"), {"hello"}), std::set<std::string>{})
        << "no NAME.sar, no hidden copy left behind";

    // A bundle and an exploded directory (copied by the bundle rules) deploy and serve.
    auto bundled = deployPath(base.file("drop/good.sar"));
    ASSERT_EQ(bundled.status, 200) << bundled.body;
    EXPECT_EQ(call("GET", "/good/").body, "a good bundle\n");
    base.write("drop/docs/WEB-INF/web.xml", "<web-app><display-name>Docs</display-name></web-app>\n");
    base.write("drop/docs/index.html", "docs from a directory\n");
    auto directory = deployPath(base.file("drop/docs"));
    ASSERT_EQ(directory.status, 200) << directory.body;
    EXPECT_EQ(json(directory.body)->getObject("app")->getValue<std::string>("path"), "/docs");
    EXPECT_EQ(call("GET", "/docs/").body, "docs from a directory\n");
    auto renamed = deployPath(base.file("drop/docs"), "&path=/manual");
    ASSERT_EQ(renamed.status, 200) << renamed.body;
    EXPECT_EQ(call("GET", "/manual/").body, "docs from a directory\n");
    struct stat st;
    EXPECT_EQ(::stat(base.file("webapps/manual/index.html").c_str(), &st), 0);
    EXPECT_EQ(test::listTree(base.file("webapps"), {"hello", "docs", "manual"}),
              std::set<std::string>{"good.sar"});

    // servalctl does the same for scripts: the path is the server's, nothing is uploaded.
    std::string token = createToken();
    std::string output;
    ASSERT_EQ(
        servalctl(token, "deploy --on-server " + base.file("drop/good.sar") + " --path /viactl", &output), 0)
        << output;
    EXPECT_EQ(call("GET", "/viactl/").body, "a good bundle\n");
    EXPECT_EQ(servalctl(token, "deploy --on-server " + base.file("drop/wedge.sar"), &output), 1);
    EXPECT_NE(output.find("not a regular file or a directory"), std::string::npos) << output;
}

TEST_F(ManagerHttpTest, CrashListAndRestartProcessesForAnIsolatedApp)
{
    // The faults fixture (tests/fixtures/apps/Faults.cpp) in a worker process (the default).
    test::installFixtureApp(base, "faults", "faults", test::servletWebXml({{"f", "fixture.Faults", "/*"}}));
    restart("");
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    std::string token = createToken();
    auto workerPid = [&] {
        HttpReply reply = test::httpGet(server->port(), "/faults/ok");
        return reply.status == 200 && reply.body.rfind("ok ", 0) == 0 ? std::atoi(reply.body.c_str() + 3) : 0;
    };
    ASSERT_GT(workerPid(), 0) << server->log();

    // A poison GET: the crash and its replay's crash, both in the registry, newest first.
    HttpReply crashed = test::httpGet(server->port(), "/faults/segv");
    ASSERT_EQ(crashed.status, 502) << server->log();
    std::string crashId = crashed.header("X-Serval-Crash-Id");
    ASSERT_FALSE(crashId.empty());
    Poco::JSON::Array::Ptr list;
    ASSERT_TRUE(eventually([&] {
        auto reply = call("GET", "/manager/api/crashes?path=/faults");
        if (reply.status != 200) return false;
        list = json(reply.body)->getArray("crashes");
        return list->size() == 2;
    })) << server->log();
    EXPECT_EQ(list->getObject(0)->getValue<std::string>("crashId"), crashId) << "newest first";
    for (unsigned i = 0; i < list->size(); ++i) {
        auto c = list->getObject(i);
        EXPECT_EQ(c->getValue<std::string>("signal"), "SIGSEGV");
        EXPECT_EQ(c->getValue<std::string>("function").rfind("serval_fixture_null_write", 0), 0u)
            << c->getValue<std::string>("function");
        EXPECT_FALSE(c->has("backtrace"));
    }
    auto whole = call("GET", "/manager/api/crashes/" + crashId);
    ASSERT_EQ(whole.status, 200) << whole.body;
    EXPECT_NE(json(whole.body)->getValue<std::string>("backtrace").find("libfaults.so+0x"),
              std::string::npos);

    // servalctl: one line per crash, and one whole record.
    std::string output;
    ASSERT_EQ(servalctl(token, "crashes /faults", &output), 0) << output;
    EXPECT_NE(output.find(crashId + "  SIGSEGV  serval_fixture_null_write"), std::string::npos) << output;
    EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 3) << "a header and two crashes\n" << output;
    ASSERT_EQ(servalctl(token, "crashes /faults --id " + crashId, &output), 0) << output;
    EXPECT_NE(output.find("request   GET /faults/segv"), std::string::npos) << output;
    EXPECT_NE(output.find("backtrace:\n  #0"), std::string::npos) << output;
    EXPECT_EQ(servalctl(token, "crashes /faults --id c-none", &output), 1);
    ASSERT_EQ(servalctl(token, "crashes /hello", &output), 0) << output;
    EXPECT_EQ(output, "no crashes recorded for localhost/hello\n");

    // servalctl list: the apps, then one row per worker process with the app's restarts.
    int serving = workerPid();
    ASSERT_GT(serving, 0);
    ASSERT_EQ(servalctl(token, "list", &output), 0) << output;
    size_t table = output.find("\nprocesses:\nHOST");
    ASSERT_NE(table, std::string::npos) << output;
    EXPECT_NE(output.find("  PID  ", table), std::string::npos) << output;
    size_t row = output.find("/faults", table);
    ASSERT_NE(row, std::string::npos) << output;
    std::string line = output.substr(row, output.find('\n', row) - row);
    EXPECT_NE(line.find("  " + std::to_string(serving) + "  "), std::string::npos) << line;
    EXPECT_NE(line.find("running"), std::string::npos) << line;
    EXPECT_NE(line.find(" MiB"), std::string::npos) << line;
    EXPECT_NE(line.find("crash="), std::string::npos) << line;
    EXPECT_EQ(line.find("crash=0 "), std::string::npos) << "two crashes, two restarts: " << line;
    EXPECT_NE(line.find("timeout=0 memory=0 recycle=0"), std::string::npos) << line;

    // Restart the processes under load: the new worker is ready before the old one drains.
    int before = workerPid();
    ASSERT_GT(before, 0);
    std::atomic<bool> stop{false};
    std::atomic<int> served{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 4; ++i) {
        clients.emplace_back([&] {
            while (!stop) {
                HttpReply reply = test::httpGet(server->port(), "/faults/slow?ms=2");
                (reply.status == 200 ? served : failed)++;
            }
        });
    }
    ASSERT_TRUE(eventually([&] { return served > 20; }));
    std::string savedCsrf = std::exchange(csrf, "");
    EXPECT_EQ(call("POST", "/manager/api/restart-processes?path=/faults").status, 403) << "CSRF";
    csrf = savedCsrf;
    auto restarted = call("POST", "/manager/api/restart-processes?path=/faults");
    EXPECT_EQ(restarted.status, 200) << restarted.body;
    ASSERT_TRUE(eventually([&] { return ::kill(before, 0) != 0; })) << "the old worker drained and exited";
    int after = workerPid();
    EXPECT_GT(after, 0);
    EXPECT_NE(after, before);
    // servalctl does the same; the load keeps going through that one too.
    ASSERT_EQ(servalctl(token, "restart-processes /faults", &output), 0) << output;
    EXPECT_EQ(output.rfind("restart-processes localhost/faults: ok", 0), 0u) << output;
    ASSERT_TRUE(eventually([&] { return ::kill(after, 0) != 0; }));
    int settled = served;
    ASSERT_TRUE(eventually([&] { return served > settled + 20; }));
    stop = true;
    for (auto& client : clients)
        client.join();
    EXPECT_EQ(failed, 0) << served << " served";
    EXPECT_EQ(servalctl(token, "restart-processes /nothing-here", &output), 1);
    auto metrics = test::httpGet(server->port(), "/metrics");
    EXPECT_NE(metrics.body.find(
                  "serval_app_restarts_total{host=\"localhost\",context=\"/faults\",cause=\"recycle\"} 2"),
              std::string::npos)
        << metrics.body.substr(0, 4000);
}

TEST_F(ManagerHttpTest, StoppingAnIsolatedAppUnderLoadAnswers200Or503AndNothingElse)
{
    // Context::stopInternal swaps the app's RemoteApplication out while I/O threads forward to it
    // and admin threads read its status: each holds its own reference, so neither sees it go.
    test::installFixtureApp(base, "faults", "faults", test::servletWebXml({{"f", "fixture.Faults", "/*"}}));
    restart("");
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    ASSERT_EQ(test::httpGet(server->port(), "/faults/ok").status, 200) << server->log();
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0};
    std::atomic<int> unavailable{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
        threads.emplace_back([&] {
            while (!stop) {
                int status = test::httpGet(server->port(), "/faults/slow?ms=3").status;
                (status == 200 ? ok : status == 503 ? unavailable : other)++;
            }
        });
    }
    std::atomic<int> reads{0};
    threads.emplace_back([&] {
        while (!stop) {
            if (call("GET", "/manager/api/apps").status == 200) reads++;
        }
    });
    for (int round = 0; round < 5; ++round) {
        ASSERT_EQ(call("POST", "/manager/api/stop?path=/faults").status, 200);
        ASSERT_EQ(call("POST", "/manager/api/start?path=/faults").status, 200);
    }
    int settled = ok;
    ASSERT_TRUE(eventually([&] { return ok > settled + 10; }));
    stop = true;
    for (auto& thread : threads)
        thread.join();
    EXPECT_TRUE(server->running());
    EXPECT_EQ(other, 0) << ok << " ok, " << unavailable << " 503";
    EXPECT_GT(reads, 0);
    EXPECT_EQ(test::httpGet(server->port(), "/faults/ok").status, 200);
}
