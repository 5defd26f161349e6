// HttpSession end to end: the fixture apps (tests/fixtures/apps/Sessions.cpp through the C++
// layer, SessionsC.c through the C ABI) in the real serval binary, over HTTP. Restarts, redeploys
// and kill -9 keep sessions; Redis down answers 503 for the requests that need a session only.
#include "support/HttpClient.h"
#include "support/RedisServer.h"
#include "support/ServalProcess.h"
#include "support/SessionServer.h"
#include "support/SqliteQuery.h"
#include "support/TempDir.h"
#include "support/TestCertificates.h"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <poll.h>
#include <set>
#include <thread>

using namespace serval::test;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> lines(const std::string& body)
{
    std::map<std::string, std::string> out;
    size_t start = 0;
    while (start < body.size()) {
        size_t end = body.find('\n', start);
        std::string line = body.substr(start, end == std::string::npos ? std::string::npos : end - start);
        size_t eq = line.find('=');
        if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

/// Every test here runs twice: with the apps in worker processes (isolation="process", the
/// default: the worker opens the session store itself) and in the server (isolation="none").
class SessionModeTest : public ::testing::TestWithParam<std::string>
{
protected:
    const std::string& isolation() const { return GetParam(); }
};

class SessionEndToEndTest : public SessionModeTest
{
protected:
    void SetUp() override { ASSERT_TRUE(server.start()) << server.process().error(); }
    SessionServer server{"", "", "", GetParam()};
};

class SessionRedisTest : public SessionModeTest
{
protected:
    /// Starts a private redis-server, then a SessionServer whose Host keeps its sessions there
    /// (`managerAttributes` go on its <Manager>, `engineAttributes` on <Engine>).
    void startBoth(const std::string& managerAttributes = "", const std::string& engineAttributes = "")
    {
        ASSERT_TRUE(redis.start()) << redis.error();
        server = std::make_unique<SessionServer>("<Manager store=\"redis\" url=\"" + redis.url() + "\"" +
                                                     managerAttributes + "/>",
                                                 engineAttributes, "", isolation());
        ASSERT_TRUE(server->start()) << server->process().error();
    }

    TempDir redisDir;
    RedisServer redis{redisDir.path()};
    std::unique_ptr<SessionServer> server;
};
class SessionExpiryTest : public SessionModeTest
{
};
class SessionCrashTest : public SessionModeTest
{
};
class SessionSecureTest : public SessionModeTest
{
};

std::string modeName(const ::testing::TestParamInfo<std::string>& info)
{
    return info.param;
}

} // namespace

TEST_P(SessionEndToEndTest, ASessionIsCreatedOnFirstWriteAndCarriedByItsCookie)
{
    HttpReply set = server.get("/sessions/set?name=colour&value=green");
    ASSERT_EQ(set.status, 200) << set.raw;
    std::string id = cookieValue(set);
    ASSERT_EQ(id.size(), 32u) << set.header("Set-Cookie");
    std::string header = set.header("Set-Cookie");
    EXPECT_THAT(header, HasSubstr("; Path=/sessions"));
    EXPECT_THAT(header, HasSubstr("; HttpOnly"));
    EXPECT_THAT(header, HasSubstr("; SameSite=Lax"));
    EXPECT_THAT(header, Not(HasSubstr("Secure")));  // plain HTTP, no trusted proxy
    EXPECT_THAT(header, Not(HasSubstr("Max-Age"))); // a browser-session cookie

    HttpReply got = server.get("/sessions/get?name=colour", id);
    EXPECT_EQ(got.body, "green");
    EXPECT_EQ(cookieValue(got), ""); // known session: no new cookie
    auto info = lines(server.get("/sessions/info", id).body);
    EXPECT_EQ(info["id"], id);
    EXPECT_EQ(info["new"], "false");
    EXPECT_EQ(info["maxInactive"], "1800"); // web.xml default: 30 minutes
    EXPECT_EQ(info["names"], "colour,");
    EXPECT_EQ(server.get("/sessions/get?name=colour").body, "(no session)");

    EXPECT_EQ(server.get("/sessions/count", id).body, "1");
    EXPECT_EQ(server.get("/sessions/count", id).body, "2");
    EXPECT_EQ(server.get("/sessions/remove?name=colour", id).body, "removed");
    EXPECT_EQ(server.get("/sessions/get?name=colour", id).body, "(none)");
}

TEST_P(SessionEndToEndTest, AnIdTheServerDidNotIssueIsNeverAdopted)
{
    const std::string planted(32, 'a');
    HttpReply set = server.get("/sessions/set?name=user&value=mallory", planted);
    std::string issued = cookieValue(set);
    ASSERT_FALSE(issued.empty());
    EXPECT_NE(issued, planted);
    EXPECT_EQ(server.get("/sessions/get?name=user", planted).body, "(no session)");
    EXPECT_EQ(server.get("/sessions/get?name=user", issued).body, "mallory");
}

TEST_P(SessionEndToEndTest, ChangeIdAtLoginRetiresTheOldIdAndKeepsTheAttributes)
{
    std::string before = cookieValue(server.get("/sessions/set?name=cart&value=3"));
    HttpReply login = server.get("/sessions/login?user=alice", before);
    std::string after = cookieValue(login);
    ASSERT_FALSE(after.empty());
    EXPECT_NE(after, before);
    EXPECT_EQ(login.body, after); // the app sees the id the cookie carries
    EXPECT_EQ(server.get("/sessions/get?name=cart", after).body, "3");
    EXPECT_EQ(server.get("/sessions/get?name=user", after).body, "alice");
    EXPECT_EQ(server.get("/sessions/get?name=cart", before).body, "(no session)");
}

TEST_P(SessionEndToEndTest, InvalidateEndsTheSessionDeletesTheCookieAndTellsTheListener)
{
    std::string id = cookieValue(server.get("/sessions/set?name=a&value=1"));
    EXPECT_EQ(server.get("/sessions/events").body, "created=1 destroyed=0");
    HttpReply invalidated = server.get("/sessions/invalidate", id);
    EXPECT_THAT(invalidated.header("Set-Cookie"), HasSubstr("SERVALSESSION=; Max-Age=0"));
    EXPECT_EQ(server.get("/sessions/events").body, "created=1 destroyed=1");
    EXPECT_EQ(server.get("/sessions/get?name=a", id).body, "(no session)");
}

TEST_P(SessionEndToEndTest, EveryAbiFunctionWorksFromC)
{
    HttpReply set = server.get("/c/op?op=set&name=k&value=v1");
    ASSERT_EQ(set.body, "set") << set.raw;
    std::string id = cookieValue(set);
    ASSERT_FALSE(id.empty());
    EXPECT_THAT(set.header("Set-Cookie"), HasSubstr("Path=/c"));
    EXPECT_EQ(server.get("/c/op?op=get&name=k", id).body, "v1");
    EXPECT_EQ(server.get("/c/op?op=get&name=missing", id).body, "(none)");
    EXPECT_EQ(server.get("/c/op?op=get&name=k").body, "(no session)");
    server.get("/c/op?op=set&name=k2&value=v2", id);
    EXPECT_EQ(server.get("/c/op?op=names", id).body, "k,k2,");
    EXPECT_EQ(server.get("/c/op?op=remove&name=k2", id).body, "removed");
    EXPECT_EQ(server.get("/c/op?op=remove&name=k2", id).body, "status 2"); // SERVAL_NOT_FOUND
    EXPECT_EQ(server.get("/c/op?op=timeout&value=120", id).body, "ok");
    auto info = lines(server.get("/c/op?op=info", id).body);
    EXPECT_EQ(info["id"], id);
    EXPECT_EQ(info["new"], "false");
    EXPECT_EQ(info["maxInactive"], "120");
    EXPECT_GT(std::stoll(info["created"]), 1700000000000LL);
    EXPECT_GE(std::stoll(info["accessed"]), std::stoll(info["created"]));

    HttpReply login = server.get("/c/op?op=login", id);
    std::string newId = cookieValue(login);
    EXPECT_EQ(login.body, newId);
    EXPECT_NE(newId, id);
    EXPECT_EQ(server.get("/c/op?op=get&name=k", newId).body, "v1");

    HttpReply invalidated = server.get("/c/op?op=invalidate", newId);
    EXPECT_EQ(invalidated.body, "status 4"); // the handle is dead: SERVAL_INVALID_ARGUMENT
    EXPECT_EQ(server.get("/c/op?op=get&name=k", newId).body, "(no session)");
}

TEST_P(SessionEndToEndTest, AWriteBeforeAFlushIsDurableBeforeTheHeadLeaves)
{
    HttpReply flushed = server.get("/sessions/flush?name=early&value=yes");
    EXPECT_EQ(flushed.status, 200);
    EXPECT_EQ(flushed.body, "first second");
    std::string id = cookieValue(flushed); // set before the head, with the write committed
    ASSERT_FALSE(id.empty()) << flushed.raw;
    EXPECT_EQ(server.get("/sessions/get?name=early", id).body, "yes");
}

/// Sends `target` with the session cookie on a fresh connection (the caller reads the reply).
std::unique_ptr<RawConnection> sendGet(uint16_t port, const std::string& target, const std::string& id)
{
    auto connection = std::make_unique<RawConnection>();
    EXPECT_TRUE(connection->connect("127.0.0.1", port));
    EXPECT_TRUE(connection->send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nCookie: SERVALSESSION=" +
                                 id + "\r\nConnection: close\r\n\r\n"));
    return connection;
}

