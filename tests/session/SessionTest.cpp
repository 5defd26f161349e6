// One request's session, end to end against a real SQLite store: what the app sees, what is
// committed, and what the response's Set-Cookie says.
#include "session/Session.h"

#include "StoreFixture.h"

#include <gtest/gtest.h>

using namespace serval::session;
using serval::test::nowMillis;
using serval::test::sqliteOptions;
using serval::test::TempDir;

namespace {

class SessionTest : public ::testing::Test
{
protected:
    SessionTest()
        : _store(sqliteOptions(_dir)), _ids("node1"),
          _manager(_store, _ids, settings(), [this] { return _now; })
    {}

    static SessionSettings settings()
    {
        SessionSettings s;
        s.scope = sessionScope("localhost", "/shop");
        s.maxInactiveInterval = 60;
        s.cookiePath = "/shop";
        return s;
    }

    /// Runs the end of a request: commits its writes, returns its cookie.
    std::optional<SessionCookie> finish(Session& session, bool secure = false)
    {
        Session::Flush flush = session.prepareFlush(secure);
        CommitResult r = _store.commitAndWait(_manager.settings().scope, std::move(flush.ops));
        EXPECT_EQ(r.status, StoreStatus::Ok) << r.error;
        return flush.cookie;
    }

    /// A request that creates a session and sets one attribute; returns the cookie value.
    std::string login()
    {
        auto session = _manager.forRequest({});
        EXPECT_EQ(session->resolve(true), StoreStatus::Ok);
        session->setAttribute("user", "alice");
        return finish(*session)->value;
    }

    TempDir _dir;
    SqliteSessionStore _store;
    SessionIdGenerator _ids;
    int64_t _now = nowMillis();
    SessionManager _manager;
};

} // namespace

TEST_F(SessionTest, WithoutACookieNothingIsReadWrittenOrSet)
{
    auto session = _manager.forRequest({});
    EXPECT_EQ(session->resolve(false), StoreStatus::NotFound);
    EXPECT_FALSE(session->valid());
    Session::Flush flush = session->prepareFlush(false);
    EXPECT_TRUE(flush.ops.empty());
    EXPECT_FALSE(flush.cookie);
    EXPECT_EQ(_store.stats().loads, 0u);
}

TEST_F(SessionTest, ANewSessionGetsAFreshIdAndTheDefaultCookie)
{
    auto session = _manager.forRequest({});
    ASSERT_EQ(session->resolve(true), StoreStatus::Ok);
    EXPECT_TRUE(session->isNew());
    EXPECT_EQ(session->creationTime(), _now);
    EXPECT_EQ(session->lastAccessedTime(), _now);
    EXPECT_EQ(session->maxInactiveInterval(), 60);
    std::string id = session->id();
    ASSERT_TRUE(SessionIdGenerator::parse(id));
    EXPECT_EQ(SessionIdGenerator::parse(id)->route, "node1");

    auto cookie = finish(*session);
    ASSERT_TRUE(cookie);
    EXPECT_EQ(cookie->name, "SERVALSESSION");
    EXPECT_EQ(cookie->value, id);
    EXPECT_EQ(cookie->path, "/shop");
    EXPECT_EQ(cookie->maxAge, -1);
    EXPECT_TRUE(cookie->httpOnly);
    EXPECT_EQ(cookie->sameSite, "Lax");
    EXPECT_FALSE(cookie->secure); // follows the request
    EXPECT_EQ(_store.count(_manager.settings().scope, _now), 1u);
}

