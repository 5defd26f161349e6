#include "config/ConfigError.h"
#include "config/ServerConfig.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>

using namespace serval;
using serval::test::TempDir;

namespace {

struct ServerXmlTest : ::testing::Test
{
    TempDir base;

    config::ServerConfig read(const std::string& xml)
    {
        base.write("conf/server.xml", xml);
        return config::readServerConfig(base.file("conf/server.xml"), base.path());
    }

    /// The message of the ConfigError reading `xml` throws ("" if it does not throw).
    std::string error(const std::string& xml)
    {
        try {
            read(xml);
        } catch (const config::ConfigError& e) {
            return e.what();
        }
        return "";
    }
};

const char* kMinimal = R"(<Server>
  <Connector port="8080"/>
  <Engine defaultHost="localhost">
    <Host name="localhost" appBase="webapps"/>
  </Engine>
</Server>
)";

} // namespace

TEST_F(ServerXmlTest, MinimalFileGetsDefaults)
{
    auto c = read(kMinimal);
    ASSERT_EQ(c.connectors.size(), 1u);
    EXPECT_EQ(c.connectors[0].address, "127.0.0.1");
    EXPECT_EQ(c.connectors[0].port, 8080);
    EXPECT_EQ(c.connectors[0].keepAliveTimeoutMs, 20000u);
    ASSERT_EQ(c.engine.hosts.size(), 1u);
    EXPECT_EQ(c.engine.hosts[0].appBase, base.path() + "/webapps");
    EXPECT_EQ(c.logFile, base.path() + "/logs/serval.log");
    EXPECT_EQ(c.accessLog, base.path() + "/logs/access.log");
    EXPECT_FALSE(c.manager.present);
    EXPECT_EQ(c.engine.hosts[0].preflightTimeoutMs, 10000u);
    EXPECT_EQ(c.engine.hosts[0].deployStabilityDelayMs, 100u);
}

TEST_F(ServerXmlTest, EveryAttributeIsRead)
{
    auto c = read(R"(<Server shutdownTimeout="5000" logFile="/var/log/s.log" logLevel="debug" accessLog="">
  <Connector address="0.0.0.0" port="0" maxConnections="100" maxKeepAliveRequests="7" keepAliveTimeout="1000"
             headerTimeout="2000" bodyTimeout="3000" sendTimeout="4000" maxRequestLineSize="4096"
             maxHeaderSize="8192" maxHeaderCount="50" maxBodySize="1048576" ioThreads="2" workerThreads="4"
             workerQueue="64" serverHeader="" drainTimeout="500" secure="true"/>
  <Connector address="::1" port="8443"/>
  <Engine defaultHost="www.example.com">
    <Host name="localhost" appBase="/srv/apps" deployOnStartup="false" autoDeploy="FALSE"/>
    <Host name="www.example.com" aliases="example.com, Example.org" appBase="sites/example"
          maxBundleEntries="10" maxBundleBytes="2048" maxBundleFileSize="1024" accessLog="logs/example.log"
          preflightTimeout="1500" deployStabilityDelay="0"/>
  </Engine>
  <Manager path="/admin" allow="127.0.0.1/32" sessionTimeout="600" metricsToken="t0k" enabled="true"/>
</Server>)");
    EXPECT_EQ(c.shutdownTimeoutMs, 5000u);
    EXPECT_EQ(c.logFile, "/var/log/s.log");
    EXPECT_EQ(c.logLevel, util::LogLevel::Debug);
    EXPECT_EQ(c.accessLog, "");
    ASSERT_EQ(c.connectors.size(), 2u);
    const auto& k = c.connectors[0];
    EXPECT_EQ(k.address, "0.0.0.0");
    EXPECT_EQ(k.port, 0);
    EXPECT_EQ(k.maxConnections, 100u);
    EXPECT_EQ(k.maxKeepAliveRequests, 7u);
    EXPECT_EQ(k.keepAliveTimeoutMs, 1000u);
    EXPECT_EQ(k.headerTimeoutMs, 2000u);
    EXPECT_EQ(k.bodyTimeoutMs, 3000u);
    EXPECT_EQ(k.sendTimeoutMs, 4000u);
    EXPECT_EQ(k.maxRequestLineSize, 4096u);
    EXPECT_EQ(k.maxHeaderSize, 8192u);
    EXPECT_EQ(k.maxHeaderCount, 50u);
    EXPECT_EQ(k.maxBodySize, 1048576u);
    EXPECT_EQ(k.ioThreads, 2u);
    EXPECT_EQ(k.workerThreads, 4u);
    EXPECT_EQ(k.workerQueue, 64u);
    EXPECT_EQ(k.serverHeader, "");
    EXPECT_EQ(k.drainTimeoutMs, 500u);
    EXPECT_TRUE(k.secure);
    EXPECT_EQ(c.connectors[1].address, "::1");
    EXPECT_FALSE(c.connectors[1].secure) << "secure is for a Connector behind a trusted TLS proxy only";
    EXPECT_EQ(c.engine.defaultHost, "www.example.com");
    ASSERT_EQ(c.engine.hosts.size(), 2u);
    EXPECT_EQ(c.engine.hosts[0].appBase, "/srv/apps");
    EXPECT_FALSE(c.engine.hosts[0].deployOnStartup);
    EXPECT_FALSE(c.engine.hosts[0].autoDeploy);
    const auto& h = c.engine.hosts[1];
    EXPECT_EQ(h.aliases, (std::vector<std::string>{"example.com", "Example.org"}));
    EXPECT_EQ(h.appBase, base.path() + "/sites/example");
    EXPECT_EQ(h.maxBundleEntries, 10u);
    EXPECT_EQ(h.maxBundleBytes, 2048u);
    EXPECT_EQ(h.maxBundleFileSize, 1024u);
    EXPECT_EQ(h.preflightTimeoutMs, 1500u);
    EXPECT_EQ(h.deployStabilityDelayMs, 0u) << "0 is allowed: deploy at the first look";
    EXPECT_EQ(c.engine.hosts[0].preflightTimeoutMs, 10000u) << "each <Host> has its own";
    EXPECT_EQ(h.accessLog, base.path() + "/logs/example.log");
    EXPECT_FALSE(c.engine.hosts[0].accessLog); // inherits <Server accessLog>
    EXPECT_TRUE(c.manager.present);
    EXPECT_EQ(c.manager.path, "/admin");
    EXPECT_EQ(c.manager.allow, "127.0.0.1/32");
    EXPECT_EQ(c.manager.sessionTimeout, 600u);
    EXPECT_EQ(c.manager.metricsToken, "t0k");
    EXPECT_TRUE(c.manager.enabled);
}

