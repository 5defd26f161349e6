#include "manager/ManagerApi.h"

#include "FakeBackend.h"
#include "support/TempDir.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <ctime>
#include <gtest/gtest.h>

using namespace serval::manager;
using namespace std::chrono_literals;
using serval::realm::PasswordHash;
using serval::realm::User;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& body)
{
    return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
}

class ManagerApiTest : public ::testing::Test
{
protected:
    ManagerApiTest()
    {
        auto clockFn = [this] { return now; };
        realm = std::make_shared<serval::realm::Realm>("/nonexistent", serval::realm::RealmPolicy{}, clockFn);
        realm->setUsers(
            {User{"admin", {"manager-gui", "manager-script"}, PasswordHash::create("admin-password", 1000)},
             User{"viewer", {"manager-status"}, PasswordHash::create("viewer-password", 1000)},
             User{"bot", {"manager-script"}, PasswordHash::create("bot-password", 1000)}});
        ManagerConfig config;
        config.tokensDatabase = dir.file("serval.db");
        config.logFile = dir.file("serval.log");
        api = std::make_unique<ManagerApi>(config, backend, realm, clockFn);
    }

    AdminRequest request(const std::string& method, const std::string& target, const std::string& body = "")
    {
        AdminRequest r;
        r.method = method;
        auto q = target.find('?');
        r.path = target.substr(0, q);
        r.query = q == std::string::npos ? "" : target.substr(q + 1);
        r.body = body;
        r.remoteAddress = "127.0.0.1";
        if (!cookie.empty())
            r.headers.emplace_back("Cookie", std::string(ManagerApi::CookieName) + "=" + cookie);
        if (!csrf.empty()) r.headers.emplace_back("X-CSRF-Token", csrf);
        return r;
    }

    AdminResponse login(const std::string& user, const std::string& password,
                        const std::string& address = "127.0.0.1")
    {
        auto r =
            request("POST", "/api/login", "{\"user\":\"" + user + "\",\"password\":\"" + password + "\"}");
        r.remoteAddress = address;
        r.headers.emplace_back("Content-Type", "application/json");
        auto response = api->handle(r);
        if (response.status == 200) {
            std::string setCookie(response.header("Set-Cookie"));
            auto eq = setCookie.find('=');
            cookie = setCookie.substr(eq + 1, setCookie.find(';') - eq - 1);
            csrf = parse(response.body)->getValue<std::string>("csrf");
        }
        return response;
    }

    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + 1000h;
    serval::test::TempDir dir;
    serval::test::FakeBackend backend;
    std::shared_ptr<serval::realm::Realm> realm;
    std::unique_ptr<ManagerApi> api;
    std::string cookie;
    std::string csrf;
};

} // namespace

TEST_F(ManagerApiTest, EveryApiEndpointNeedsAuthentication)
{
    for (const char* target : {"/api/apps", "/api/app?path=/hello", "/api/status", "/api/history",
                               "/api/audit", "/api/logs", "/api/tokens", "/api/session"}) {
        auto response = api->handle(request("GET", target));
        EXPECT_EQ(response.status, 401) << target;
        EXPECT_EQ(parse(response.body)->getValue<std::string>("error"), "unauthorized");
    }
    for (const char* target : {"/api/stop?path=/hello", "/api/deploy?path=/x", "/api/undeploy?path=/hello",
                               "/api/logout", "/api/tokens"}) {
        EXPECT_EQ(api->handle(request("POST", target, "x")).status, 401) << target;
    }
    EXPECT_EQ(backend.state("/hello"), "running");
}

