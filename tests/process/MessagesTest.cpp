// Record payloads and the worker spec (container/process/Messages.h, WorkerSpec.h): what the
// server sends decodes exactly; what a worker sends is refused unless it is well formed.
#include "process/Messages.h"

#include "app/AppResources.h"
#include "datasource/DataSource.h"
#include "process/ProcessManager.h"
#include "process/ReadyMessage.h"
#include "process/Wire.h"
#include "process/WorkerSpec.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>

using namespace serval;
using namespace serval::process;

TEST(MessagesTest, RequestHeadRoundTrips)
{
    http::HttpRequest request;
    request.method = "POST";
    request.target = "/shop/cart?x=1";
    request.path = "/shop/cart";
    request.query = "x=1";
    request.versionMinor = 0;
    request.headers = {{"Host", "example"}, {"X-Empty", ""}};
    request.remoteAddress = "::1";
    request.remotePort = 4711;
    request.localAddress = "127.0.0.1";
    request.localPort = 8080;
    request.secure = true;
    std::string payload;
    encodeRequestHead(request, 12, payload);

    http::HttpRequest decoded;
    int64_t length = 0;
    ASSERT_TRUE(decodeRequestHead(payload, decoded, length));
    EXPECT_EQ(length, 12);
    EXPECT_EQ(decoded.method, "POST");
    EXPECT_EQ(decoded.target, request.target);
    EXPECT_EQ(decoded.path, request.path);
    EXPECT_EQ(decoded.query, "x=1");
    EXPECT_EQ(decoded.versionMinor, 0);
    ASSERT_EQ(decoded.headers.size(), 2u);
    EXPECT_EQ(decoded.headers[1].name, "X-Empty");
    EXPECT_EQ(decoded.remoteAddress, "::1");
    EXPECT_EQ(decoded.remotePort, 4711);
    EXPECT_EQ(decoded.localPort, 8080);
    EXPECT_TRUE(decoded.secure);

    for (size_t cut = 0; cut < payload.size(); ++cut)
        EXPECT_FALSE(decodeRequestHead(std::string_view(payload).substr(0, cut), decoded, length)) << cut;
    EXPECT_FALSE(decodeRequestHead(payload + "x", decoded, length)) << "trailing bytes";
}

TEST(MessagesTest, ResponseHeadRoundTrips)
{
    http::HttpResponse response;
    response.setStatus(404);
    response.addHeader("Content-Type", "text/plain");
    response.addHeader("Set-Cookie", "a=1");
    response.setCloseConnection(true);
    std::string payload;
    encodeResponseHead(response, 99, payload);
    ResponseHead head;
    ASSERT_TRUE(decodeResponseHead(payload, head));
    EXPECT_EQ(head.status, 404);
    EXPECT_EQ(head.contentLength, 99);
    EXPECT_TRUE(head.closeConnection);
    ASSERT_EQ(head.headers.size(), 2u);
    EXPECT_EQ(head.headers[1].value, "a=1");
}

TEST(MessagesTest, AResponseHeadFromAWorkerIsHostileInput)
{
    auto encode = [](int status, const std::string& name, const std::string& value, int64_t length) {
        std::string out;
        WireWriter w(out);
        w.u16(static_cast<uint16_t>(status));
        w.u8(0);
        w.i64(length);
        w.u32(1);
        w.text(name);
        w.text(value);
        return out;
    };
    ResponseHead head;
    EXPECT_TRUE(decodeResponseHead(encode(200, "X-A", "b", 0), head));
    EXPECT_FALSE(decodeResponseHead(encode(200, "X-A", "b\r\nSet-Cookie: x=1", 0), head))
        << "header splitting";
    EXPECT_FALSE(decodeResponseHead(encode(200, "X A", "b", 0), head)) << "not a token";
    EXPECT_FALSE(decodeResponseHead(encode(200, "X-A", std::string("a\0b", 3), 0), head)) << "NUL";
    EXPECT_FALSE(decodeResponseHead(encode(42, "X-A", "b", 0), head)) << "status";
    EXPECT_FALSE(decodeResponseHead(encode(200, "X-A", "b", -2), head)) << "length";
    std::string lying;
    WireWriter w(lying);
    w.u16(200);
    w.u8(0);
    w.i64(0);
    w.u32(4000000000u); // more headers than bytes
    EXPECT_FALSE(decodeResponseHead(lying, head));
}