TEST_F(ServerXmlTest, UnknownAttributeNamesFileLineAndChoices)
{
    std::string e = error("<Server>\n  <Connector prot=\"80\"/>\n</Server>");
    EXPECT_EQ(
        e.rfind(
            "conf/server.xml:2: unknown attribute \"prot\" on <Connector>; expected one of: address, port,",
            0),
        0u)
        << e;
}

TEST_F(ServerXmlTest, UnknownElementNamesFileLine)
{
    std::string e = error("<Server>\n\n  <Conector port=\"80\"/>\n</Server>");
    EXPECT_EQ(e, "conf/server.xml:3: unknown element <Conector> in <Server>; expected one of: Connector, "
                 "Engine, Manager");
}

TEST_F(ServerXmlTest, BadValuesNameTheAttributeAndRange)
{
    EXPECT_EQ(error("<Server>\n<Connector port=\"http\"/></Server>"),
              "conf/server.xml:2: bad value \"http\" for attribute \"port\"; expected a whole number from 0 "
              "to 65535");
    EXPECT_EQ(error("<Server>\n<Connector port=\"70000\"/></Server>"),
              "conf/server.xml:2: bad value \"70000\" for attribute \"port\"; expected a whole number from 0 "
              "to 65535");
    EXPECT_NE(error("<Server>\n<Connector address=\"localhost\"/></Server>")
                  .find("conf/server.xml:2: bad value \"localhost\" for attribute \"address\"; expected an "
                        "IP address"),
              std::string::npos);
    EXPECT_EQ(error("<Server logLevel=\"loud\"/>"),
              "conf/server.xml:1: bad value \"loud\" for attribute \"logLevel\"; expected one of: debug, "
              "info, warn, error, off");
    EXPECT_NE(error("<Server><Connector/><Engine><Host name=\"a\" autoDeploy=\"yes\"/></Engine></Server>")
                  .find("bad value \"yes\" for attribute \"autoDeploy\"; expected true or false"),
              std::string::npos);
}