/// How long a test watches for a response that must not come while the store is held. The
/// passing case never depends on it (the server cannot answer before the store lets it); a
/// server that answered before its write was durable would answer within a millisecond or two.
constexpr std::chrono::milliseconds kHeld{400};

/// True when the server sent at least one byte on `connection` within kHeld (nothing is read).
bool anyByteArrives(RawConnection& connection)
{
    pollfd fd{connection.fd(), POLLIN, 0};
    return ::poll(&fd, 1, static_cast<int>(kHeld.count())) > 0;
}

TEST_P(SessionEndToEndTest, NoByteOfTheResponseLeavesBeforeTheWriteIsDurable)
{
    std::string id = cookieValue(server.get("/sessions/set?name=a&value=1"));
    ASSERT_FALSE(id.empty());
    std::string db = server.base().file("data/sessions.db");

    // Another process holds SQLite's write lock: serval's group commit waits for it (busy
    // timeout 5 s), reads go on beside it (WAL).
    sqlite3* holder = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &holder), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    auto whole = sendGet(server.process().port(), "/sessions/set?name=held&value=whole", id);
    auto streamed = sendGet(server.process().port(), "/sessions/flush?name=early&value=streamed", id);
    EXPECT_EQ(server.get("/sessions/get?name=a", id).body, "1") << "a read-only request needs no write";
    EXPECT_FALSE(anyByteArrives(*whole)) << "the head left before the write was durable";
    EXPECT_FALSE(anyByteArrives(*streamed)) << "a flushed head left before the write was durable";

    ASSERT_EQ(sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(holder);
    auto wholeReply = whole->readResponse();
    auto streamedReply = streamed->readResponse();
    ASSERT_TRUE(wholeReply && streamedReply);
    // The client has its answer: the rows are in the file for any other process to read.
    EXPECT_EQ(sqliteQuery(db, "SELECT value FROM attributes WHERE name = 'held'"), "whole");
    EXPECT_EQ(sqliteQuery(db, "SELECT value FROM attributes WHERE name = 'early'"), "streamed");
    EXPECT_EQ(wholeReply->body, "set");
    EXPECT_EQ(streamedReply->body, "first second");
}

