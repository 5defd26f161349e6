// The first multi-node story (docs/cluster.md): a redis-server, two serval nodes sharing their
// sessions in it and nginx in front (round robin, no stickiness, deploy/nginx/serval-proxy.conf),
// all started by the test on loopback ports in temp dirs. Login through nginx, kill -9 of a node
// under load, concurrent writes of one session on both nodes, and a rolling servalctl deploy.
#include "support/Eventually.h"
#include "support/HttpClient.h"
#include "support/NginxServer.h"
#include "support/RedisServer.h"
#include "support/Servalctl.h"
#include "support/SessionServer.h"
#include "support/TempDir.h"

#include <atomic>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace serval::test;

namespace {

constexpr int kNodes = 2;

class ClusterTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        makeDirs(scratch.file("redis"));
        ASSERT_TRUE(redis.start()) << redis.error();
        std::string upstream = "  upstream serval_cluster {\n";
        for (int i = 0; i < kNodes; ++i) {
            nodes.push_back(std::make_unique<SessionServer>(
                "<Manager store=\"redis\" url=\"" + redis.url() + "\"/>",
                " jvmRoute=\"node" + std::to_string(i + 1) + "\"", kManagerXml));
            SessionServer& node = *nodes.back();
            ASSERT_NO_FATAL_FAILURE(node.addManagerUser());
            ASSERT_TRUE(node.start()) << node.process().error();
            upstream +=
                "    server 127.0.0.1:" + std::to_string(node.port()) + " max_fails=1 fail_timeout=5s;\n";
        }
        upstream += "    keepalive 16;\n  }\n";
        // The proxy settings an operator installs (deploy/nginx/serval-proxy.conf), plus a header
        // that tells the test which node answered.
        ASSERT_TRUE(nginx.start(upstream +
                                "  server {\n    listen 127.0.0.1:@PORT@;\n"
                                "    location / {\n      proxy_pass http://serval_cluster;\n"
                                "      include " +
                                env("SERVAL_SOURCE") +
                                "/deploy/nginx/serval-proxy.conf;\n"
                                "      add_header X-Upstream $upstream_addr always;\n    }\n  }\n"))
            << nginx.error();
    }

    /// GET through nginx with SERVALSESSION=`cookie` when given.
    HttpReply viaNginx(const std::string& target, const std::string& cookie = "")
    {
        std::map<std::string, std::string> headers;
        if (!cookie.empty()) headers["Cookie"] = "SERVALSESSION=" + cookie;
        return httpGet(nginx.port(), target, headers);
    }

    std::string nodeAddress(int i) const { return "127.0.0.1:" + std::to_string(nodes[i]->port()); }
    std::string nodeUrl(int i) const { return "http://" + nodeAddress(i); }

    /// A manager-script token for node `i` (log in, then create it, as an operator would).
    std::string token(int i)
    {
        std::map<std::string, std::string> headers = nodes[i]->managerLogin();
        headers["Content-Type"] = "application/json";
        HttpReply created =
            httpRequest(nodes[i]->port(), "POST", "/manager/api/tokens", headers, "{\"name\":\"rolling\"}");
        EXPECT_EQ(created.status, 201) << created.raw;
        return jsonString(created.body, "token");
    }

    TempDir scratch;
    RedisServer redis{scratch.file("redis")};
    std::vector<std::unique_ptr<SessionServer>> nodes;
    NginxServer nginx{scratch.file("nginx")};
};

TEST_F(ClusterTest, ALoginThroughNginxIsSeenByEveryNodeInTurn)
{
    HttpReply cart = viaNginx("/sessions/set?name=cart&value=3");
    std::string before = cookieValue(cart);
    ASSERT_FALSE(before.empty()) << cart.raw;
    HttpReply login = viaNginx("/sessions/login?user=ann", before);
    std::string after = cookieValue(login);
    ASSERT_FALSE(after.empty()) << login.raw;
    EXPECT_NE(login.header("X-Upstream"), cart.header("X-Upstream")) << "round robin: the other node";
    EXPECT_NE(after.substr(0, 32), before.substr(0, 32)) << "change id at login";

    // Each request goes to the other node (round robin) and finds the same session.
    std::set<std::string> answered;
    std::string previous = login.header("X-Upstream");
    for (int i = 0; i < 6; ++i) {
        HttpReply reply = viaNginx(i % 2 ? "/sessions/get?name=user" : "/sessions/get?name=cart", after);
        EXPECT_EQ(reply.body, i % 2 ? "ann" : "3") << reply.raw;
        EXPECT_NE(reply.header("X-Upstream"), previous) << "request " << i;
        previous = reply.header("X-Upstream");
        answered.insert(previous);
    }
    EXPECT_EQ(answered, (std::set<std::string>{nodeAddress(0), nodeAddress(1)}));
    // The id retired at login is gone on both nodes.
    for (int i = 0; i < kNodes; ++i)
        EXPECT_EQ(nodes[i]->get("/sessions/get?name=cart", before).body, "(no session)") << "node " << i + 1;
}