TEST(MessagesTest, SpecRoundTrips)
{
    WorkerSpec spec;
    spec.host = "localhost";
    spec.name = "shop";
    spec.path = "/shop";
    spec.version = "2";
    spec.docBase = "/srv/work/shop/v2";
    spec.defaultsWebXml = "/srv/conf/web.xml";
    spec.maxBodySize = 123;
    spec.threads = 3;
    spec.logFile = "/srv/logs/serval.log";
    spec.logLevel = util::LogLevel::Warn;
    spec.user = "nobody";
    spec.index = 2;
    spec.channels = 4;
    auto decoded = WorkerSpec::decode(spec.encode());
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->describe(), "/shop##2");
    EXPECT_EQ(decoded->docBase, spec.docBase);
    EXPECT_EQ(decoded->threads, 3u);
    EXPECT_EQ(decoded->logLevel, util::LogLevel::Warn);
    EXPECT_EQ(decoded->user, "nobody");
    EXPECT_EQ(decoded->channels, 4u);
    EXPECT_FALSE(WorkerSpec::decode(spec.encode().substr(1)));
}

TEST(MessagesTest, SpecCarriesTheResolvedDataSources)
{
    WorkerSpec spec;
    spec.name = "shop";
    datasource::DataSourceConfig pg;
    pg.name = "main";
    pg.type = datasource::DataSourceType::Postgresql;
    pg.url = "postgresql://shop@127.0.0.1:5432/shop";
    pg.password = "s3cret";
    pg.maxConnections = 4;
    pg.acquireTimeout = std::chrono::milliseconds(300);
    pg.statementTimeout = std::chrono::milliseconds(5000);
    datasource::DataSourceConfig embedded;
    embedded.name = "audit";
    embedded.url = "/srv/data/localhost/shop/audit.db";
    embedded.busyTimeout = std::chrono::milliseconds(100);
    spec.dataSources = {pg, embedded};
    EXPECT_FALSE(WorkerSpec::decode(spec.encode())->appLibraries); // every WEB-INF/lib/*.so
    spec.appLibraries = std::vector<std::string>{"/srv/work/shop/v2/WEB-INF/lib/libshop.so"};
    auto decoded = WorkerSpec::decode(spec.encode());
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->appLibraries, spec.appLibraries);
    ASSERT_EQ(decoded->dataSources.size(), 2u);
    const datasource::DataSourceConfig& a = decoded->dataSources[0];
    EXPECT_EQ(a.name, "main");
    EXPECT_EQ(a.type, datasource::DataSourceType::Postgresql);
    EXPECT_EQ(a.url, pg.url);
    EXPECT_EQ(a.password, "s3cret");
    EXPECT_EQ(a.maxConnections, 4u);
    EXPECT_EQ(a.acquireTimeout.count(), 300);
    EXPECT_EQ(a.statementTimeout.count(), 5000);
    const datasource::DataSourceConfig& b = decoded->dataSources[1];
    EXPECT_EQ(b.type, datasource::DataSourceType::Sqlite);
    EXPECT_EQ(b.url, embedded.url);
    EXPECT_EQ(b.busyTimeout.count(), 100);
    // A spec that is not the server's: an unknown engine, or a pool of no connections.
    WorkerSpec bad = spec;
    bad.dataSources[1].maxConnections = 0;
    EXPECT_FALSE(WorkerSpec::decode(bad.encode()));
}