TEST_P(SessionRedisTest, NoByteOfTheResponseLeavesBeforeRedisAppliedTheWrite)
{
    ASSERT_NO_FATAL_FAILURE(startBoth(" commandTimeout=\"10000\""));
    SessionServer& server = *this->server;
    std::string id = cookieValue(server.get("/sessions/set?name=a&value=1"));
    ASSERT_FALSE(id.empty());

    // Redis holds every write command (a script is one) until CLIENT UNPAUSE.
    ASSERT_EQ(redis.command("CLIENT PAUSE 20000 WRITE"), "+OK");
    auto whole = sendGet(server.process().port(), "/sessions/set?name=held&value=whole", id);
    EXPECT_FALSE(anyByteArrives(*whole)) << "the head left before Redis applied the write";
    ASSERT_EQ(redis.command("CLIENT UNPAUSE"), "+OK");
    auto reply = whole->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "set");
    EXPECT_EQ(server.get("/sessions/get?name=held", id).body, "whole");
}

TEST_P(SessionEndToEndTest, ConcurrentRequestsOfOneSessionNeverLoseEachOthersWrites)
{
    std::string id = cookieValue(server.get("/sessions/set?name=start&value=1"));
    constexpr int kThreads = 8;
    constexpr int kWrites = 25;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kWrites; ++i) {
                std::string name = "t" + std::to_string(t) + "_" + std::to_string(i);
                if (server.get("/sessions/set?name=" + name + "&value=" + name, id).body != "set") ++failures;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    for (int t = 0; t < kThreads; ++t)
        for (int i = 0; i < kWrites; ++i) {
            std::string name = "t" + std::to_string(t) + "_" + std::to_string(i);
            EXPECT_EQ(server.get("/sessions/get?name=" + name, id).body, name);
        }
}

TEST_P(SessionEndToEndTest, RestartAndRedeployKeepSessions)
{
    std::string id = cookieValue(server.get("/sessions/set?name=kept&value=across"));
    server.stop();
    ASSERT_TRUE(server.start()) << server.process().error();
    EXPECT_EQ(server.get("/sessions/get?name=kept", id).body, "across");

    // A new version of the app (a changed web.xml redeploys it from a new version directory).
    server.install(
        "sessions", "sessions",
        sessionsWebXml("  <context-param><param-name>generation</param-name><param-value>2</param-value>"
                       "</context-param>\n"));
    ASSERT_TRUE(server.process().waitForLog("redeployed /sessions", std::chrono::seconds(20)))
        << server.process().log();
    EXPECT_EQ(server.get("/sessions/get?name=kept", id).body, "across");
}

TEST_P(SessionExpiryTest, ASessionExpiresAndTheSweepTellsTheListener)
{
    SessionServer server("<Manager sweepInterval=\"1000\"/>", "", "", isolation());
    ASSERT_TRUE(server.start()) << server.process().error();
    std::string id = cookieValue(server.get("/sessions/set?name=a&value=1"));
    EXPECT_EQ(server.get("/sessions/timeout?seconds=1", id).body, "ok");
    ASSERT_TRUE(eventually([&] { return server.get("/sessions/events").body == "created=1 destroyed=1"; },
                           std::chrono::seconds(15)))
        << server.get("/sessions/events").body;
    EXPECT_EQ(server.get("/sessions/get?name=a", id).body, "(no session)");
}