TEST_F(ServerXmlTest, DeployTimingAttributesAreRangeChecked)
{
    auto host = [](const std::string& attributes) {
        return "<Server><Connector/><Engine defaultHost=\"a\">\n<Host name=\"a\" " + attributes +
               "/></Engine></Server>";
    };
    EXPECT_EQ(error(host("preflightTimeout=\"0\"")),
              "conf/server.xml:2: bad value \"0\" for attribute \"preflightTimeout\"; expected a whole "
              "number from 1 to 3600000");
    EXPECT_EQ(error(host("preflightTimeout=\"10s\"")),
              "conf/server.xml:2: bad value \"10s\" for attribute \"preflightTimeout\"; expected a whole "
              "number from 1 to 3600000");
    EXPECT_EQ(error(host("deployStabilityDelay=\"-1\"")),
              "conf/server.xml:2: bad value \"-1\" for attribute \"deployStabilityDelay\"; expected a "
              "whole number from 0 to 3600000");
    EXPECT_EQ(error(host("deployStabilityDelay=\"3600001\"")),
              "conf/server.xml:2: bad value \"3600001\" for attribute \"deployStabilityDelay\"; expected a "
              "whole number from 0 to 3600000");
    std::string unknown = error(host("preflightTimout=\"5\""));
    EXPECT_NE(unknown.find("unknown attribute \"preflightTimout\" on <Host>"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("preflightTimeout"), std::string::npos)
        << "the choices name the attribute: " << unknown;
}

TEST_F(ServerXmlTest, StructuralErrors)
{
    EXPECT_EQ(error("<Config/>"), "conf/server.xml:1: the root element is <Config>; expected <Server>");
    EXPECT_NE(
        error("<Server>\n<Engine><Host name=\"a\"/></Engine></Server>").find("needs at least one <Connector"),
        std::string::npos);
    EXPECT_NE(error("<Server><Connector/></Server>").find("needs an <Engine"), std::string::npos);
    EXPECT_NE(error("<Server><Connector/><Engine defaultHost=\"x\"><Host name=\"a\"/></Engine></Server>")
                  .find("defaultHost \"x\" is not the name of a <Host>"),
              std::string::npos);
    EXPECT_NE(error("<Server><Connector/><Engine defaultHost=\"a\"><Host name=\"a\"/>\n<Host "
                    "name=\"A\"/></Engine></Server>")
                  .find(":2: host name \"A\" is declared twice"),
              std::string::npos);
}

TEST_F(ServerXmlTest, MalformedXmlNamesTheLine)
{
    std::string e = error("<Server>\n  <Connector port=\"8080\">\n</Server>");
    EXPECT_EQ(e.rfind("conf/server.xml:", 0), 0u) << e;
    EXPECT_NE(e.find("malformed XML"), std::string::npos) << e;
}

TEST_F(ServerXmlTest, MissingFileSaysWhatToDo)
{
    try {
        config::readServerConfig(base.file("conf/none.xml"), base.path());
        FAIL();
    } catch (const config::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos);
    }
}

TEST_F(ServerXmlTest, ShippedServerXmlIsValid)
{
    std::string source = test::env("SERVAL_SOURCE");
    auto c = config::readServerConfig(source + "/conf/server.xml", base.path());
    ASSERT_EQ(c.connectors.size(), 1u);
    EXPECT_EQ(c.connectors[0].address, "127.0.0.1");
    EXPECT_EQ(c.connectors[0].port, 8080);
    EXPECT_EQ(c.engine.defaultHost, "localhost");
    EXPECT_EQ(c.engine.hosts[0].appBase, base.path() + "/webapps");
}

TEST_F(ServerXmlTest, ContextBindsDataSources)
{
    auto c = read(R"(<Server><Connector/><Engine defaultHost="localhost">
  <Host name="localhost">
    <Context path="/shop">
      <DataSource name="main" type="postgresql" url="postgresql://shop@127.0.0.1:5432/shop"
                  passwordFile="conf/shop.password" maxConnections="16" acquireTimeout="2s"
                  statementTimeout="5s"/>
      <DataSource name="cache" url="var/cache.db" busyTimeout="250ms"/>
    </Context>
    <Context path="/"/>
  </Host>
</Engine></Server>)");
    const config::HostConfig& host = c.engine.hosts[0];
    ASSERT_EQ(host.contexts.size(), 2u);
    const config::ContextConfig* shop = host.context("/shop");
    ASSERT_NE(shop, nullptr);
    ASSERT_EQ(shop->dataSources.size(), 2u);
    const config::DataSourceBinding* main = shop->dataSource("main");
    ASSERT_NE(main, nullptr);
    EXPECT_EQ(main->type, "postgresql");
    EXPECT_EQ(main->url, "postgresql://shop@127.0.0.1:5432/shop");
    EXPECT_EQ(main->passwordFile, base.path() + "/conf/shop.password");
    EXPECT_EQ(main->maxConnections, 16u);
    EXPECT_EQ(main->acquireTimeoutMs, 2000u);
    EXPECT_EQ(main->statementTimeoutMs, 5000u);
    EXPECT_EQ(main->line, 4);
    const config::DataSourceBinding* cache = shop->dataSource("cache");
    ASSERT_NE(cache, nullptr);
    EXPECT_EQ(cache->type, "sqlite");
    EXPECT_EQ(cache->url, base.path() + "/var/cache.db"); // relative paths resolve against the base
    EXPECT_EQ(cache->busyTimeoutMs, 250u);
    EXPECT_EQ(cache->acquireTimeoutMs, 2000u); // defaults
    EXPECT_EQ(cache->maxConnections, 8u);
    ASSERT_NE(host.context(""), nullptr); // path="/" is ROOT
    EXPECT_TRUE(host.context("")->dataSources.empty());
    EXPECT_EQ(host.context("/other"), nullptr);
}