// maxConnections is the app's bound across its workers; the server reads the password file so
// a worker running as another user need not.
TEST(MessagesTest, WorkersShareTheAppsConnectionsAndGetThePasswordTheServerRead)
{
    test::TempDir dir;
    dir.write("pg.password", "hunter2\n");
    datasource::DataSourceConfig pg;
    pg.name = "main";
    pg.type = datasource::DataSourceType::Postgresql;
    pg.url = "postgresql://shop@127.0.0.1:1/shop";
    pg.passwordFile = dir.file("pg.password");
    pg.maxConnections = 16;
    datasource::DataSourceConfig unreadable = pg;
    unreadable.name = "other";
    unreadable.passwordFile = dir.file("missing.password");
    unreadable.maxConnections = 2;
    app::AppResources resources;
    resources.addDataSource("main", std::make_shared<datasource::DataSource>(pg));
    resources.addDataSource("other", std::make_shared<datasource::DataSource>(unreadable));

    std::vector<datasource::DataSourceConfig> one = workerDataSources(&resources, 1);
    ASSERT_EQ(one.size(), 2u);
    EXPECT_EQ(one[0].maxConnections, 16u);
    EXPECT_EQ(one[0].password, "hunter2");
    EXPECT_EQ(one[0].passwordFile, "");
    // The server could not read it: the worker gets the file and will say why it cannot connect.
    EXPECT_EQ(one[1].password, "");
    EXPECT_EQ(one[1].passwordFile, unreadable.passwordFile);

    std::vector<datasource::DataSourceConfig> four = workerDataSources(&resources, 4);
    EXPECT_EQ(four[0].maxConnections, 4u);
    EXPECT_EQ(four[1].maxConnections, 1u); // never below one
    EXPECT_TRUE(workerDataSources(nullptr, 2).empty());
}

TEST(MessagesTest, DataSourceStatsRoundTripAndAddUp)
{
    datasource::DataSourceStatsSnapshot a;
    a.open = 2;
    a.inUse = 1;
    a.acquires = 10;
    a.queries = 7;
    a.latencyBuckets[3] = 7;
    NamedDataSourceStats sent = {{"main", a}};
    uint64_t sequence = 0;
    NamedDataSourceStats received;
    ASSERT_TRUE(decodeDataSourceStats(encodeDataSourceStats(42, sent), sequence, received));
    EXPECT_EQ(sequence, 42u);
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0].first, "main");
    EXPECT_EQ(received[0].second.acquires, 10u);
    EXPECT_EQ(received[0].second.latencyBuckets[3], 7u);
    EXPECT_FALSE(decodeDataSourceStats(encodeDataSourceStats(42, sent).substr(1), sequence, received));

    datasource::DataSourceStatsSnapshot total;
    total.maxConnections = 16;
    total.add(received[0].second);
    total.add(a);
    EXPECT_EQ(total.maxConnections, 16u); // the app's bound, not the workers' shares
    EXPECT_EQ(total.open, 4u);
    EXPECT_EQ(total.acquires, 20u);
    EXPECT_EQ(total.p50Micros, util::LatencyHistogram::kBoundsMicros[3]);
}

