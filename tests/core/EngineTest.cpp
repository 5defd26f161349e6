#include "core/Engine.h"

#include "Fakes.h"
#include "core/Host.h"
#include "support/ServalProcess.h"

#include <atomic>
#include <condition_variable>
#include <gtest/gtest.h>
#include <mutex>
#include <thread>

using namespace serval;
using test::Exchange;

namespace {

/// Two hosts: "localhost" (default, apps ROOT and /docs and /docs/api) and "example.com"
/// (alias "www.example.com", app ROOT). Each app answers with its own name.
struct EngineTest : ::testing::Test
{
    test::TempDir dir;
    test::Trace trace = std::make_shared<std::vector<std::string>>();
    core::Engine engine{"localhost", test::fakeServices(trace)};

    std::shared_ptr<core::Context> app(const std::shared_ptr<core::Host>& host, const std::string& name,
                                       const std::string& path)
    {
        core::ContextSpec spec;
        spec.name = name;
        spec.path = path;
        spec.docBase = dir.file(host->name() + "/" + name);
        dir.write(host->name() + "/" + name + "/WEB-INF/lib/libfake.so", "");
        auto context = std::make_shared<core::Context>(spec, engine.services());
        context->addServlet("id", std::make_unique<test::FakeServlet>(host->name() + ":" + name, trace),
                            {"/"});
        host->addContext(context);
        return context;
    }

    std::shared_ptr<core::Host> host(const std::string& name, std::vector<std::string> aliases = {})
    {
        config::HostConfig hc;
        hc.name = name;
        hc.aliases = std::move(aliases);
        auto h = std::make_shared<core::Host>(hc);
        engine.addHost(h);
        return h;
    }

    void SetUp() override
    {
        auto local = host("localhost");
        app(local, "ROOT", "");
        app(local, "docs", "/docs");
        app(local, "docs#api", "/docs/api");
        auto example = host("example.com", {"www.example.com"});
        app(example, "ROOT", "");
        ASSERT_TRUE(engine.start());
    }

    std::string get(const std::string& target, const std::string& hostHeader = "localhost")
    {
        Exchange e("GET", target, hostHeader);
        e.run(engine);
        return e.body();
    }
};

} // namespace

TEST_F(EngineTest, RoutesByHostNameAliasAndDefault)
{
    EXPECT_EQ(get("/x"), "localhost:ROOT sp=/x pi=null");
    EXPECT_EQ(get("/x", "EXAMPLE.com:8080"), "example.com:ROOT sp=/x pi=null");
    EXPECT_EQ(get("/x", "www.example.com"), "example.com:ROOT sp=/x pi=null");
    EXPECT_EQ(get("/x", "unknown.test"), "localhost:ROOT sp=/x pi=null");
    EXPECT_EQ(get("/x", ""), "localhost:ROOT sp=/x pi=null"); // HTTP/1.0 without Host
}

TEST_F(EngineTest, LongestContextPathWins)
{
    EXPECT_EQ(get("/docs/api/v1"), "localhost:docs#api sp=/v1 pi=null");
    EXPECT_EQ(get("/docs/guide"), "localhost:docs sp=/guide pi=null");
    EXPECT_EQ(get("/docsx"), "localhost:ROOT sp=/docsx pi=null");
}

TEST_F(EngineTest, ContextPathWithoutSlashRedirectsKeepingTheQuery)
{
    Exchange e("GET", "/docs?lang=en&x=1");
    EXPECT_EQ(e.run(engine), 302);
    EXPECT_EQ(e.decision.rejectStatus, 302);
    EXPECT_EQ(e.header("Location"), "/docs/?lang=en&x=1");
    Exchange f("GET", "/docs/api");
    f.run(engine);
    EXPECT_EQ(f.header("Location"), "/docs/api/");
}

TEST_F(EngineTest, RequestPathIsDecodedOnceAndNormalised)
{
    EXPECT_EQ(get("/docs/a%20b/./c/../d"), "localhost:docs sp=/a b/d pi=null");
    EXPECT_EQ(get("/docs//x"), "localhost:docs sp=/x pi=null");
    EXPECT_EQ(get("/d%6fcs/x"), "localhost:docs sp=/x pi=null");
    EXPECT_EQ(get("/docs/%252F"), "localhost:docs sp=/%2F pi=null"); // once, not twice
}