TEST_F(ServerXmlTest, DataSourceMistakesNameFileAndLine)
{
    auto context = [](const std::string& inside) {
        return "<Server><Connector/><Engine defaultHost=\"a\"><Host name=\"a\">\n<Context path=\"/shop\">\n" +
               inside + "</Context></Host></Engine></Server>";
    };
    EXPECT_EQ(error(context("<DataSource name=\"main\" type=\"mysql\"/>")),
              "conf/server.xml:3: bad value \"mysql\" for attribute \"type\"; expected sqlite (embedded) or "
              "postgresql");
    EXPECT_EQ(error(context("<DataSource type=\"sqlite\"/>")),
              "conf/server.xml:3: <DataSource> needs a name=\"...\" of letters, digits, '_' and '-' (the "
              "res-ref-name of the app's web.xml, for example main)");
    EXPECT_EQ(error(context("<DataSource name=\"main\" type=\"postgresql\"/>")),
              "conf/server.xml:3: <DataSource name=\"main\" type=\"postgresql\"> needs "
              "url=\"postgresql://user@host:port/database\"");
    EXPECT_EQ(error(context("<DataSource name=\"main\" type=\"postgresql\" "
                            "url=\"postgresql://shop:secret@db/shop\"/>")),
              "conf/server.xml:3: <DataSource name=\"main\"> has a password in its url; put it in a file "
              "named by passwordFile=\"...\"");
    EXPECT_EQ(error(context("<DataSource name=\"main\" passwordFile=\"p\"/>")),
              "conf/server.xml:3: passwordFile is for type=\"postgresql\"; an embedded SQLite database has "
              "none");
    EXPECT_EQ(error(context("<DataSource name=\"main\" acquireTimeout=\"soon\"/>")),
              "conf/server.xml:3: bad value \"soon\" for attribute \"acquireTimeout\"; expected a duration "
              "such as 500ms, 2s or 1m (a bare number is milliseconds), at most 3600s");
    EXPECT_EQ(error(context("<DataSource name=\"main\" maxConnections=\"0\"/>")),
              "conf/server.xml:3: bad value \"0\" for attribute \"maxConnections\"; expected a whole number "
              "from 1 to 10000");
    EXPECT_EQ(error(context("<DataSource name=\"main\"/>\n<DataSource name=\"main\"/>")),
              "conf/server.xml:4: data source \"main\" is bound twice in this <Context> (first at line 3)");
    EXPECT_EQ(
        error("<Server><Connector/><Engine defaultHost=\"a\"><Host name=\"a\">\n<Context "
              "path=\"shop/\"/></Host></Engine></Server>"),
        "conf/server.xml:2: bad value \"shop/\" for attribute \"path\"; expected a context path such as "
        "/shop (\"\" for ROOT)");
    EXPECT_EQ(error("<Server><Connector/><Engine defaultHost=\"a\"><Host name=\"a\">\n<Context/></Host>"
                    "</Engine></Server>"),
              "conf/server.xml:2: <Context> needs a path=\"...\": the context path of the app it configures "
              "(\"\" for ROOT)");
    EXPECT_EQ(
        error("<Server><Connector/><Engine defaultHost=\"a\"><Host name=\"a\">\n<Context path=\"/x\"/>\n"
              "<Context path=\"/x\"/></Host></Engine></Server>"),
        "conf/server.xml:3: <Context path=\"/x\"> is declared twice on this host (line 2)");
}