TEST_F(ManagerApiTest, SecurityHeadersOnEveryResponse)
{
    for (auto response : {api->handle(request("GET", "/")), api->handle(request("GET", "/api/apps")),
                          api->handle(request("GET", "/nope"))}) {
        EXPECT_EQ(response.header("Content-Security-Policy"),
                  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
        EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
        EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff");
        EXPECT_EQ(response.header("Referrer-Policy"), "no-referrer");
        EXPECT_EQ(response.header("Cache-Control"), "no-store");
    }
}

TEST_F(ManagerApiTest, LoginSetsAStrictCookieAndANewIdEachTime)
{
    auto first = login("admin", "admin-password");
    ASSERT_EQ(first.status, 200) << first.body;
    std::string setCookie(first.header("Set-Cookie"));
    EXPECT_NE(setCookie.find("Path=/manager"), std::string::npos);
    EXPECT_NE(setCookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(setCookie.find("SameSite=Strict"), std::string::npos);
    std::string firstId = cookie;
    EXPECT_GE(firstId.size(), 22u); // >= 128 bits in base64url
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    EXPECT_NE(cookie, firstId);
    // The old id is gone.
    std::string second = cookie;
    cookie = firstId;
    EXPECT_EQ(api->handle(request("GET", "/api/apps")).status, 401);
    cookie = second;
    EXPECT_EQ(api->handle(request("GET", "/api/apps")).status, 200);
}

TEST_F(ManagerApiTest, LoginNeedsJson)
{
    auto r = request("POST", "/api/login", "user=admin&password=admin-password");
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    EXPECT_EQ(api->handle(r).status, 415);
}

TEST_F(ManagerApiTest, CsrfTokenRequiredForStateChanges)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    std::string token = csrf;
    csrf.clear();
    auto refused = api->handle(request("POST", "/api/stop?path=/hello"));
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(parse(refused.body)->getValue<std::string>("error"), "csrf");
    csrf = "wrong" + token.substr(5);
    EXPECT_EQ(api->handle(request("POST", "/api/stop?path=/hello")).status, 403);
    EXPECT_EQ(backend.state("/hello"), "running");
    csrf = token;
    auto ok = api->handle(request("POST", "/api/stop?path=/hello"));
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(backend.state("/hello"), "stopped");
    ASSERT_FALSE(backend.audits.empty());
    EXPECT_EQ(backend.audits.back().action, "stop");
    EXPECT_EQ(backend.audits.back().user, "admin");
    EXPECT_EQ(backend.audits.back().target, "localhost/hello");
    EXPECT_EQ(backend.audits.back().address, "127.0.0.1");
    EXPECT_EQ(backend.audits.back().result, "ok");
}

TEST_F(ManagerApiTest, StatusRoleIsReadOnly)
{
    ASSERT_EQ(login("viewer", "viewer-password").status, 200);
    EXPECT_EQ(api->handle(request("GET", "/api/apps")).status, 200);
    EXPECT_EQ(api->handle(request("GET", "/api/status")).status, 200);
    EXPECT_EQ(api->handle(request("POST", "/api/stop?path=/hello")).status, 403);
    EXPECT_EQ(api->handle(request("POST", "/api/tokens", "{\"name\":\"x\"}")).status, 403);
    EXPECT_EQ(backend.state("/hello"), "running");
}

TEST_F(ManagerApiTest, ScriptRoleNeverGetsACookie)
{
    auto response = login("bot", "bot-password");
    EXPECT_EQ(response.status, 403);
    EXPECT_TRUE(response.header("Set-Cookie").empty());
}

TEST_F(ManagerApiTest, TokensWorkWithoutCsrfAndCanBeRevoked)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto created = api->handle(request("POST", "/api/tokens", "{\"name\":\"ci\"}"));
    ASSERT_EQ(created.status, 201) << created.body;
    auto body = parse(created.body);
    std::string token = body->getValue<std::string>("token");
    long long id = body->getValue<long long>("id");
    // The secret is shown once: the list never has it.
    auto listed = api->handle(request("GET", "/api/tokens"));
    EXPECT_EQ(listed.body.find(token), std::string::npos);
    EXPECT_NE(listed.body.find("\"ci\""), std::string::npos);

    cookie.clear();
    csrf.clear();
    auto r = request("POST", "/api/stop?path=/hello");
    r.headers.emplace_back("Authorization", "Bearer " + token);
    EXPECT_EQ(api->handle(r).status, 200);
    EXPECT_EQ(backend.state("/hello"), "stopped");
    // A token may not manage tokens.
    auto t = request("GET", "/api/tokens");
    t.headers.emplace_back("Authorization", "Bearer " + token);
    EXPECT_EQ(api->handle(t).status, 403);

    ASSERT_EQ(login("admin", "admin-password").status, 200);
    EXPECT_EQ(api->handle(request("DELETE", "/api/tokens/" + std::to_string(id))).status, 200);
    cookie.clear();
    csrf.clear();
    auto after = request("POST", "/api/start?path=/hello");
    after.headers.emplace_back("Authorization", "Bearer " + token);
    EXPECT_EQ(api->handle(after).status, 401);
    EXPECT_EQ(backend.state("/hello"), "stopped");
    auto bogus = request("GET", "/api/apps");
    bogus.headers.emplace_back("Authorization", "Bearer svl_notatoken");
    EXPECT_EQ(api->handle(bogus).status, 401);
}