TEST_F(ClusterTest, KillNineOfANodeUnderLoadLosesNoSessionAndFailsNoRequest)
{
    constexpr int kSessions = 20;
    std::vector<std::string> ids;
    for (int s = 0; s < kSessions; ++s) {
        std::string id = cookieValue(viaNginx("/sessions/set?name=user&value=u" + std::to_string(s)));
        ASSERT_FALSE(id.empty());
        ids.push_back(id);
    }

    std::atomic<bool> stop{false};
    std::atomic<int> ok{0};
    std::atomic<int> okAfterKill{0};
    std::atomic<bool> killed{false};
    std::mutex mutex;
    std::vector<std::string> failures;
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&, t] {
            for (int i = t; !stop; ++i) {
                int s = i % kSessions;
                HttpReply reply = viaNginx("/sessions/get?name=user", ids[s]);
                if (reply.status == 200 && reply.body == "u" + std::to_string(s)) {
                    ++ok;
                    if (killed) ++okAfterKill;
                    continue;
                }
                std::lock_guard<std::mutex> lock(mutex);
                failures.push_back(std::to_string(reply.status) + " " + reply.body);
            }
        });
    }
    ASSERT_TRUE(eventually([&] { return ok >= 200; }, std::chrono::seconds(30)));
    nodes[0]->kill();
    killed = true;
    bool survived = eventually([&] { return okAfterKill >= 400; }, std::chrono::seconds(30));
    stop = true;
    for (auto& c : clients)
        c.join();
    EXPECT_TRUE(survived) << okAfterKill << " requests answered after the kill";
    EXPECT_TRUE(failures.empty()) << failures.size() << " failed requests at nginx, first: " << failures[0];

    // Nginx saw the dead node fail and sent those requests on; nothing reached a client as an error.
    size_t retried = 0;
    size_t notOk = 0;
    std::string log = nginx.accessLog();
    for (size_t start = 0, end; (end = log.find('\n', start)) != std::string::npos; start = end + 1) {
        std::string line = log.substr(start, end - start);
        if (line.compare(0, 4, "200 ") != 0) ++notOk;
        if (line.find(", ") != std::string::npos) ++retried; // "$upstream_addr" lists every node tried
    }
    EXPECT_EQ(notOk, 0u) << log.substr(0, 4000);
    std::cout << "[ cluster ] " << ok << " requests, " << okAfterKill << " after kill -9 of node 1, "
              << retried << " sent on to node 2 by nginx, 0 failed" << std::endl;

    // Every session is still there, now served by the survivor alone.
    for (int s = 0; s < kSessions; ++s) {
        HttpReply reply = viaNginx("/sessions/get?name=user", ids[s]);
        EXPECT_EQ(reply.body, "u" + std::to_string(s)) << reply.raw;
        EXPECT_EQ(reply.header("X-Upstream").substr(reply.header("X-Upstream").rfind(' ') + 1),
                  nodeAddress(1));
    }
}