TEST_F(ServerXmlTest, HostManagerChoosesTheSessionStore)
{
    auto defaults = read(kMinimal);
    const config::SessionStoreConfig& d = defaults.engine.hosts[0].sessions;
    EXPECT_EQ(d.store, config::SessionStoreConfig::Store::Sqlite);
    EXPECT_EQ(d.path, base.path() + "/data/sessions.db");
    EXPECT_TRUE(d.synchronousFull);
    EXPECT_EQ(d.busyTimeoutMs, 5000u);
    EXPECT_EQ(d.line, 0);
    EXPECT_EQ(defaults.engine.jvmRoute, "");

    auto c = read(R"(<Server>
  <Connector port="8080"/>
  <Engine defaultHost="a" jvmRoute="node-1">
    <Host name="a" appBase="webapps">
      <Manager store="redis" url="redis://10.0.0.9:6380/2" keyPrefix="shop:" connectTimeout="200"
               commandTimeout="300" maxConnections="8" touchInterval="500" sweepInterval="30000"
               readCache="false"/>
    </Host>
    <Host name="b" appBase="b">
      <Manager store="sqlite" path="/var/lib/serval/b-sessions.db" synchronous="normal" busyTimeout="250"/>
    </Host>
  </Engine>
  <Manager path="/manager"/>
</Server>
)");
    EXPECT_EQ(c.engine.jvmRoute, "node-1");
    const config::SessionStoreConfig& r = c.engine.hosts[0].sessions;
    EXPECT_EQ(r.store, config::SessionStoreConfig::Store::Redis);
    EXPECT_EQ(r.url, "redis://10.0.0.9:6380/2");
    EXPECT_EQ(r.keyPrefix, "shop:");
    EXPECT_EQ(r.connectTimeoutMs, 200u);
    EXPECT_EQ(r.commandTimeoutMs, 300u);
    EXPECT_EQ(r.maxConnections, 8u);
    EXPECT_EQ(r.touchIntervalMs, 500u);
    EXPECT_EQ(r.sweepIntervalMs, 30000u);
    EXPECT_FALSE(r.readCache);
    EXPECT_TRUE(c.engine.hosts[1].sessions.readCache); // the default
    EXPECT_EQ(r.line, 5);
    EXPECT_EQ(c.engine.hosts[1].sessions.busyTimeoutMs, 250u);
    const config::SessionStoreConfig& s = c.engine.hosts[1].sessions;
    EXPECT_EQ(s.path, "/var/lib/serval/b-sessions.db");
    EXPECT_FALSE(s.synchronousFull);
    EXPECT_TRUE(c.manager.present); // the admin page's <Manager> is another element
}

TEST_F(ServerXmlTest, SessionStoreMistakesNameTheLineAndTheFix)
{
    auto host = [](const std::string& manager) {
        return "<Server><Connector port=\"8080\"/><Engine defaultHost=\"a\"><Host name=\"a\">\n" + manager +
               "</Host></Engine></Server>";
    };
    EXPECT_EQ(error(host("<Manager store=\"redis\"/>")),
              "conf/server.xml:2: store=\"redis\" needs a url, for example url=\"redis://127.0.0.1:6379/0\"");
    EXPECT_EQ(
        error(host("<Manager url=\"redis://h:1/0\"/>")),
        "conf/server.xml:2: url is for store=\"redis\"; the SQLite store takes path=\"data/sessions.db\"");
    EXPECT_EQ(error(host("<Manager store=\"memcached\"/>")),
              "conf/server.xml:2: bad value \"memcached\" for attribute \"store\"; expected sqlite or redis");
    EXPECT_EQ(error(host("<Manager store=\"redis\" url=\"http://h\"/>"))
                  .rfind("conf/server.xml:2: bad value \"http://h\" for attribute \"url\"", 0),
              0u);
    EXPECT_EQ(error(host("<Manager synchronous=\"off\"/>"))
                  .rfind("conf/server.xml:2: bad value \"off\" for attribute \"synchronous\"", 0),
              0u);
    EXPECT_EQ(error(host("<Manager/>\n<Manager/>")),
              "conf/server.xml:3: only one <Manager> (session store) is allowed per <Host>");
    EXPECT_EQ(
        error(host("<Manager allow=\"127.0.0.1\"/>"))
            .rfind("conf/server.xml:2: unknown attribute \"allow\" on <Manager>; expected one of: store,", 0),
        0u);
    EXPECT_EQ(error("<Server><Connector port=\"8080\"/>\n<Engine defaultHost=\"a\" jvmRoute=\"node 1\">"
                    "<Host name=\"a\"/></Engine></Server>")
                  .rfind("conf/server.xml:2: bad value \"node 1\" for attribute \"jvmRoute\"", 0),
              0u);
}