TEST_F(ManagerApiTest, LockoutAfterFiveFailuresAndExpiry)
{
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(login("admin", "wrong").status, 401);
    auto locked = login("Admin", "admin-password");
    EXPECT_EQ(locked.status, 429);
    EXPECT_EQ(parse(locked.body)->getValue<std::string>("error"), "locked_out");
    EXPECT_FALSE(locked.header("Retry-After").empty());
    now += 301s;
    EXPECT_EQ(login("admin", "admin-password").status, 200);
}

TEST_F(ManagerApiTest, SessionsExpireWhenIdleAndOnLogout)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    now += 29min;
    EXPECT_EQ(api->handle(request("GET", "/api/apps")).status, 200);
    now += 31min;
    EXPECT_EQ(api->handle(request("GET", "/api/apps")).status, 401);
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto out = api->handle(request("POST", "/api/logout"));
    EXPECT_EQ(out.status, 200);
    EXPECT_NE(out.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
    EXPECT_EQ(api->handle(request("GET", "/api/apps")).status, 401);
}

TEST_F(ManagerApiTest, AddressOutsideTheAllowListIsRefused)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto r = request("GET", "/api/apps");
    r.remoteAddress = "192.0.2.1";
    EXPECT_EQ(api->handle(r).status, 403);
    auto page = request("GET", "/");
    page.remoteAddress = "192.0.2.1";
    EXPECT_EQ(api->handle(page).status, 403);
    auto m = request("GET", "/metrics");
    m.remoteAddress = "192.0.2.1";
    EXPECT_EQ(api->metrics(m).status, 403);
    EXPECT_EQ(login("admin", "admin-password", "192.0.2.1").status, 403);
}

TEST_F(ManagerApiTest, DeployUploadAndFailureReason)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto ok = api->handle(request("POST", "/api/deploy?file=shop.sar", "PK-bytes"));
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(backend.lastUpload, "PK-bytes");
    EXPECT_EQ(parse(ok.body)->getObject("app")->getValue<std::string>("path"), "/shop");
    EXPECT_EQ(api->handle(request("POST", "/api/deploy?file=shop.sar", "PK-bytes")).status, 409);
    EXPECT_EQ(api->handle(request("POST", "/api/deploy?file=shop.sar&update=true", "PK-bytes")).status, 200);
    auto failed = api->handle(request("POST", "/api/deploy?file=bad.sar", "broken"));
    EXPECT_EQ(failed.status, 422);
    EXPECT_EQ(parse(failed.body)->getValue<std::string>("detail"), "bad.sar: not a zip or tar archive");
    EXPECT_EQ(backend.audits.back().result, "bad.sar: not a zip or tar archive");
    EXPECT_EQ(api->handle(request("POST", "/api/deploy?path=../x", "PK")).status, 400);
}

TEST_F(ManagerApiTest, PageAndAssetsAreServed)
{
    auto page = api->handle(request("GET", "/"));
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("app.js"), std::string::npos);
    EXPECT_EQ(page.body.find("<script>"), std::string::npos); // no inline script
    EXPECT_EQ(api->handle(request("GET", "/assets/app.js")).status, 200);
    EXPECT_EQ(api->handle(request("GET", "/assets/../index.html")).status, 404);
    EXPECT_EQ(api->handle(request("POST", "/")).status, 405);
}

TEST_F(ManagerApiTest, MetricsInPrometheusText)
{
    auto response = api->metrics(request("GET", "/metrics"));
    EXPECT_EQ(response.status, 200);
    EXPECT_NE(response.body.find("serval_connector_open_connections{address=\"127.0.0.1\",port=\"8080\"} 3"),
              std::string::npos);
    EXPECT_NE(response.body.find("serval_apps{state=\"running\"} 1"), std::string::npos);
    EXPECT_NE(response.body.find("serval_app_requests_total{host=\"localhost\",context=\"/hello\"} 0"),
              std::string::npos);
}