TEST_F(EngineTest, HostilePathsAre400)
{
    for (const char* target : {"/docs/a%2Fb", "/docs/a%2fb", "/a%5Cb", "/a%5cb", "/a%00b", "/a\\b",
                               "/../etc/passwd", "/docs/../../x", "/a%zz", "/%2e%2e/x"}) {
        Exchange e("GET", target);
        EXPECT_EQ(e.run(engine), 400) << target;
        EXPECT_EQ(e.decision.rejectStatus, 400) << target;
    }
}

TEST_F(EngineTest, NothingDeployedIs404)
{
    auto bare = host("bare.test");
    app(bare, "only", "/only");
    bare->start();
    Exchange e("GET", "/elsewhere", "bare.test");
    EXPECT_EQ(e.run(engine), 404);
    EXPECT_EQ(e.decision.rejectStatus, 404);
}

TEST_F(EngineTest, ReplacingAContextSwapsRoutingWhileOldRequestsFinish)
{
    auto local = engine.findHost("LOCALHOST");
    ASSERT_TRUE(local);
    Exchange inFlight("GET", "/docs/x");
    inFlight.decision = engine.onHead(inFlight.exchange); // routed to the old version

    core::ContextSpec spec;
    spec.name = "docs";
    spec.path = "/docs";
    spec.version = "2";
    spec.docBase = dir.file("v2");
    auto v2 = std::make_shared<core::Context>(spec, engine.services());
    v2->addServlet("id", std::make_unique<test::FakeServlet>("v2", trace), {"/"});
    ASSERT_TRUE(v2->start());
    auto old = local->addContext(v2);
    ASSERT_TRUE(old);
    EXPECT_EQ(old->inFlight(), 1);

    EXPECT_EQ(get("/docs/x"), "v2 sp=/x pi=null"); // new requests: new version
    engine.service(inFlight.exchange);
    EXPECT_EQ(inFlight.body(), "localhost:docs sp=/x pi=null"); // wholly the old version
    engine.complete(inFlight.exchange, 0);
    EXPECT_EQ(old->inFlight(), 0);
    old->stop();
    EXPECT_EQ(old.use_count(), 1); // nothing else pins it once complete() ran
}

TEST_F(EngineTest, AnIdleRequestThreadPinsNoReplacedContext)
{
    // A thread that served a request and then idles (an I/O thread with quiet connections)
    // must not keep the routing snapshot of that request, or a replaced app stays loaded.
    std::mutex mutex;
    std::condition_variable changed;
    int phase = 0;
    std::string before, after;
    std::thread requestThread([&] {
        before = get("/docs/x");
        std::unique_lock<std::mutex> lock(mutex);
        phase = 1;
        changed.notify_all();
        changed.wait(lock, [&] { return phase == 2; });
        lock.unlock();
        after = get("/docs/x");
    });
    {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return phase == 1; });
    }
    auto local = engine.findHost("localhost");
    auto removed = local->removeContext("/docs");
    ASSERT_TRUE(removed);
    removed->stop();
    EXPECT_EQ(removed.use_count(), 1); // the idle thread holds no pin
    {
        std::lock_guard<std::mutex> lock(mutex);
        phase = 2;
    }
    changed.notify_all();
    requestThread.join();
    EXPECT_EQ(before, "localhost:docs sp=/x pi=null");
    EXPECT_EQ(after, "localhost:ROOT sp=/docs/x pi=null"); // the change is seen by that thread
}

TEST_F(EngineTest, RemovedContextIsNoLongerRouted)
{
    auto local = engine.findHost("localhost");
    auto removed = local->removeContext("/docs");
    ASSERT_TRUE(removed);
    EXPECT_EQ(get("/docs/x"), "localhost:ROOT sp=/docs/x pi=null");
    EXPECT_EQ(local->removeContext("/docs"), nullptr);
}

TEST_F(EngineTest, OptionsStarAnswersAllow)
{
    Exchange e("OPTIONS", "*");
    EXPECT_EQ(e.run(engine), 200);
    EXPECT_EQ(e.header("Allow"), "GET, HEAD, POST, PUT, DELETE, OPTIONS");
}

TEST_F(EngineTest, AccessLogIsCalledOncePerCompletedExchange)
{
    std::vector<std::string> lines;
    engine.findHost("example.com")->setAccessLog([&](const http::HttpExchange& e, uint64_t bytes) {
        lines.push_back(e.request.target + " " + std::to_string(e.response.status()) + " " +
                        std::to_string(bytes));
    });
    Exchange e("GET", "/a", "example.com");
    e.decision = engine.onHead(e.exchange);
    engine.service(e.exchange);
    engine.complete(e.exchange, 123);
    Exchange bad("GET", "/a%2f", "example.com");
    bad.run(engine);
    EXPECT_EQ(lines, (std::vector<std::string>{"/a 200 123", "/a%2f 400 0"}));
}