TEST_F(ServerXmlTest, IsolationIsTheProcessModelByDefault)
{
    auto c = read(kMinimal);
    const config::HostConfig& host = c.engine.hosts[0];
    EXPECT_EQ(host.isolation, config::Isolation::Process);
    EXPECT_EQ(host.processes, 1u);
    config::ContextConfig shop = host.contextFor("/shop");
    EXPECT_EQ(shop.isolation, config::Isolation::Process);
    EXPECT_EQ(shop.processes, 1u);
    EXPECT_EQ(shop.requestTimeoutMs, 60000u);
    EXPECT_EQ(shop.memoryLimit, 0u);
    EXPECT_EQ(shop.maxCrashes, 5u);
    EXPECT_EQ(shop.crashWindowMs, 60000u);
}

TEST_F(ServerXmlTest, ContextsOverrideTheirHost)
{
    auto c = read(R"(<Server>
  <Connector port="8080"/>
  <Engine defaultHost="localhost">
    <Host name="localhost" isolation="none" processes="2">
      <Context path="/shop" isolation="process" processes="3" requestTimeout="30s" memoryLimit="512MiB"
               maxRequestsPerProcess="10000" user="nobody" maxThreads="8" maxCrashes="3" crashWindow="2m"/>
      <Context path="/" requestTimeout="1500ms"/>
    </Host>
  </Engine>
</Server>
)");
    const config::HostConfig& host = c.engine.hosts[0];
    config::ContextConfig shop = host.contextFor("/shop");
    EXPECT_EQ(shop.isolation, config::Isolation::Process);
    EXPECT_EQ(shop.processes, 3u);
    EXPECT_EQ(shop.requestTimeoutMs, 30000u);
    EXPECT_EQ(shop.memoryLimit, 512ull * 1024 * 1024);
    EXPECT_EQ(shop.maxRequestsPerProcess, 10000u);
    EXPECT_EQ(shop.user, "nobody");
    EXPECT_EQ(shop.maxThreads, 8u);
    EXPECT_EQ(shop.maxCrashes, 3u);
    EXPECT_EQ(shop.crashWindowMs, 120000u);
    config::ContextConfig root = host.contextFor("");
    EXPECT_EQ(root.isolation, config::Isolation::None) << "the Host's";
    EXPECT_EQ(root.processes, 2u);
    EXPECT_EQ(root.requestTimeoutMs, 1500u);
    EXPECT_EQ(host.contextFor("/other").isolation, config::Isolation::None);
}

TEST_F(ServerXmlTest, ContextMaxThreadsAndMaxQueueBoundAnInProcessApp)
{
    auto c = read(R"(<Server>
  <Connector port="8080"/>
  <Engine defaultHost="localhost">
    <Host name="localhost" isolation="none">
      <Context path="/shop" maxThreads="3" maxQueue="0"/>
    </Host>
  </Engine>
</Server>
)");
    const config::HostConfig& host = c.engine.hosts[0];
    EXPECT_EQ(host.contextFor("/shop").maxThreads, 3u);
    EXPECT_EQ(host.contextFor("/shop").maxQueue, 0u); // nothing waits: 503 at once
    EXPECT_EQ(host.contextFor("/blog").maxThreads, 0u) << "0: half the worker pool";
    EXPECT_EQ(host.contextFor("/blog").maxQueue, UINT32_MAX) << "no bound but maxConnections (issue 15)";
    std::string bad = "<Server>\n  <Connector port=\"8080\"/>\n  <Engine defaultHost=\"localhost\">\n"
                      "    <Host name=\"localhost\">\n      <Context path=\"/a\" maxQueue=\"-1\"/>\n"
                      "    </Host>\n  </Engine>\n</Server>\n";
    EXPECT_NE(error(bad).find("conf/server.xml:5:"), std::string::npos) << error(bad);
    EXPECT_NE(error(bad).find("maxQueue"), std::string::npos) << error(bad);
}