TEST_F(ManagerApiTest, TlsCertificatesInStatusAndMetrics)
{
    serval::manager::CertificateStatus certificate;
    certificate.where = "conf/server.xml:3";
    certificate.certificateFile = "/c/a.pem";
    certificate.hostNames = {"a.example"};
    certificate.subject = "CN=a.example";
    certificate.subjectAltNames = {"a.example", "www.a.example"};
    certificate.keyType = "EC prime256v1";
    certificate.notAfter = static_cast<int64_t>(std::time(nullptr)) + 86400 * 10;
    certificate.lastError = "conf/server.xml:3: the key does not belong to the certificate";
    backend.certificates = {certificate};

    auto metrics = api->metrics(request("GET", "/metrics")).body;
    size_t at = metrics.find("serval_tls_certificate_expiry_seconds{address=\"127.0.0.1\",port=\"8443\","
                             "certificate=\"conf/server.xml:3\",subject=\"CN=a.example\"} ");
    ASSERT_NE(at, std::string::npos) << metrics;
    long seconds = std::stol(metrics.substr(metrics.find("} ", at) + 2));
    EXPECT_GT(seconds, 86400 * 10 - 60);
    EXPECT_LE(seconds, 86400 * 10);

    ASSERT_EQ(login("viewer", "viewer-password").status, 200);
    auto status = api->handle(request("GET", "/api/status")).body;
    for (const char* part :
         {"\"subject\":\"CN=a.example\"", "\"subjectAltNames\":[\"a.example\",\"www.a.example\"]",
          "\"keyType\":\"EC prime256v1\"", "\"lastError\":\"conf/server.xml:3: the key", "\"tls\":true"}) {
        EXPECT_NE(status.find(part), std::string::npos) << part << "\n" << status;
    }
}

TEST_F(ManagerApiTest, LogsFilterByLevelAndApp)
{
    dir.write("serval.log", "2026-11-25T20:55:01.123Z INFO  [deployer] deployed /shop (version 3)\n"
                            "2026-11-25T20:55:02.123Z WARN  [app:/shop] slow\n"
                            "2026-11-25T20:55:03.123Z ERROR [connector] boom\n"
                            "2026-11-25T20:55:04.123Z DEBUG [core] noise\n");
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto all = parse(api->handle(request("GET", "/api/logs")).body);
    EXPECT_EQ(all->getArray("lines")->size(), 4u);
    auto warn = parse(api->handle(request("GET", "/api/logs?level=warn")).body);
    EXPECT_EQ(warn->getArray("lines")->size(), 2u);
    auto shop = parse(api->handle(request("GET", "/api/logs?app=/shop")).body);
    EXPECT_EQ(shop->getArray("lines")->size(), 2u);
    auto shopWarn = parse(api->handle(request("GET", "/api/logs?app=/shop&level=warn")).body);
    ASSERT_EQ(shopWarn->getArray("lines")->size(), 1u);
    EXPECT_EQ(shopWarn->getArray("lines")->getObject(0)->getValue<std::string>("message"), "slow");
}

TEST_F(ManagerApiTest, MetricsTokenWhenConfigured)
{
    ManagerConfig config;
    config.tokensDatabase = dir.file("metrics.db");
    config.metricsToken = "scrape-secret";
    ManagerApi guarded(config, backend, realm);
    EXPECT_EQ(guarded.metrics(request("GET", "/metrics")).status, 401);
    auto wrong = request("GET", "/metrics");
    wrong.headers.emplace_back("Authorization", "Bearer scrape-secreT");
    EXPECT_EQ(guarded.metrics(wrong).status, 401);
    auto right = request("GET", "/metrics");
    right.headers.emplace_back("Authorization", "Bearer scrape-secret");
    EXPECT_EQ(guarded.metrics(right).status, 200);
}

TEST_F(ManagerApiTest, NoCsrfTokenBeforeLogin)
{
    // Nothing before login hands out a CSRF token: not the page, not the session endpoint.
    auto page = api->handle(request("GET", "/"));
    EXPECT_EQ(page.header("Set-Cookie"), "");
    auto session = api->handle(request("GET", "/api/session"));
    EXPECT_EQ(session.status, 401);
    EXPECT_EQ(session.body.find("csrf\":"), std::string::npos);
    // A forged cookie is no session.
    cookie = "forged-session-id-forged-session-id-1234567";
    EXPECT_EQ(api->handle(request("GET", "/api/session")).status, 401);
}