namespace {

/// Four clients setting distinct attributes ("<prefix>t<client>i<n>") of one session until
/// stop(); each write answered 200 "set" is acknowledged: a client saw it.
class AcknowledgedWriters
{
public:
    AcknowledgedWriters(uint16_t port, const std::string& id, const std::string& prefix)
    {
        for (int t = 0; t < 4; ++t) {
            _clients.emplace_back([this, port, id, prefix, t] {
                for (int i = 0; !_stop; ++i) {
                    std::string name = prefix + "t" + std::to_string(t) + "i" + std::to_string(i);
                    HttpReply reply = httpGet(port, "/sessions/set?name=" + name + "&value=" + name,
                                              {{"Cookie", "SERVALSESSION=" + id}});
                    if (reply.status == 0 && _stop) return; // the server is gone
                    if (reply.status == 200 && reply.body == "set") {
                        std::lock_guard<std::mutex> lock(_mutex);
                        _acks.push_back(name);
                    }
                }
            });
        }
    }
    ~AcknowledgedWriters() { stop(); }

    size_t count()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _acks.size();
    }
    /// Ends the clients; what they saw acknowledged.
    const std::vector<std::string>& stop()
    {
        _stop = true;
        for (auto& c : _clients)
            if (c.joinable()) c.join();
        return _acks;
    }

private:
    std::mutex _mutex;
    std::vector<std::string> _acks;
    std::atomic<bool> _stop{false};
    std::vector<std::thread> _clients;
};

/// How many of `names` the session `id` does not hold with their own name as value.
size_t missingWrites(SessionServer& server, const std::string& id, const std::vector<std::string>& names)
{
    size_t missing = 0;
    for (const std::string& name : names)
        if (server.get("/sessions/get?name=" + name, id).body != name) ++missing;
    return missing;
}

/// The worker processes `server` spawned (`serval worker ...`), by /proc.
std::vector<pid_t> workersOf(pid_t server)
{
    std::vector<pid_t> out;
    for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string stat = readFile(entry.path().string() + "/stat");
        size_t close = stat.rfind(')'); // "pid (comm) state ppid ..."
        if (close == std::string::npos) continue;
        pid_t parent = static_cast<pid_t>(std::atol(stat.c_str() + close + 4));
        std::string cmdline = readFile(entry.path().string() + "/cmdline");
        if (parent == server && cmdline.find(std::string("\0worker\0", 8)) != std::string::npos)
            out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

} // namespace

TEST_P(SessionCrashTest, KillNineDuringWritesLosesNoAcknowledgedWrite)
{
    // 20 rounds: clients write under load, serval is killed mid-stream, restarted, and every
    // write whose 200 reached a client must be there.
    SessionServer server("", "", "", isolation());
    ASSERT_TRUE(server.start()) << server.process().error();
    std::string id = cookieValue(server.get("/sessions/set?name=seed&value=0"));
    ASSERT_FALSE(id.empty());
    size_t acknowledged = 0;
    for (int round = 0; round < 20; ++round) {
        AcknowledgedWriters writers(server.process().port(), id, "r" + std::to_string(round));
        ASSERT_TRUE(eventually([&] { return writers.count() >= 40; }));
        server.kill();
        const std::vector<std::string>& acks = writers.stop();
        ASSERT_TRUE(server.start()) << server.process().error();
        ASSERT_EQ(sqliteQuery(server.base().file("data/sessions.db"), "PRAGMA integrity_check"), "ok");
        size_t missing = missingWrites(server, id, acks);
        EXPECT_EQ(missing, 0u) << "round " << round << ": " << missing << " of " << acks.size()
                               << " acknowledged writes lost";
        acknowledged += acks.size();
    }
    std::cout << "[ crash ] " << acknowledged << " acknowledged writes checked after 20 x kill -9"
              << std::endl;
}