TEST_F(SessionTest, TheNextRequestFindsTheSessionAndDoesNotSetTheCookieAgain)
{
    std::string cookie = login();
    _now += 5000;
    auto session = _manager.forRequest({cookie});
    ASSERT_EQ(session->resolve(false), StoreStatus::Ok);
    EXPECT_FALSE(session->isNew());
    EXPECT_EQ(session->id(), cookie);
    ASSERT_NE(session->attribute("user"), nullptr);
    EXPECT_EQ(*session->attribute("user"), "alice");
    EXPECT_EQ(session->lastAccessedTime(), _now - 5000); // the previous access
    Session::Flush flush = session->prepareFlush(false);
    EXPECT_TRUE(flush.ops.empty()); // a read-only request costs no write
    EXPECT_FALSE(flush.cookie);

    _store.flushTouches(); // ... but its access is recorded, coalesced
    auto later = _manager.forRequest({cookie});
    ASSERT_EQ(later->resolve(false), StoreStatus::Ok);
    EXPECT_EQ(later->lastAccessedTime(), _now);
}

TEST_F(SessionTest, AnIdTheServerDidNotIssueIsNeverAdopted)
{
    const std::string planted = SessionIdGenerator("node1").generate(); // well-formed, unknown
    auto session = _manager.forRequest({planted, "garbage", std::string(32, 'Z')});
    ASSERT_EQ(session->resolve(true), StoreStatus::Ok);
    EXPECT_TRUE(session->isNew());
    EXPECT_NE(session->id(), planted);
    auto cookie = finish(*session);
    ASSERT_TRUE(cookie);
    EXPECT_NE(cookie->value, planted);
    EXPECT_EQ(_store.load(_manager.settings().scope, planted.substr(0, 32), _now).status,
              StoreStatus::NotFound);
}

TEST_F(SessionTest, TheFirstCookieValueTheStoreKnowsWins)
{
    std::string cookie = login();
    auto session = _manager.forRequest({SessionIdGenerator::generateBase(), cookie});
    ASSERT_EQ(session->resolve(false), StoreStatus::Ok);
    EXPECT_EQ(session->id(), cookie);
}

TEST_F(SessionTest, APrefetchedAnswerStandsInForTheLookupOfItsIdOnce)
{
    std::string cookie = login(); // "<base>.node1"
    const std::string base = cookie.substr(0, SessionIdGenerator::kBaseLength);
    const std::string& scope = _manager.settings().scope;
    LoadResult ahead = _store.load(scope, base, _now);
    ASSERT_EQ(ahead.status, StoreStatus::Ok);
    ahead.session.attributes["user"] = "fetched-ahead"; // tells the two sources apart

    uint64_t loads = _store.stats().loads;
    Session session(_manager, {cookie}, {{base, ahead}});
    ASSERT_EQ(session.resolve(false), StoreStatus::Ok);
    EXPECT_EQ(*session.attribute("user"), "fetched-ahead");
    EXPECT_EQ(_store.stats().loads, loads) << "the store was asked although the answer was there";

    // An answer for another id is not this cookie's: the store is asked.
    Session other(_manager, {cookie}, {{SessionIdGenerator::generateBase(), ahead}});
    ASSERT_EQ(other.resolve(false), StoreStatus::Ok);
    EXPECT_EQ(*other.attribute("user"), "alice");
    EXPECT_EQ(_store.stats().loads, loads + 1);

    // A NotFound answer for the first cookie value moves on to the next value, as a lookup does.
    const std::string stale = SessionIdGenerator::generateBase();
    Session second(_manager, {stale, cookie}, {{stale, LoadResult{}}, {base, ahead}});
    ASSERT_EQ(second.resolve(false), StoreStatus::Ok);
    EXPECT_EQ(second.id(), cookie);
    EXPECT_EQ(*second.attribute("user"), "fetched-ahead");
    EXPECT_EQ(_store.stats().loads, loads + 1);
}