TEST_F(ManagerApiTest, RouteTableRefusesOtherMethodsAndUnknownEndpoints)
{
    EXPECT_EQ(api->handle(request("GET", "/api/login")).status, 405); // before any authentication
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    struct Case
    {
        const char* method;
        const char* target;
        int status;
        const char* detail;
    };
    for (const Case& c : std::initializer_list<Case>{
             {"GET", "/api/stop?path=/hello", 405, "use POST"},
             {"GET", "/api/deploy", 405, "use POST"},
             {"GET", "/api/logout", 405, "log out with POST"},
             {"POST", "/api/apps", 405, "this endpoint is read-only; use GET"},
             {"DELETE", "/api/tokens", 405, "GET or POST /api/tokens, DELETE /api/tokens/<id>"},
             {"GET", "/api/tokens/1", 405, "GET or POST /api/tokens, DELETE /api/tokens/<id>"},
             {"DELETE", "/api/tokens/x", 400, "revoke with DELETE /api/tokens/<id>"},
             {"DELETE", "/api/tokens/999", 404, "no token with id 999"},
             {"GET", "/api/nope", 404, "no such API endpoint; see docs/manager-api.md"},
             {"POST", "/api/nope", 405, "this endpoint is read-only; use GET"},
         }) {
        auto response = api->handle(request(c.method, c.target));
        EXPECT_EQ(response.status, c.status) << c.method << " " << c.target;
        EXPECT_EQ(parse(response.body)->getValue<std::string>("detail"), c.detail)
            << c.method << " " << c.target;
    }
    // Access is checked before the method: a read-only user hears 403 for an action either way.
    ASSERT_EQ(login("viewer", "viewer-password").status, 200);
    EXPECT_EQ(api->handle(request("GET", "/api/stop?path=/hello")).status, 403);
    EXPECT_EQ(api->handle(request("GET", "/api/audit")).status, 403);
    EXPECT_EQ(backend.state("/hello"), "running");
}

TEST_F(ManagerApiTest, MetricsAreReadOnly)
{
    auto response = api->metrics(request("POST", "/metrics"));
    EXPECT_EQ(response.status, 405);
    EXPECT_EQ(response.header("Allow"), "GET, HEAD");
    EXPECT_EQ(response.body, "");
}

TEST_F(ManagerApiTest, ApplicationSessionsAreListedByIdPrefixAndInvalidatedOneOrAll)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto apps = parse(api->handle(request("GET", "/api/apps")).body);
    EXPECT_EQ(apps->getArray("apps")->getObject(0)->getValue<int>("sessions"), 3);

    auto listed = api->handle(request("GET", "/api/sessions?path=/hello"));
    ASSERT_EQ(listed.status, 200) << listed.body;
    auto rows = parse(listed.body)->getArray("sessions");
    ASSERT_EQ(rows->size(), 3u);
    EXPECT_EQ(rows->getObject(0)->getValue<std::string>("id"), "aaaaaaaaaaaa"); // a prefix, never the id
    EXPECT_EQ(rows->getObject(0)->getValue<int>("bytes"), 42);

    EXPECT_EQ(api->handle(request("POST", "/api/sessions/invalidate?path=/hello")).status, 400);
    EXPECT_EQ(api->handle(request("POST", "/api/sessions/invalidate?path=/hello&id=ab")).status, 400);
    EXPECT_EQ(api->handle(request("POST", "/api/sessions/invalidate?path=/hello&id=aaaaaaaaaaaa")).status,
              409);
    EXPECT_EQ(api->handle(request("POST", "/api/sessions/invalidate?path=/hello&id=cccccccc")).status, 404);
    auto one = api->handle(request("POST", "/api/sessions/invalidate?path=/hello&id=bbbbbbbbbbbb"));
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(parse(one.body)->getValue<int>("invalidated"), 1);
    auto all = api->handle(request("POST", "/api/sessions/invalidate?path=/hello&all=true"));
    EXPECT_EQ(parse(all.body)->getValue<int>("invalidated"), 2);
    EXPECT_TRUE(backend.fakeSessions.ids.empty());
    EXPECT_EQ(backend.audits.back().action, "sessions.invalidate");
    EXPECT_EQ(backend.audits.back().target, "localhost/hello (all sessions)");
}