TEST_F(EngineTest, ExchangeStateIsReusedAcrossRequestsOnAConnection)
{
    Exchange e("GET", "/docs/x");
    e.run(engine);
    http::ExchangeState* first = e.exchange.state.get();
    e.exchange.response.clear();
    e.exchange.request.path = "/y";
    e.run(engine);
    EXPECT_EQ(e.exchange.state.get(), first);
    EXPECT_EQ(e.body(), "localhost:ROOT sp=/y pi=null");
}

TEST_F(EngineTest, ConcurrentRequestsDuringRepeatedReplacementNeverFail)
{
    auto local = engine.findHost("localhost");
    std::atomic<bool> done{false};
    std::atomic<int> failures{0};
    std::atomic<int> served{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&] {
            while (!done.load()) {
                Exchange e("GET", "/docs/x");
                int status = e.run(engine);
                bool fromAVersion = e.body().rfind("v", 0) == 0 || e.body().rfind("localhost:docs", 0) == 0;
                if (status != 200 || !fromAVersion) {
                    failures.fetch_add(1);
                }
                served.fetch_add(1);
            }
        });
    }
    for (int version = 1; version <= 30; ++version) {
        core::ContextSpec spec;
        spec.name = "docs";
        spec.path = "/docs";
        spec.version = std::to_string(version);
        spec.docBase = dir.path();
        auto next = std::make_shared<core::Context>(spec, engine.services());
        next->addServlet("id", std::make_unique<test::FakeServlet>("v" + spec.version, trace), {"/"});
        ASSERT_TRUE(next->start());
        int before = served.load();
        ASSERT_TRUE(
            test::eventually([&] { return served.load() >= before + 20; })); // traffic on the current version
        auto old = local->addContext(next);
        ASSERT_TRUE(test::eventually([&] { return old->inFlight() == 0; }));
        old->stop();
    }
    done = true;
    for (auto& c : clients)
        c.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GT(served.load(), 0);
}

TEST_F(EngineTest, AContextsHeadCheckDecidesBeforeTheBodyAndTheRefusalIsCounted)
{
    // A container Context (the manager's kind) refuses some heads and caps the body of others.
    struct Check : core::HeadCheck
    {
        std::atomic<int> calls{0};
        void checkHead(const core::Context& context, http::HttpExchange& exchange,
                       http::HeadDecision& decision, std::unique_ptr<http::BodyConsumer>&) noexcept override
        {
            ++calls;
            EXPECT_EQ(context.path(), "/guarded");
            if (exchange.request.header("Authorization").empty()) {
                exchange.response.setStatus(401);
                exchange.response.write("who are you?");
                decision.rejectStatus = 401;
                return;
            }
            decision.maxBodySize = 64;
        }
    };
    auto check = std::make_shared<Check>();
    core::ContextSpec spec;
    spec.name = "guarded";
    spec.path = "/guarded";
    spec.docBase = dir.file("guarded");
    auto guarded = std::make_shared<core::Context>(spec, core::ContextServices{});
    guarded->addServlet("id", std::make_unique<test::FakeServlet>("guarded", trace), {"/"});
    guarded->setHeadCheck(check);
    ASSERT_TRUE(guarded->start());
    engine.findHost("localhost")->addContext(guarded);

    Exchange refused("POST", "/guarded/upload");
    EXPECT_EQ(refused.run(engine), 401);
    EXPECT_EQ(refused.decision.rejectStatus, 401);
    EXPECT_EQ(refused.body(), "who are you?");
    EXPECT_EQ(guarded->stats().requests, 1u) << "complete() counts the refusal";
    EXPECT_EQ(guarded->inFlight(), 0);

    Exchange accepted("POST", "/guarded/upload");
    accepted.exchange.request.headers.push_back({"Authorization", "Bearer x"});
    EXPECT_EQ(accepted.run(engine), 200);
    EXPECT_EQ(accepted.decision.maxBodySize, 64u);
    EXPECT_EQ(check->calls.load(), 2);
    EXPECT_EQ(get("/docs/x"), "localhost:docs sp=/x pi=null") << "other Contexts have no check";
    EXPECT_EQ(check->calls.load(), 2);
}