TEST_F(SessionTest, OnlyTheFirstEightWellFormedCookieValuesAreLookedUp)
{
    std::string cookie = login();
    std::vector<std::string> values;
    for (size_t i = 0; i < Session::kMaxLookups; ++i)
        values.push_back(SessionIdGenerator::generateBase()); // well-formed, unknown
    values.push_back(cookie);                                 // the ninth: a probe's, ignored
    uint64_t loads = _store.stats().loads;
    auto probe = _manager.forRequest(values);
    EXPECT_EQ(probe->resolve(false), StoreStatus::NotFound);
    EXPECT_EQ(_store.stats().loads - loads, Session::kMaxLookups);

    values.erase(values.begin()); // eight: the last one is still looked up
    auto browser = _manager.forRequest(values);
    ASSERT_EQ(browser->resolve(false), StoreStatus::Ok);
    EXPECT_EQ(browser->id(), cookie);
}

TEST_F(SessionTest, TheRouteSuffixIsAHintNotPartOfTheKey)
{
    std::string cookie = login();
    std::string base = cookie.substr(0, 32);
    auto session = _manager.forRequest({base + ".node2"}); // issued by another node
    ASSERT_EQ(session->resolve(false), StoreStatus::Ok);
    EXPECT_EQ(*session->attribute("user"), "alice");
}

TEST_F(SessionTest, WritesAreReadBackAtOnceAndCommittedPerAttribute)
{
    std::string cookie = login();
    auto session = _manager.forRequest({cookie});
    ASSERT_EQ(session->resolve(false), StoreStatus::Ok);
    session->setAttribute("cart", "2 items");
    session->removeAttribute("user");
    EXPECT_EQ(*session->attribute("cart"), "2 items");
    EXPECT_EQ(session->attribute("user"), nullptr);
    EXPECT_EQ(session->attributeNames(), std::vector<std::string_view>{"cart"});
    Session::Flush flush = session->prepareFlush(false);
    ASSERT_EQ(flush.ops.size(), 2u);
    EXPECT_EQ(flush.ops[0].type, SessionOp::Type::SetAttribute);
    EXPECT_EQ(flush.ops[1].type, SessionOp::Type::RemoveAttribute);
    ASSERT_EQ(_store.commitAndWait(_manager.settings().scope, std::move(flush.ops)).status, StoreStatus::Ok);

    auto next = _manager.forRequest({cookie});
    ASSERT_EQ(next->resolve(false), StoreStatus::Ok);
    EXPECT_EQ(next->attributeNames(), std::vector<std::string_view>{"cart"});
}

TEST_F(SessionTest, InvalidateDeletesTheCookieAndANewSessionReplacesIt)
{
    std::string cookie = login();
    auto session = _manager.forRequest({cookie});
    ASSERT_EQ(session->resolve(false), StoreStatus::Ok);
    session->invalidate();
    EXPECT_FALSE(session->valid());
    EXPECT_EQ(session->resolve(false), StoreStatus::NotFound);
    auto deleted = finish(*session);
    ASSERT_TRUE(deleted);
    EXPECT_EQ(deleted->maxAge, 0);
    EXPECT_EQ(deleted->value, "");
    EXPECT_EQ(_manager.forRequest({cookie})->resolve(false), StoreStatus::NotFound);

    auto again = _manager.forRequest({cookie});
    ASSERT_EQ(again->resolve(false), StoreStatus::NotFound);
    ASSERT_EQ(again->resolve(true), StoreStatus::Ok);
    again->invalidate();
    ASSERT_EQ(again->resolve(true), StoreStatus::Ok); // getSession(true) after invalidate(): a new one
    auto replaced = finish(*again);
    ASSERT_TRUE(replaced);
    EXPECT_EQ(replaced->maxAge, -1);
    EXPECT_NE(replaced->value, cookie);
}

TEST_F(SessionTest, ChangeIdAtLoginKeepsTheAttributesAndRetiresTheOldId)
{
    std::string before = login();
    auto session = _manager.forRequest({before});
    ASSERT_EQ(session->resolve(false), StoreStatus::Ok);
    session->changeId();
    session->setAttribute("role", "admin"); // written under the new id
    std::string after = session->id();
    EXPECT_NE(after, before);
    auto cookie = finish(*session);
    ASSERT_TRUE(cookie);
    EXPECT_EQ(cookie->value, after);

    EXPECT_EQ(_manager.forRequest({before})->resolve(false), StoreStatus::NotFound);
    auto next = _manager.forRequest({after});
    ASSERT_EQ(next->resolve(false), StoreStatus::Ok);
    EXPECT_EQ(*next->attribute("user"), "alice");
    EXPECT_EQ(*next->attribute("role"), "admin");
}