TEST_F(ManagerApiTest, SessionActionsNeedTheRightRoleAndSayWhenTheStoreIsDown)
{
    EXPECT_EQ(api->handle(request("GET", "/api/sessions?path=/hello")).status, 401);
    ASSERT_EQ(login("viewer", "viewer-password").status, 200);
    EXPECT_EQ(api->handle(request("GET", "/api/sessions?path=/hello")).status, 200);
    EXPECT_EQ(api->handle(request("POST", "/api/sessions/invalidate?path=/hello&all=true")).status, 403);
    backend.fakeSessions.down = true;
    auto down = api->handle(request("GET", "/api/sessions?path=/hello"));
    EXPECT_EQ(down.status, 503);
    EXPECT_NE(down.body.find("Connection refused"), std::string::npos) << down.body;
    auto apps = parse(api->handle(request("GET", "/api/apps")).body);
    EXPECT_TRUE(apps->getArray("apps")->getObject(0)->isNull("sessions"));
}

TEST_F(ManagerApiTest, TheHeadIsJudgedBeforeABodyIsRead)
{
    uint64_t maxBody = 0;
    auto head = [&](const std::string& method, const std::string& target, bool body = true) {
        AdminRequest r = request(method, target);
        return api->checkHead(r, body, maxBody);
    };
    // Without credentials: refused at the head; the deploy route takes the upload cap, others JSON.
    auto refused = head("POST", "/api/deploy?file=x.sar");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401);
    EXPECT_EQ(maxBody, ManagerConfig().maxUploadSize);
    EXPECT_FALSE(head("POST", "/api/login"));
    EXPECT_EQ(maxBody, ManagerApi::MaxJsonBody);
    // No body announced: decided on a worker by handle(), where refusals are audited.
    EXPECT_FALSE(head("POST", "/api/stop?path=/hello", false));

    ASSERT_EQ(login("admin", "admin-password").status, 200);
    EXPECT_FALSE(head("POST", "/api/deploy?file=x.sar"));
    std::string token = csrf;
    csrf.clear();
    auto noCsrf = head("POST", "/api/deploy?file=x.sar");
    ASSERT_TRUE(noCsrf);
    EXPECT_EQ(noCsrf->status, 403);
    csrf = token;
    auto wrongMethod = head("DELETE", "/api/deploy");
    ASSERT_TRUE(wrongMethod);
    EXPECT_EQ(wrongMethod->status, 405);
    cookie.clear();
    csrf.clear();
    ASSERT_EQ(login("viewer", "viewer-password").status, 200);
    auto readOnly = head("POST", "/api/deploy?file=x.sar");
    ASSERT_TRUE(readOnly);
    EXPECT_EQ(readOnly->status, 403);

    AdminRequest outside = request("POST", "/api/deploy?file=x.sar");
    outside.remoteAddress = "192.0.2.1";
    EXPECT_EQ(api->checkHead(outside, true, maxBody)->status, 403);
    AdminRequest scrape = request("POST", "/metrics");
    EXPECT_EQ(api->checkMetricsHead(scrape, true, maxBody)->status, 405);
}

TEST_F(ManagerApiTest, StateChangesFromAnotherSiteAreRefused)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    auto from = [&](const std::string& name, const std::string& value) {
        AdminRequest r = request("POST", "/api/stop?path=/hello");
        r.headers.emplace_back("Host", "127.0.0.1:8080");
        r.headers.emplace_back(name, value);
        return api->handle(r);
    };
    EXPECT_EQ(from("Origin", "http://evil.example").status, 403);
    EXPECT_EQ(from("Origin", "null").status, 403);
    EXPECT_EQ(from("Origin", "https://127.0.0.1:8080").status, 403) << "another scheme is another origin";
    EXPECT_EQ(from("Sec-Fetch-Site", "cross-site").status, 403);
    EXPECT_EQ(parse(from("Sec-Fetch-Site", "same-site").body)->getValue<std::string>("error"), "cross_site");
    EXPECT_EQ(backend.state("/hello"), "running");
    EXPECT_EQ(from("Origin", "http://127.0.0.1:8080").status, 200);
    EXPECT_EQ(backend.state("/hello"), "stopped");
    EXPECT_EQ(from("Sec-Fetch-Site", "same-origin").status, 200) << "already stopped is not an error";
    // Reads are not state changes: a cross-site GET is answered (CORS keeps its body from the page).
    AdminRequest read = request("GET", "/api/apps");
    read.headers.emplace_back("Origin", "http://evil.example");
    EXPECT_EQ(api->handle(read).status, 200);
}