TEST(SessionCrashTest, KillNineOfTheWorkersDuringWritesLosesNoAcknowledgedWrite)
{
    // The worker commits before its response head goes to the server: a worker killed mid-write
    // loses only writes no client saw acknowledged. Three rounds (five crashes in a minute would
    // quarantine the app).
    SessionServer server; // isolation="process"
    ASSERT_TRUE(server.start()) << server.process().error();
    std::string id = cookieValue(server.get("/sessions/set?name=seed&value=0"));
    ASSERT_FALSE(id.empty());
    size_t acknowledged = 0;
    for (int round = 0; round < 3; ++round) {
        AcknowledgedWriters writers(server.process().port(), id, "w" + std::to_string(round));
        ASSERT_TRUE(eventually([&] { return writers.count() >= 40; }));
        std::vector<pid_t> workers = workersOf(server.process().pid());
        ASSERT_FALSE(workers.empty()) << "no worker process found";
        for (pid_t worker : workers)
            ::kill(worker, SIGKILL);
        size_t before = writers.count();
        // The supervisor restarts them; the writes go on through the new workers.
        EXPECT_TRUE(eventually([&] { return writers.count() >= before + 40; }, std::chrono::seconds(20)));
        const std::vector<std::string>& acks = writers.stop();
        size_t missing = missingWrites(server, id, acks);
        EXPECT_EQ(missing, 0u) << "round " << round << ": " << missing << " of " << acks.size()
                               << " acknowledged writes lost";
        acknowledged += acks.size();
    }
    EXPECT_EQ(sqliteQuery(server.base().file("data/sessions.db"), "PRAGMA integrity_check"), "ok");
    std::cout << "[ crash ] " << acknowledged
              << " acknowledged writes checked after 3 x kill -9 of the workers" << std::endl;
}

TEST_P(SessionRedisTest, RedisBackedSessionsAnd503WhileRedisIsDown)
{
    ASSERT_NO_FATAL_FAILURE(
        startBoth(" connectTimeout=\"200\" commandTimeout=\"500\"", " jvmRoute=\"node1\""));
    SessionServer& server = *this->server;

    HttpReply set = server.get("/sessions/set?name=user&value=ann");
    std::string id = cookieValue(set);
    ASSERT_EQ(id.size(), 32u + 6u) << set.raw;
    EXPECT_EQ(id.substr(32), ".node1");
    EXPECT_EQ(server.get("/sessions/get?name=user", id).body, "ann");
    EXPECT_FALSE(fs::exists(server.base().file("data/sessions.db")));

    redis.kill();
    HttpReply down = server.get("/sessions/get?name=user", id);
    EXPECT_EQ(down.status, 503) << down.raw;
    EXPECT_EQ(down.header("Retry-After"), "5");
    EXPECT_EQ(server.get("/index.html").status, 200); // no session needed: unaffected
    EXPECT_TRUE(server.process().waitForLog("requests that need a session get 503"))
        << server.process().log();
    EXPECT_TRUE(server.process().waitForLog("answered 503 (GET /sessions/get)")) << server.process().log();

    ASSERT_TRUE(redis.start()) << redis.error(); // same port, empty: a new session
    EXPECT_TRUE(eventually([&] { return server.get("/sessions/set?name=user&value=bob").status == 200; }));
}

// An isolated app's worker fetches the sessions of the requests it read together in one
// pipeline (docs/sessions.md): while Redis is paused, the first request's lookup waits and the
// others queue up behind it; once Redis goes on, they are looked up together and each still finds
// its own session. In-process the requests look up one by one (the same answers).
TEST_P(SessionRedisTest, RequestsReadTogetherFetchTheirSessionsInOnePipelineEachFindingItsOwn)
{
    ASSERT_NO_FATAL_FAILURE(startBoth(" commandTimeout=\"10000\""));
    SessionServer& server = *this->server;
    constexpr int kSessions = 32;
    bool batched = false;
    for (int round = 0; round < 3 && !batched; ++round) {
        std::vector<std::string> ids; // new ones each round: none is in the worker's read cache
        for (int i = 0; i < kSessions; ++i) {
            ids.push_back(cookieValue(server.get("/sessions/set?name=user&value=u" + std::to_string(i))));
            ASSERT_FALSE(ids.back().empty());
        }
        auto hgetalls = [&] {
            return std::max<int64_t>(0, redis.infoNumber("cmdstat_hgetall"));
        }; // none yet: absent
        int64_t calls = hgetalls();
        int64_t reads = redis.infoNumber("total_reads_processed");
        ASSERT_GE(reads, 0);
        ASSERT_EQ(redis.command("CLIENT PAUSE 1000 ALL"), "+OK"); // Redis ends the pause itself
        std::vector<std::string> bodies(kSessions);
        std::vector<std::thread> clients;
        for (int i = 0; i < kSessions; ++i)
            clients.emplace_back([&, i] { bodies[i] = server.get("/sessions/get?name=user", ids[i]).body; });
        for (std::thread& t : clients)
            t.join();
        for (int i = 0; i < kSessions; ++i)
            EXPECT_EQ(bodies[i], "u" + std::to_string(i)) << "request " << i;
        calls = hgetalls() - calls;
        reads = redis.infoNumber("total_reads_processed") - reads;
        EXPECT_GE(calls, kSessions);
        // One read event per lookup when each waits on its own; a pipeline is one read for all.
        batched = reads * 2 < calls;
        std::cout << "[ round " << round << " ] " << calls << " HGETALL in " << reads << " reads"
                  << std::endl;
    }
    if (isolation() == "process") {
        EXPECT_TRUE(batched) << "the worker looked the sessions up one by one";
    }
}