TEST_F(SessionTest, AnExpiredSessionIsReplaced)
{
    std::string cookie = login();
    _now += 60 * 1000;
    auto session = _manager.forRequest({cookie});
    EXPECT_EQ(session->resolve(false), StoreStatus::NotFound);
    ASSERT_EQ(session->resolve(true), StoreStatus::Ok);
    EXPECT_TRUE(session->isNew());
    EXPECT_NE(session->id(), cookie);
}

TEST_F(SessionTest, SecureFollowsTheRequestUnlessWebXmlSays)
{
    auto session = _manager.forRequest({});
    ASSERT_EQ(session->resolve(true), StoreStatus::Ok);
    EXPECT_TRUE(finish(*session, true)->secure);

    SessionSettings always = settings();
    always.secure = true;
    always.sameSite = "Strict";
    always.cookieName = "SHOP";
    SessionManager strict(_store, _ids, always, [this] { return _now; });
    auto other = strict.forRequest({});
    ASSERT_EQ(other->resolve(true), StoreStatus::Ok);
    Session::Flush flush = other->prepareFlush(false);
    ASSERT_TRUE(flush.cookie);
    EXPECT_TRUE(flush.cookie->secure);
    EXPECT_EQ(flush.cookie->sameSite, "Strict");
    EXPECT_EQ(flush.cookie->name, "SHOP");
}

TEST_F(SessionTest, ASecondFlushReturnsOnlyWhatHappenedSince)
{
    auto session = _manager.forRequest({});
    ASSERT_EQ(session->resolve(true), StoreStatus::Ok);
    Session::Flush first = session->prepareFlush(false);
    EXPECT_EQ(first.ops.size(), 1u);
    EXPECT_TRUE(first.cookie);
    session->setAttribute("a", "1"); // an error page ran after the servlet
    Session::Flush second = session->prepareFlush(false);
    EXPECT_EQ(second.ops.size(), 1u);
    EXPECT_FALSE(second.cookie);
}

TEST(SessionStoreDownTest, LookingUpIsUnavailableAndSaysWhy)
{
    RedisSessionStore::Options options = serval::test::redisOptions("redis://127.0.0.1:1/0", "down:");
    options.pool.connectTimeout = std::chrono::milliseconds(200);
    RedisSessionStore store(options);
    SessionIdGenerator ids;
    SessionSettings settings;
    settings.scope = sessionScope("localhost", "/");
    SessionManager manager(store, ids, settings);
    auto session = manager.forRequest({ids.generate()});
    EXPECT_EQ(session->resolve(true), StoreStatus::Unavailable);
    EXPECT_NE(session->error().find("127.0.0.1:1"), std::string::npos) << session->error();
    EXPECT_FALSE(session->valid());
    // A request with no cookie reads nothing: it only fails if it writes (at commit).
    auto fresh = manager.forRequest({});
    ASSERT_EQ(fresh->resolve(true), StoreStatus::Ok);
    Session::Flush flush = fresh->prepareFlush(false);
    EXPECT_EQ(store.commitAndWait(settings.scope, std::move(flush.ops)).status, StoreStatus::Unavailable);
    // Looking several up ahead fails the same way, each answer saying why.
    std::vector<LoadResult> ahead =
        store.loadMany(settings.scope, {ids.generateBase(), ids.generateBase()}, 0);
    ASSERT_EQ(ahead.size(), 2u);
    for (const LoadResult& r : ahead) {
        EXPECT_EQ(r.status, StoreStatus::Unavailable);
        EXPECT_NE(r.error.find("127.0.0.1:1"), std::string::npos) << r.error;
    }
}