TEST_F(ManagerApiTest, OverTlsTheCookieIsSecureAndPrefixed)
{
    auto r = request("POST", "/api/login", "{\"user\":\"admin\",\"password\":\"admin-password\"}");
    r.headers.emplace_back("Content-Type", "application/json");
    r.secure = true;
    auto response = api->handle(r);
    ASSERT_EQ(response.status, 200) << response.body;
    std::string setCookie(response.header("Set-Cookie"));
    EXPECT_EQ(setCookie.rfind("__Secure-SERVAL_MANAGER=", 0), 0u) << setCookie;
    EXPECT_NE(setCookie.find("; Path=/manager/;"), std::string::npos) << setCookie;
    EXPECT_NE(setCookie.find("; Secure"), std::string::npos) << setCookie;
    std::string id = setCookie.substr(setCookie.find('=') + 1, setCookie.find(';') - setCookie.find('=') - 1);
    AdminRequest apps = request("GET", "/api/apps");
    apps.secure = true;
    apps.headers.emplace_back("Cookie", std::string("__Secure-SERVAL_MANAGER=") + id);
    EXPECT_EQ(api->handle(apps).status, 200);
    AdminRequest plain = request("GET", "/api/apps");
    plain.headers.emplace_back("Cookie", std::string("SERVAL_MANAGER=") + id);
    plain.secure = true;
    EXPECT_EQ(api->handle(plain).status, 401) << "over TLS only the prefixed cookie counts";
}

TEST_F(ManagerApiTest, CrashListNewestFirstBoundedAndOneRecordWhole)
{
    std::vector<CrashInfo> records;
    for (int i = 0; i < 3; ++i) {
        CrashInfo c;
        c.crashId = "c-" + std::to_string(i);
        c.host = "localhost";
        c.path = "/hello";
        c.signal = "SIGSEGV";
        c.function = "f" + std::to_string(i);
        c.summary = "SIGSEGV at 0x0 in f" + std::to_string(i);
        c.backtrace = "#0 f" + std::to_string(i);
        records.push_back(c);
    }
    backend.isolate(records);
    ASSERT_EQ(login("viewer", "viewer-password").status, 200) << "reading crashes needs read access only";
    auto listed = api->handle(request("GET", "/api/crashes?path=/hello&limit=2"));
    ASSERT_EQ(listed.status, 200) << listed.body;
    auto list = parse(listed.body)->getArray("crashes");
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ(list->getObject(0)->getValue<std::string>("crashId"), "c-2");
    EXPECT_EQ(list->getObject(0)->getValue<std::string>("function"), "f2");
    EXPECT_FALSE(list->getObject(0)->has("backtrace")) << "the list stays small";
    auto whole = api->handle(request("GET", "/api/crashes/c-1"));
    ASSERT_EQ(whole.status, 200) << whole.body;
    EXPECT_EQ(parse(whole.body)->getValue<std::string>("backtrace"), "#0 f1");
    EXPECT_EQ(api->handle(request("GET", "/api/crashes/c-9")).status, 404);
    EXPECT_EQ(api->handle(request("GET", "/api/crashes?path=hello")).status, 400);
    EXPECT_EQ(api->handle(request("POST", "/api/restart-processes?path=/hello")).status, 403)
        << "a read-only user may not restart";
    EXPECT_EQ(backend.restarts, 0);
}

TEST_F(ManagerApiTest, RestartProcessesIsAnActionWithCsrfAndAudit)
{
    ASSERT_EQ(login("admin", "admin-password").status, 200);
    EXPECT_EQ(api->handle(request("POST", "/api/restart-processes?path=/hello")).status, 409)
        << "an in-process app has no processes";
    backend.isolate({});
    std::string saved = std::exchange(csrf, "");
    EXPECT_EQ(api->handle(request("POST", "/api/restart-processes?path=/hello")).status, 403) << "CSRF";
    csrf = saved;
    EXPECT_EQ(backend.restarts, 0);
    auto done = api->handle(request("POST", "/api/restart-processes?path=/hello"));
    ASSERT_EQ(done.status, 200) << done.body;
    EXPECT_EQ(parse(done.body)->getValue<std::string>("action"), "restart-processes");
    EXPECT_EQ(backend.restarts, 1);
    EXPECT_EQ(backend.audits.back().action, "restart-processes");
    EXPECT_EQ(backend.audits.back().result, "ok");
    EXPECT_EQ(api->handle(request("GET", "/api/restart-processes?path=/hello")).status, 405);
}