// A servlet that never asks for its session, hit by requests that carry the cookie: the worker
// soon stops looking their sessions up ahead (fewer than a quarter used them), so they cost Redis
// almost nothing; the servlets that do ask still find their sessions.
// A worker killed while a request's session write is being committed may have made it
// durable: the server answers 502 instead of replaying the request, which would write again
// (found by the attack: a replayed GET /visit counted one visit twice).
TEST_P(SessionRedisTest, AWorkerKilledWhileItsWriteCommitsIsAnswered502NotReplayed)
{
    if (isolation() != "process") GTEST_SKIP() << "in-process apps are never replayed";
    ASSERT_NO_FATAL_FAILURE(startBoth(" commandTimeout=\"10000\""));
    SessionServer& server = *this->server;
    std::string id = cookieValue(server.get("/sessions/count"));
    ASSERT_FALSE(id.empty());

    ASSERT_EQ(redis.command("CLIENT PAUSE 20000 WRITE"), "+OK"); // the commit waits
    auto held = sendGet(server.process().port(), "/sessions/count", id);
    EXPECT_FALSE(anyByteArrives(*held)) << "the head left before Redis applied the write";
    std::vector<pid_t> workers = workersOf(server.process().pid());
    ASSERT_FALSE(workers.empty());
    for (pid_t worker : workers)
        ::kill(worker, SIGKILL);
    auto reply = held->readResponse();
    ASSERT_TRUE(reply) << "no answer: the request was replayed into the paused commit";
    EXPECT_EQ(reply->status, 502) << reply->raw;
    ASSERT_EQ(redis.command("CLIENT UNPAUSE"), "+OK");
    // Once, if the dead worker's write got through; never twice.
    std::string count;
    EXPECT_TRUE(eventually(
        [&] {
            HttpReply got = server.get("/sessions/get?name=count", id);
            count = got.body;
            return got.status == 200;
        },
        std::chrono::seconds(20)));
    EXPECT_TRUE(count == "1" || count == "2") << count;
}

TEST_P(SessionRedisTest, RequestsWhoseServletNeverAsksSoonStopCostingALookup)
{
    ASSERT_NO_FATAL_FAILURE(startBoth());
    SessionServer& server = *this->server;
    std::string id = cookieValue(server.get("/sessions/set?name=user&value=ann"));
    ASSERT_FALSE(id.empty());
    // A lookup ahead is a round trip: the read cache's PING, and an HGETALL when it misses.
    auto roundTrips = [&] {
        return std::max<int64_t>(0, redis.infoNumber("cmdstat_hgetall")) +
               std::max<int64_t>(0, redis.infoNumber("cmdstat_ping"));
    };
    int64_t before = roundTrips();
    constexpr int kRequests = 600;
    for (int i = 0; i < kRequests; ++i)
        ASSERT_EQ(server.get("/sessions/events", id).status, 200); // never calls session()
    int64_t looked = roundTrips() - before;
    EXPECT_LT(looked, kRequests / 2) << "every request's session was looked up for nothing";
    std::cout << "[ lookups ] " << looked << " PING + HGETALL for " << kRequests << " requests" << std::endl;
    EXPECT_EQ(server.get("/sessions/get?name=user", id).body, "ann");
}

TEST_P(SessionEndToEndTest, MetricsShowActiveSessionsPerAppAndStoreCounters)
{
    cookieValue(server.get("/sessions/set?name=a&value=1"));
    cookieValue(server.get("/c/op?op=set&name=b&value=2"));
    HttpReply metrics = server.get("/metrics");
    ASSERT_EQ(metrics.status, 200) << metrics.raw;
    EXPECT_THAT(metrics.body,
                HasSubstr("serval_sessions_active{host=\"localhost\",context=\"/sessions\"} 1\n"));
    EXPECT_THAT(metrics.body, HasSubstr("serval_sessions_active{host=\"localhost\",context=\"/c\"} 1\n"));
    EXPECT_THAT(metrics.body, HasSubstr("serval_sessions_created_total{store=\"sqlite "));
    EXPECT_THAT(metrics.body, HasSubstr("serval_session_commits_total{store="));
    EXPECT_THAT(metrics.body, HasSubstr("serval_session_commit_seconds_sum{store="));
    // The counters include the workers' of an isolated app (they commit, not the server): two
    // sessions were created, each by one committed batch, whichever process ran the apps.
    auto counter = [&](const std::string& name) -> double {
        size_t at = metrics.body.find("\n" + name + "{store=\"sqlite ");
        if (at == std::string::npos) return -1;
        size_t value = metrics.body.find("} ", at);
        return value == std::string::npos ? -1 : std::stod(metrics.body.substr(value + 2));
    };
    EXPECT_EQ(counter("serval_sessions_created_total"), 2) << metrics.body;
    EXPECT_GE(counter("serval_session_commits_total"), 2) << metrics.body;
    EXPECT_GT(counter("serval_session_commit_seconds_sum"), 0) << metrics.body;
    EXPECT_GE(counter("serval_session_loads_total"), 0) << metrics.body;
}