TEST(MessagesTest, SpecCarriesTheHostsSessionStore)
{
    WorkerSpec spec;
    spec.host = "localhost";
    EXPECT_FALSE(WorkerSpec::decode(spec.encode())->sessions) << "no <Manager> sent: no sessions";

    config::SessionStoreConfig redis;
    redis.store = config::SessionStoreConfig::Store::Redis;
    redis.url = "redis://127.0.0.1:6390/2";
    redis.keyPrefix = "shop:";
    redis.connectTimeoutMs = 200;
    redis.commandTimeoutMs = 500;
    redis.maxConnections = 3;
    redis.touchIntervalMs = 250;
    redis.busyTimeoutMs = 125;
    redis.sweepIntervalMs = 1000;
    redis.readCache = false;
    spec.sessions = redis;
    spec.jvmRoute = "node1";
    auto decoded = WorkerSpec::decode(spec.encode());
    ASSERT_TRUE(decoded && decoded->sessions);
    EXPECT_EQ(decoded->sessions->store, config::SessionStoreConfig::Store::Redis);
    EXPECT_EQ(decoded->sessions->url, redis.url);
    EXPECT_EQ(decoded->sessions->keyPrefix, "shop:");
    EXPECT_EQ(decoded->sessions->connectTimeoutMs, 200u);
    EXPECT_EQ(decoded->sessions->commandTimeoutMs, 500u);
    EXPECT_EQ(decoded->sessions->maxConnections, 3u);
    EXPECT_EQ(decoded->sessions->touchIntervalMs, 250u);
    EXPECT_EQ(decoded->sessions->busyTimeoutMs, 125u);
    EXPECT_EQ(decoded->sessions->sweepIntervalMs, 1000u);
    EXPECT_FALSE(decoded->sessions->readCache);
    EXPECT_EQ(decoded->jvmRoute, "node1");

    config::SessionStoreConfig sqlite;
    sqlite.path = "/srv/data/sessions.db";
    sqlite.synchronousFull = false;
    spec.sessions = sqlite;
    decoded = WorkerSpec::decode(spec.encode());
    ASSERT_TRUE(decoded && decoded->sessions);
    EXPECT_EQ(decoded->sessions->store, config::SessionStoreConfig::Store::Sqlite);
    EXPECT_EQ(decoded->sessions->path, "/srv/data/sessions.db");
    EXPECT_FALSE(decoded->sessions->synchronousFull);

    // The byte after "has sessions" is the store kind: a kind this server does not know is refused.
    WorkerSpec without = spec;
    without.sessions.reset();
    without.jvmRoute.clear();
    size_t kindAt = without.encode().size() - sizeof(uint32_t); // before jvmRoute's length
    std::string unknownStore = spec.encode();
    ASSERT_EQ(unknownStore[kindAt - 1], '\1');
    unknownStore[kindAt] = '\7';
    EXPECT_FALSE(WorkerSpec::decode(unknownStore));
}

TEST(MessagesTest, ReadyMessageCarriesTheCodeDeclarationsAndRefusesAnythingElse)
{
    ReadyMessage ready;
    ready.loaded = "libshop.so (ABI 1.1)";
    config::ServletDef items;
    items.name = "items";
    items.className = "shop.Items";
    items.loadOnStartup = 3;
    ready.declarations.servlets = {items};
    ready.declarations.servletMappings = {{"items", {"/items/*", ""}, 0}};
    ready.declarations.filters = {{"stamp", "shop.Stamp", {}, 0}};
    config::FilterMappingDef stamp;
    stamp.filterName = "stamp";
    stamp.urlPatterns = {"/docs/*"};
    stamp.servletNames = {"*"};
    stamp.onError = true;
    ready.declarations.filterMappings = {stamp};
    ready.declarations.listeners = {"shop.Counter"};
    std::string bytes = ready.encode();

    auto decoded = ReadyMessage::decode(bytes);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->loaded, ready.loaded);
    const config::WebAppConfig& d = decoded->declarations;
    ASSERT_EQ(d.servlets.size(), 1u);
    EXPECT_EQ(d.servlets[0].className, "shop.Items");
    EXPECT_EQ(d.servlets[0].loadOnStartup, 3);
    ASSERT_EQ(d.servletMappings.size(), 1u);
    EXPECT_EQ(d.servletMappings[0].urlPatterns, (std::vector<std::string>{"/items/*", ""}));
    ASSERT_EQ(d.filterMappings.size(), 1u);
    EXPECT_EQ(d.filterMappings[0].servletNames, std::vector<std::string>{"*"});
    EXPECT_TRUE(d.filterMappings[0].onRequest);
    EXPECT_TRUE(d.filterMappings[0].onError);
    EXPECT_EQ(d.listeners, std::vector<std::string>{"shop.Counter"});

    // From a worker, so hostile: every truncation, a trailing byte and an absurd count fail.
    for (size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_FALSE(ReadyMessage::decode(bytes.substr(0, cut))) << cut;
    EXPECT_FALSE(ReadyMessage::decode(bytes + "x"));
    std::string huge;
    WireWriter w(huge);
    w.text("lib");
    w.u32(0xffffffffu); // servlets
    EXPECT_FALSE(ReadyMessage::decode(huge));
}