TEST_F(ServerXmlTest, BadIsolationAttributesNameFileAndLine)
{
    auto withContext = [](const std::string& attributes) {
        return "<Server>\n  <Connector port=\"8080\"/>\n  <Engine defaultHost=\"localhost\">\n"
               "    <Host name=\"localhost\">\n      <Context " +
               attributes + "/>\n    </Host>\n  </Engine>\n</Server>\n";
    };
    EXPECT_NE(error(withContext("path=\"/a\" isolation=\"thread\""))
                  .find("conf/server.xml:5: bad value \"thread\" for attribute \"isolation\""),
              std::string::npos);
    EXPECT_NE(
        error(withContext("path=\"/a\" memoryLimit=\"lots\""))
            .find("conf/server.xml:5: bad value \"lots\" for attribute \"memoryLimit\"; expected a size"),
        std::string::npos);
    EXPECT_NE(error(withContext("path=\"/a\" requestTimeout=\"soon\""))
                  .find("conf/server.xml:5: bad value \"soon\" for attribute \"requestTimeout\"; expected a "
                        "duration"),
              std::string::npos);
    EXPECT_NE(error(withContext("path=\"/a\" processes=\"0\"")).find("conf/server.xml:5:"),
              std::string::npos);
    EXPECT_NE(error(withContext("isolation=\"none\"")).find("conf/server.xml:5: <Context> needs a path"),
              std::string::npos);
    EXPECT_NE(error(withContext("path=\"shop\"")).find("expected a context path"), std::string::npos);
    EXPECT_NE(error(withContext("path=\"/a\" prot=\"1\"")).find("unknown attribute \"prot\" on <Context>"),
              std::string::npos);
    std::string twice = "<Server><Connector port=\"8080\"/><Engine defaultHost=\"localhost\">"
                        "<Host name=\"localhost\">\n<Context path=\"/a\"/>\n<Context "
                        "path=\"/a\"/></Host></Engine></Server>";
    EXPECT_NE(
        error(twice).find("conf/server.xml:3: <Context path=\"/a\"> is declared twice on this host (line 2)"),
        std::string::npos)
        << error(twice);
}

TEST_F(ServerXmlTest, CertificatesSwitchTlsOnAndImplySecure)
{
    config::ServerConfig c = read(R"(<Server>
  <Connector port="8443" handshakeTimeout="3000">
    <Certificate host="Example.com, *.example.org" certificateFile="certs/a.pem" keyFile="/k/a.key"
                 chainFile="certs/chain.pem"/>
    <Certificate certificateFile="certs/default.pem"/>
  </Connector>
  <Connector port="8080" secure="true"/>
  <Connector port="8081"/>
  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps"/></Engine>
</Server>
)");
    ASSERT_EQ(c.connectors.size(), 3u);
    const config::ConnectorConfig& tls = c.connectors[0];
    EXPECT_TRUE(tls.secure);
    EXPECT_EQ(tls.handshakeTimeoutMs, 3000u);
    ASSERT_EQ(tls.certificates.size(), 2u);
    EXPECT_EQ(tls.certificates[0].hostNames, (std::vector<std::string>{"example.com", "*.example.org"}));
    EXPECT_EQ(tls.certificates[0].certificateFile, base.path() + "/certs/a.pem");
    EXPECT_EQ(tls.certificates[0].keyFile, "/k/a.key");
    EXPECT_EQ(tls.certificates[0].chainFile, base.path() + "/certs/chain.pem");
    EXPECT_EQ(tls.certificates[0].where, "conf/server.xml:3");
    EXPECT_TRUE(tls.certificates[1].hostNames.empty()); // the default certificate
    EXPECT_TRUE(c.connectors[1].secure);                // behind a TLS proxy: Tomcat's meaning
    EXPECT_TRUE(c.connectors[1].certificates.empty());
    EXPECT_FALSE(c.connectors[2].secure);
}

TEST_F(ServerXmlTest, TlsOperationsAttributes)
{
    config::ServerConfig c = read(R"(<Server>
  <Connector port="8443" hsts="max-age=31536000; includeSubDomains" ticketKeyRotationInterval="3600000">
    <Certificate certificateFile="certs/a.pem" ocspStaple="certs/a.ocsp.der"/>
  </Connector>
  <Connector port="8080" redirect="https" redirectPort="8443"/>
  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps"/></Engine>
</Server>
)");
    ASSERT_EQ(c.connectors.size(), 2u);
    EXPECT_EQ(c.connectors[0].hsts, "max-age=31536000; includeSubDomains");
    EXPECT_EQ(c.connectors[0].ticketKeyRotationIntervalMs, 3600000u);
    EXPECT_EQ(c.connectors[0].certificates[0].ocspStaple, base.path() + "/certs/a.ocsp.der");
    EXPECT_TRUE(c.connectors[1].redirectAll);
    EXPECT_EQ(c.connectors[1].redirectPort, 8443u);
    EXPECT_EQ(read(kMinimal).connectors[0].ticketKeyRotationIntervalMs, 12u * 3600 * 1000);

    const std::string engine =
        "<Engine defaultHost=\"localhost\"><Host name=\"localhost\"/></Engine></Server>";
    EXPECT_NE(error("<Server>\n<Connector hsts=\"max-age=1\"/>" + engine)
                  .find("conf/server.xml:2: hsts= needs a TLS"),
              std::string::npos);
    EXPECT_NE(error("<Server>\n<Connector redirect=\"https\"/>" + engine).find("redirectPort"),
              std::string::npos);
    EXPECT_NE(
        error("<Server>\n<Connector redirect=\"http\" redirectPort=\"1\"/>" + engine).find("expected https"),
        std::string::npos);
    EXPECT_NE(error("<Server>\n<Connector hsts=\"a&#10;b\"/>" + engine).find("control characters"),
              std::string::npos);
}