class SessionStoreFailureTest : public SessionModeTest
{
};

TEST_P(SessionStoreFailureTest, AFailedGroupCommitAnswers503NeverA200AndTheNextRequestsWorkAgain)
{
    // Another process holds the file's write lock past the store's busy timeout: the group
    // commit fails (SQLITE_BUSY), as it would on a full disk or an I/O error.
    SessionServer server("<Manager busyTimeout=\"200\"/>", "", "", isolation());
    ASSERT_TRUE(server.start()) << server.process().error();
    std::string id = cookieValue(server.get("/sessions/set?name=user&value=ann"));
    ASSERT_EQ(id.size(), 32u);
    std::string db = server.base().file("data/sessions.db");

    auto lock = std::make_unique<SqliteWriteLock>(db);
    ASSERT_TRUE(lock->held());
    HttpReply refused = server.get("/sessions/set?name=user&value=bob", id);
    EXPECT_EQ(refused.status, 503) << refused.raw;
    EXPECT_EQ(refused.header("Retry-After"), "5");
    HttpReply fresh = server.get("/sessions/set?name=other&value=1"); // a new session's write
    EXPECT_EQ(fresh.status, 503) << fresh.raw;
    EXPECT_EQ(cookieValue(fresh), "") << "a cookie for a session that was never stored";
    EXPECT_TRUE(server.process().waitForLog("request(s) failed: session store ")) << server.process().log();
    EXPECT_TRUE(server.process().waitForLog("answered 503 (GET /sessions/set")) << server.process().log();
    // Reads go on beside the lock (WAL), and see no trace of the refused write.
    EXPECT_EQ(server.get("/sessions/get?name=user", id).body, "ann");

    lock.reset(); // the store recovers: the next writes commit
    HttpReply again = server.get("/sessions/set?name=user&value=carol", id);
    EXPECT_EQ(again.status, 200) << again.raw;
    EXPECT_EQ(server.get("/sessions/get?name=user", id).body, "carol");
    EXPECT_EQ(sqliteQuery(db, "SELECT value FROM attributes WHERE name = 'user'"), "carol");
    EXPECT_EQ(sqliteQuery(db, "SELECT count(*) FROM attributes WHERE name = 'other'"), "0");
    EXPECT_EQ(sqliteQuery(db, "PRAGMA integrity_check"), "ok");
}

class SessionManagerTest : public SessionModeTest
{
};

TEST_P(SessionManagerTest, TheServersManagerListsAndInvalidatesTheAppsSessions)
{
    // The manager runs in the server and reads the store, whichever process wrote it.
    // A short sweep: an isolated app's listener hears an invalidation through its worker's sweep.
    SessionServer server("<Manager sweepInterval=\"1000\"/>", "", kManagerXml, isolation());
    ASSERT_NO_FATAL_FAILURE(server.addManagerUser());
    ASSERT_TRUE(server.start()) << server.process().error();
    std::string first = cookieValue(server.get("/sessions/set?name=a&value=1"));
    std::string second = cookieValue(server.get("/sessions/set?name=b&value=2"));
    ASSERT_FALSE(first.empty() || second.empty());
    std::map<std::string, std::string> login = server.managerLogin();
    ASSERT_FALSE(login.empty());

    HttpReply listed = httpGet(server.port(), "/manager/api/sessions?host=localhost&path=/sessions", login);
    ASSERT_EQ(listed.status, 200) << listed.raw;
    EXPECT_THAT(listed.body, HasSubstr("\"" + first.substr(0, 12) + "\""));
    EXPECT_THAT(listed.body, HasSubstr("\"" + second.substr(0, 12) + "\""));

    HttpReply one = httpRequest(
        server.port(), "POST",
        "/manager/api/sessions/invalidate?host=localhost&path=/sessions&id=" + first.substr(0, 12), login);
    ASSERT_EQ(one.status, 200) << one.raw;
    EXPECT_THAT(one.body, HasSubstr("\"invalidated\":1"));
    EXPECT_EQ(server.get("/sessions/get?name=a", first).body, "(no session)");
    EXPECT_EQ(server.get("/sessions/get?name=b", second).body, "2");
    // The app's HttpSessionListener hears it once, in either mode (isolated: from the sweep of
    // the worker, the only process that runs the app's listeners).
    ASSERT_TRUE(eventually([&] { return server.get("/sessions/events").body == "created=2 destroyed=1"; },
                           std::chrono::seconds(15)))
        << server.get("/sessions/events").body;

    HttpReply all =
        httpRequest(server.port(), "POST",
                    "/manager/api/sessions/invalidate?host=localhost&path=/sessions&all=true", login);
    ASSERT_EQ(all.status, 200) << all.raw;
    EXPECT_EQ(server.get("/sessions/get?name=b", second).body, "(no session)");
    ASSERT_TRUE(eventually([&] { return server.get("/sessions/events").body == "created=2 destroyed=2"; },
                           std::chrono::seconds(15)))
        << server.get("/sessions/events").body;
    // Exactly once: later sweeps find nothing more to report.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500)); // two more sweeps
    EXPECT_EQ(server.get("/sessions/events").body, "created=2 destroyed=2");
}

