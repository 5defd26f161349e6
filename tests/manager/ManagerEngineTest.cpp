// The manager wired into a real Engine (no sockets): routing to the container-provided
// Contexts, the servlet adapter, and actions that change what the Engine serves.
#include "config/ServerConfig.h"
#include "core/Context.h"
#include "core/Engine.h"
#include "core/Host.h"
#include "core/Request.h"
#include "core/Response.h"
#include "manager/Manager.h"
#include "realm/PasswordHash.h"
#include "realm/UsersFile.h"
#include "support/TempDir.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

using namespace serval;

namespace {

class HelloServlet : public core::Servlet
{
public:
    core::ServiceStatus service(core::Request&, core::Response& response) override
    {
        response.setContentType("text/plain");
        response.write("hello");
        return {};
    }
};

struct Reply
{
    int status = 0;
    std::string body;
    std::vector<http::Header> headers;
    std::string header(std::string_view name) const
    {
        for (const auto& h : headers) {
            if (strcasecmp(h.name.c_str(), std::string(name).c_str()) == 0) return h.value;
        }
        return {};
    }
};

class ManagerEngineTest : public ::testing::Test
{
protected:
    ManagerEngineTest() : engine("localhost", core::ContextServices{})
    {
        makeDirs(dir.file("conf"));
        realm::UsersFile::save(
            dir.file("conf/users.xml"),
            {realm::User{"admin", {"manager-gui"}, realm::PasswordHash::create("admin-password", 1000)}});
        config::HostConfig hostConfig;
        hostConfig.name = "localhost";
        hostConfig.appBase = dir.file("webapps");
        host = std::make_shared<core::Host>(hostConfig);
        engine.addHost(host);
        core::ContextSpec spec;
        spec.name = "hello";
        spec.path = "/hello";
        spec.docBase = dir.file("webapps/hello");
        hello = std::make_shared<core::Context>(spec, core::ContextServices{});
        hello->addServlet("hello", std::make_unique<HelloServlet>(), {"/"});
        host->addContext(hello);
        EXPECT_TRUE(engine.start());

        config::ServerConfig server;
        server.base = dir.path();
        server.logFile = dir.file("serval.log");
        manager = std::make_unique<manager::Manager>(engine, server, "test");
        manager->install();
    }
    ~ManagerEngineTest() override { engine.stop(); }

    static void makeDirs(const std::string& path) { serval::test::makeDirs(path); }

    Reply send(const std::string& method, const std::string& target, const std::string& body = "",
               std::vector<http::Header> headers = {}, const std::string& remote = "127.0.0.1")
    {
        http::HttpExchange exchange;
        exchange.request.method = method;
        exchange.request.target = target;
        auto q = target.find('?');
        exchange.request.path = target.substr(0, q);
        exchange.request.query = q == std::string::npos ? "" : target.substr(q + 1);
        exchange.request.headers = std::move(headers);
        exchange.request.headers.push_back({"Host", "localhost"});
        if (!cookie.empty()) exchange.request.headers.push_back({"Cookie", "SERVAL_MANAGER=" + cookie});
        if (!csrf.empty()) exchange.request.headers.push_back({"X-CSRF-Token", csrf});
        exchange.request.body = body;
        exchange.request.remoteAddress = remote;
        auto decision = engine.onHead(exchange);
        if (decision.rejectStatus == 0) engine.service(exchange);
        engine.complete(exchange, 0);
        Reply reply;
        reply.status = exchange.response.status();
        reply.body = exchange.response.body();
        reply.headers = exchange.response.headers();
        return reply;
    }

    void login()
    {
        auto reply = send("POST", "/manager/api/login", R"({"user":"admin","password":"admin-password"})",
                          {{"Content-Type", "application/json"}});
        ASSERT_EQ(reply.status, 200) << reply.body;
        std::string setCookie = reply.header("Set-Cookie");
        cookie = setCookie.substr(15, setCookie.find(';') - 15);
        csrf = Poco::JSON::Parser()
                   .parse(reply.body)
                   .extract<Poco::JSON::Object::Ptr>()
                   ->getValue<std::string>("csrf");
    }

    serval::test::TempDir dir;
    core::Engine engine;
    std::shared_ptr<core::Host> host;
    std::shared_ptr<core::Context> hello;
    std::unique_ptr<manager::Manager> manager;
    std::string cookie;
    std::string csrf;
};

} // namespace

TEST_F(ManagerEngineTest, PageIsServedWithSecurityHeaders)
{
    auto page = send("GET", "/manager/");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("Serval Manager"), std::string::npos);
    EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
    EXPECT_EQ(page.header("Cache-Control"), "no-store");
    auto script = send("GET", "/manager/assets/app.js");
    EXPECT_EQ(script.status, 200);
    EXPECT_EQ(script.header("Content-Type"), "text/javascript; charset=utf-8");
}

TEST_F(ManagerEngineTest, ListsAppsButNotTheContainersOwnContexts)
{
    EXPECT_EQ(send("GET", "/manager/api/apps").status, 401);
    login();
    auto apps = send("GET", "/manager/api/apps");
    ASSERT_EQ(apps.status, 200);
    EXPECT_NE(apps.body.find("\"/hello\""), std::string::npos);
    EXPECT_EQ(apps.body.find("\"/manager\""), std::string::npos);
    EXPECT_EQ(apps.body.find("\"/metrics\""), std::string::npos);
}

TEST_F(ManagerEngineTest, StopAndStartChangeWhatTheEngineServes)
{
    EXPECT_EQ(send("GET", "/hello/").body, "hello");
    login();
    auto stopped = send("POST", "/manager/api/stop?path=/hello");
    ASSERT_EQ(stopped.status, 200) << stopped.body;
    EXPECT_NE(stopped.body.find("\"state\":\"stopped\""), std::string::npos);
    EXPECT_EQ(send("GET", "/hello/").status, 503);
    auto started = send("POST", "/manager/api/start?path=/hello");
    ASSERT_EQ(started.status, 200) << started.body;
    EXPECT_EQ(send("GET", "/hello/").body, "hello");
    // The container's own contexts cannot be stopped from the API.
    EXPECT_EQ(send("POST", "/manager/api/stop?path=/manager").status, 409);
    auto audit = send("GET", "/manager/api/audit");
    EXPECT_NE(audit.body.find("\"action\":\"stop\""), std::string::npos);
}

TEST_F(ManagerEngineTest, RefusesClientsOutsideTheAllowList)
{
    EXPECT_EQ(send("GET", "/manager/", "", {}, "10.1.2.3").status, 403);
    EXPECT_EQ(send("GET", "/metrics", "", {}, "10.1.2.3").status, 403);
    EXPECT_EQ(send("GET", "/hello/", "", {}, "10.1.2.3").status, 200);
}

TEST_F(ManagerEngineTest, MetricsCountRequests)
{
    send("GET", "/hello/");
    send("GET", "/hello/");
    auto metrics = send("GET", "/metrics");
    ASSERT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find("serval_app_requests_total{host=\"localhost\",context=\"/hello\"} 2"),
              std::string::npos)
        << metrics.body;
    EXPECT_NE(
        metrics.body.find("serval_requests_total{host=\"localhost\",context=\"/hello\",class=\"2xx\"} 2"),
        std::string::npos);
    EXPECT_NE(
        metrics.body.find(
            "serval_request_duration_seconds_bucket{host=\"localhost\",context=\"/hello\",le=\"+Inf\"} 2"),
        std::string::npos);
}