TEST_F(ServerXmlTest, ACertificateNeedsItsFile)
{
    std::string e =
        error("<Server>\n  <Connector port=\"8443\">\n    <Certificate host=\"a\"/>\n  </Connector>\n"
              "</Server>");
    EXPECT_EQ(e.rfind("conf/server.xml:3: <Certificate> needs certificateFile=", 0), 0u) << e;
}

TEST_F(ServerXmlTest, CompressionAttributesAreReadLikeTomcats)
{
    using Mode = http::CompressionSettings::Mode;
    auto defaults = read(kMinimal).connectors[0].compression;
    EXPECT_EQ(defaults.mode, Mode::On);
    EXPECT_EQ(defaults.minSize, 2048u);
    EXPECT_EQ(defaults.mimeTypes.front(), "text/*");

    auto c = read("<Server><Connector compression=\"force\" compressionMinSize=\"4KiB\" "
                  "compressibleMimeType=\"Text/HTML, application/wasm\"/><Engine defaultHost=\"localhost\">"
                  "<Host name=\"localhost\" appBase=\"webapps\"/></Engine></Server>")
                 .connectors[0]
                 .compression;
    EXPECT_EQ(c.mode, Mode::Force);
    EXPECT_EQ(c.minSize, 4096u);
    EXPECT_EQ(c.mimeTypes, (std::vector<std::string>{"text/html", "application/wasm"}));
    EXPECT_EQ(read("<Server><Connector compression=\"off\"/><Engine defaultHost=\"localhost\">"
                   "<Host name=\"localhost\" appBase=\"webapps\"/></Engine></Server>")
                  .connectors[0]
                  .compression.mode,
              Mode::Off);

    EXPECT_EQ(
        error("<Server>\n<Connector compression=\"yes\"/></Server>"),
        "conf/server.xml:2: bad value \"yes\" for attribute \"compression\"; expected \"on\" (compressible "
        "types of at least compressionMinSize bytes, the default), \"off\" or \"force\" (every response)");
    EXPECT_EQ(error("<Server>\n<Connector compressibleMimeType=\"text/html; charset=utf-8\"/></Server>"),
              "conf/server.xml:2: bad media type \"text/html; charset=utf-8\" in attribute "
              "\"compressibleMimeType\"; "
              "expected a comma-separated list such as text/*,application/json,image/svg+xml");
    EXPECT_NE(error("<Server>\n<Connector compressionMinSize=\"big\"/></Server>").find("compressionMinSize"),
              std::string::npos);
}

TEST_F(ServerXmlTest, Http2IsOnByDefaultAndH2cIsOptIn)
{
    config::ServerConfig c = read(R"(<Server>
  <Connector port="8443" protocols="http/1.1"/>
  <Connector port="8444" protocols="h2, http/1.1" http2MaxConcurrentStreams="50" http2GlitchBudget="20"/>
  <Connector port="8080" h2c="true"/>
  <Connector port="8081"/>
  <Engine defaultHost="localhost"><Host name="localhost" appBase="webapps"/></Engine>
</Server>
)");
    ASSERT_EQ(c.connectors.size(), 4u);
    EXPECT_FALSE(c.connectors[0].http2);
    EXPECT_TRUE(c.connectors[1].http2);
    EXPECT_EQ(c.connectors[1].http2MaxConcurrentStreams, 50u);
    EXPECT_EQ(c.connectors[1].http2GlitchBudget, 20u);
    EXPECT_TRUE(c.connectors[2].h2c);
    EXPECT_TRUE(c.connectors[3].http2); // ALPN h2 whenever the connector has certificates
    EXPECT_FALSE(c.connectors[3].h2c);
    EXPECT_EQ(c.connectors[3].http2MaxConcurrentStreams, 100u);
    std::string e = error("<Server>\n  <Connector port=\"8443\" protocols=\"h2\"/>\n</Server>");
    EXPECT_NE(e.find("must include http/1.1"), std::string::npos) << e;
    e = error("<Server>\n  <Connector port=\"8443\" protocols=\"spdy/3, http/1.1\"/>\n</Server>");
    EXPECT_NE(e.find("expected a list of h2 and http/1.1"), std::string::npos) << e;
}