TEST_P(SessionSecureTest, AConnectorBehindATrustedTlsProxyGetsSecureCookies)
{
    SessionServer server("", "", "", isolation());
    std::string xml = readFile(server.base().file("conf/server.xml"));
    size_t at = xml.find("workerThreads=\"8\"");
    ASSERT_NE(at, std::string::npos);
    server.base().write("conf/server.xml", xml.insert(at, "secure=\"true\" "));
    ASSERT_TRUE(server.start()) << server.process().error();
    HttpReply set = server.get("/sessions/set?name=a&value=1");
    EXPECT_THAT(set.header("Set-Cookie"), HasSubstr("; Secure"));
}

TEST_P(SessionSecureTest, ATlsConnectorGivesSecureCookiesAndPlainHttpDoesNot)
{
    SessionServer server("", "", "", isolation());
    server.base().write("certs/.keep", "");
    TestCa ca(server.base().file("certs"));
    TestCertificate certificate = ca.issue("localhost", "localhost", {"localhost"});
    std::string xml = readFile(server.base().file("conf/server.xml"));
    size_t at = xml.find("  <Connector ");
    ASSERT_NE(at, std::string::npos);
    server.base().write(
        "conf/server.xml",
        xml.insert(at, "  <Connector address=\"127.0.0.1\" port=\"0\"><Certificate certificateFile=\"" +
                           certificate.certificateFile + "\" keyFile=\"" + certificate.keyFile +
                           "\"/></Connector>\n"));
    ASSERT_TRUE(server.start()) << server.process().error();
    ASSERT_TRUE(eventually([&] { return server.process().tlsPort() != 0; })) << server.process().log();

    RawConnection tls;
    ASSERT_TRUE(tls.connect("127.0.0.1", server.process().tlsPort()));
    ASSERT_TRUE(tls.startTls()) << tls.tlsError();
    ASSERT_TRUE(tls.send("GET /sessions/set?name=a&value=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    std::optional<HttpReply> overTls = tls.readResponse();
    ASSERT_TRUE(overTls);
    EXPECT_THAT(overTls->header("Set-Cookie"), HasSubstr("; Secure")) << overTls->raw;
    EXPECT_THAT(server.get("/sessions/set?name=a&value=1").header("Set-Cookie"), Not(HasSubstr("Secure")));
}

TEST(SessionWorkersTest, TheWorkerProcessesOfOneAppShareItsSessions)
{
    SessionServer server; // isolation="process"
    std::string xml = readFile(server.base().file("conf/server.xml"));
    size_t at = xml.find("isolation=\"process\"");
    ASSERT_NE(at, std::string::npos);
    server.base().write("conf/server.xml", xml.insert(at, "processes=\"2\" "));
    ASSERT_TRUE(server.start()) << server.process().error();
    std::string id = cookieValue(server.get("/sessions/set?name=n&value=0"));
    ASSERT_FALSE(id.empty());

    // The listener's counts are per process: both answers show up when both workers serve.
    std::set<std::string> events;
    for (int i = 0; i < 6; ++i)
        events.insert(server.get("/sessions/events").body);
    EXPECT_EQ(events, (std::set<std::string>{"created=0 destroyed=0", "created=1 destroyed=0"}))
        << "the requests did not reach both workers";

    // Each request sees the write of the one before, whichever worker served either.
    for (int i = 1; i <= 10; ++i) {
        EXPECT_EQ(server.get("/sessions/set?name=n&value=" + std::to_string(i), id).body, "set");
        EXPECT_EQ(server.get("/sessions/get?name=n", id).body, std::to_string(i));
    }

    // Both workers' writers on one SQLite file at once: no write lost, no 503.
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 15; ++i) {
                std::string name = "w" + std::to_string(t) + "_" + std::to_string(i);
                if (server.get("/sessions/set?name=" + name + "&value=" + name, id).body != "set") ++failures;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    std::string db = server.base().file("data/sessions.db");
    EXPECT_EQ(sqliteQuery(db, "SELECT count(*) FROM attributes WHERE name LIKE 'w%'"), "90");
    EXPECT_EQ(sqliteQuery(db, "PRAGMA integrity_check"), "ok");
}

const auto kModes = ::testing::Values(std::string("process"), std::string("none"));
INSTANTIATE_TEST_SUITE_P(Isolation, SessionEndToEndTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Isolation, SessionRedisTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Isolation, SessionExpiryTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Isolation, SessionCrashTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Isolation, SessionSecureTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Isolation, SessionManagerTest, kModes, modeName);
INSTANTIATE_TEST_SUITE_P(Isolation, SessionStoreFailureTest, kModes, modeName);