TEST_F(ClusterTest, ConcurrentWritesOfOneSessionOnBothNodesAreAllKept)
{
    constexpr int kRuns = 100;
    constexpr int kWritersPerNode = 2;
    int lost = 0;
    for (int run = 0; run < kRuns; ++run) {
        std::string id = cookieValue(nodes[0]->get("/sessions/set?name=start&value=1"));
        ASSERT_FALSE(id.empty());
        std::atomic<int> ready{0};
        std::vector<std::thread> writers;
        for (int n = 0; n < kNodes; ++n) {
            for (int w = 0; w < kWritersPerNode; ++w) {
                writers.emplace_back([&, n, w] {
                    std::string name = "n" + std::to_string(n) + "w" + std::to_string(w);
                    // Start together, so the requests overlap on the two nodes.
                    ++ready;
                    while (ready < kNodes * kWritersPerNode)
                        std::this_thread::yield();
                    EXPECT_EQ(nodes[n]->get("/sessions/set?name=" + name + "&value=" + name, id).body, "set");
                });
            }
        }
        for (auto& w : writers)
            w.join();
        for (int n = 0; n < kNodes; ++n) {
            for (int w = 0; w < kWritersPerNode; ++w) {
                std::string name = "n" + std::to_string(n) + "w" + std::to_string(w);
                if (viaNginx("/sessions/get?name=" + name, id).body != name) ++lost;
            }
        }
    }
    EXPECT_EQ(lost, 0) << lost << " of " << kRuns * kNodes * kWritersPerNode << " writes lost";
}

TEST_F(ClusterTest, ARollingDeployGoesOneNodeAtATimeAndStopsAtTheFirstFailure)
{
    auto pack = [&](const std::string& marker) {
        std::string src = "src-" + marker;
        scratch.write(src + "/WEB-INF/web.xml", "<web-app><display-name>greet</display-name></web-app>\n");
        scratch.write(src + "/index.html", marker + "\n");
        std::string file = scratch.file("greet-" + marker + ".sar");
        CtlRun packed = runServalctl(scratch, {"pack", scratch.file(src), "-o", file});
        EXPECT_EQ(packed.exit, 0) << packed.err;
        return file;
    };
    std::vector<std::string> tokens = {token(0), token(1)};

    CtlRun first = runServalctl(scratch, {"--url", nodeUrl(0), "--url", nodeUrl(1), "--token", tokens[0],
                                          "--token", tokens[1], "deploy", pack("v1"), "--path", "/greet"});
    ASSERT_EQ(first.exit, 0) << first.out << first.err;
    EXPECT_EQ(first.out.find("[1/2] " + nodeUrl(0) + ": deployed localhost/greet"), 0u) << first.out;
    EXPECT_NE(first.out.find("\n[2/2] " + nodeUrl(1) + ": deployed localhost/greet"), std::string::npos)
        << first.out;
    for (int i = 0; i < kNodes; ++i)
        EXPECT_EQ(nodes[i]->get("/greet/index.html").body, "v1\n") << "node " << i + 1;

    // The second server is down: the first gets v2, the third is not touched.
    const std::string down = "http://127.0.0.1:1";
    CtlRun second = runServalctl(scratch, {"--url", nodeUrl(0), "--url", down, "--url", nodeUrl(1), "--token",
                                           tokens[0], "--token", "unused", "--token", tokens[1], "deploy",
                                           pack("v2"), "--path", "/greet", "--update"});
    EXPECT_EQ(second.exit, 1) << second.out << second.err;
    EXPECT_NE(
        second.err.find("stopped at server 2 of 3; deployed on the 1 before it; not touched: " + nodeUrl(1)),
        std::string::npos)
        << second.err;
    EXPECT_EQ(nodes[0]->get("/greet/index.html").body, "v2\n");
    EXPECT_EQ(nodes[1]->get("/greet/index.html").body, "v1\n");

    // A token the second server refuses: found before the first server is touched.
    CtlRun refused =
        runServalctl(scratch, {"--url", nodeUrl(0), "--url", nodeUrl(1), "--token", tokens[0], "--token",
                               "not-a-token", "deploy", pack("v4"), "--path", "/greet", "--update"});
    EXPECT_EQ(refused.exit, 1) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("nothing deployed: server 2 of 2 refuses its token"), std::string::npos)
        << refused.err;
    EXPECT_EQ(nodes[0]->get("/greet/index.html").body, "v2\n") << "the first server was touched";

    CtlRun third =
        runServalctl(scratch, {"--url", nodeUrl(0), "--url", nodeUrl(1), "--token", tokens[0], "--token",
                               tokens[1], "deploy", pack("v3"), "--path", "/greet", "--update"});
    ASSERT_EQ(third.exit, 0) << third.out << third.err;
    for (int i = 0; i < kNodes; ++i)
        EXPECT_EQ(nodes[i]->get("/greet/index.html").body, "v3\n") << "node " << i + 1;
}

} // namespace
