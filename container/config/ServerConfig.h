#pragma once

#include "config/ConnectorConfig.h"
#include "util/Log.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace serval::config {

/// <DataSource> inside <Context>: how the operator binds a data source an app declares
/// (web.xml <resource-ref>) by name. A name the app does not declare is never opened; a name it
/// declares and no <DataSource> binds is an embedded SQLite database at
/// data/<host>/<app>/<name>.db (container/datasource owns both).
struct DataSourceBinding
{
    std::string name;            ///< the res-ref-name it binds
    std::string type = "sqlite"; ///< "sqlite" or "postgresql"
    /// sqlite: the database file (absolute after reading; "" = data/<host>/<app>/<name>.db).
    /// postgresql: postgresql://user@host:port/database; a password is refused here.
    std::string url;
    std::string passwordFile;         ///< postgresql: its first line is the password (absolute after reading)
    uint32_t maxConnections = 8;      ///< the pool's bound
    uint32_t acquireTimeoutMs = 2000; ///< waiting longer for a connection fails (the app answers 503)
    uint32_t statementTimeoutMs = 0;  ///< a statement running longer is cancelled; 0 = no limit
    uint32_t busyTimeoutMs = 5000;    ///< sqlite: how long a writer waits for another's lock
    int line = 0;
};

/// <Manager> inside a <Host>: where the sessions of the host's apps live (docs/sessions.md).
/// Not the <Server><Manager> element, which configures the admin page (ManagerConfig).
struct SessionStoreConfig
{
    enum class Store
    {
        Sqlite, ///< one machine: a file shared by the server and its worker processes
        Redis   ///< several nodes
    };
    Store store = Store::Sqlite;
    std::string path = "data/sessions.db"; ///< sqlite: the file, absolute after reading
    bool synchronousFull = true;           ///< sqlite synchronous="full" (fsync per commit) or "normal"
    std::string url;                   ///< redis: redis://[[user]:password@]host[:port][/db], unix:///path
    std::string keyPrefix = "serval:"; ///< redis: every key starts with it
    uint32_t connectTimeoutMs = 1000;  ///< redis
    uint32_t commandTimeoutMs = 1000;  ///< redis
    uint32_t maxConnections = 16;      ///< redis: connections per process
    bool readCache = true;             ///< redis: batched lookups keep what Redis says is unchanged
    uint32_t touchIntervalMs = 1000;   ///< how often coalesced last-access times are written
    uint32_t busyTimeoutMs = 5000;     ///< sqlite: how long a commit waits for another writer's lock
    uint32_t sweepIntervalMs = 60000;  ///< how often expired sessions are removed
    int line = 0;                      ///< 0: the built-in default (no <Manager> in the <Host>)
};

/// Where an app's code runs (issue 11).
enum class Isolation
{
    Process, ///< in supervised worker processes: a crash never takes the server down (the default)
    None     ///< in the server process (the fastest; for trusted apps)
};

/// "process" or "none".
const char* isolationName(Isolation isolation) noexcept;

/// One <Context> inside a <Host>: how the app deployed at `path` runs and which data sources it is
/// bound to. Deployment itself
/// still comes from appBase; this only configures it. Unset fields take the Host's values, then
/// the defaults documented in conf/server.xml.
struct ContextConfig
{
    std::string path;                   ///< "" for ROOT (path="/"), "/shop"
    std::optional<Isolation> isolation; ///< nullopt: the Host's
    std::optional<uint32_t> processes;  ///< worker processes per version; nullopt: the Host's
    uint32_t requestTimeoutMs = 60000;  ///< past this a request gets 504 (process mode)
    uint64_t memoryLimit = 0;           ///< RSS bytes per worker before a recycle; 0 = none
    uint64_t maxRequestsPerProcess = 0; ///< recycle a worker after this many requests; 0 = never
    std::string user;                   ///< workers switch to this user when the server runs as root
    uint32_t maxThreads = 0;            ///< request threads per worker; 0 = the Connector's workerThreads
                                        ///< (isolation none: the app's share of the worker pool; 0 = half)
    /// isolation none: requests waiting beyond maxThreads, then 503; the default (UINT32_MAX)
    /// sets no bound of its own: the Connector's maxConnections bounds the queue (core::ContextLane)
    uint32_t maxQueue = UINT32_MAX;
    uint32_t maxCrashes = 5;                    ///< this many crashes ...
    uint32_t crashWindowMs = 60000;             ///< ... within this window quarantine the app
    std::vector<DataSourceBinding> dataSources; ///< its <DataSource> children, by name
    int line = 0;

    const DataSourceBinding* dataSource(const std::string& name) const noexcept
    {
        for (const DataSourceBinding& binding : dataSources) {
            if (binding.name == name) return &binding;
        }
        return nullptr;
    }
};

/// One <Host> from conf/server.xml: a virtual host and the directory its apps are deployed from.
struct HostConfig
{
    std::string name = "localhost";    ///< compared case-insensitively with the Host header (port ignored)
    std::vector<std::string> aliases;  ///< other names for this host (comma-separated attribute)
    std::string appBase = "webapps";   ///< absolute after reading (relative ones resolve against --base)
    bool deployOnStartup = true;       ///< deploy what appBase holds when the server starts
    bool autoDeploy = true;            ///< watch appBase and (re/un)deploy while running (deployer)
    uint64_t maxBundleEntries = 10000; ///< archive entries per bundle (deployer)
    uint64_t maxBundleBytes = 256ull * 1024 * 1024;   ///< bytes written when unpacking one bundle
    uint64_t maxBundleFileSize = 64ull * 1024 * 1024; ///< bytes of one file inside a bundle
    /// How long the preflight child may take to load and init one library before it is killed
    /// and the bundle refused (deployer).
    uint32_t preflightTimeoutMs = 10000;
    /// How long a changed file in appBase must keep the same size, mtime and inode before it is
    /// deployed, so half-copied bundles are never picked up (deployer; 0 = at once).
    uint32_t deployStabilityDelayMs = 100;
    /// This host's access log (absolute after reading). nullopt: the <Server accessLog>;
    /// "" (accessLog=""): none for this host.
    std::optional<std::string> accessLog;
    SessionStoreConfig sessions;              ///< <Host><Manager>; the default: SQLite at data/sessions.db
    Isolation isolation = Isolation::Process; ///< the default of its apps (<Context isolation> overrides)
    uint32_t processes = 1;                   ///< worker processes per isolated app version
    std::vector<ContextConfig> contexts;      ///< <Context> children, one per context path
    int line = 0;                             ///< where it was declared, for later messages

    /// The <Context> for `path` with the Host's defaults filled in (a default one if none).
    ContextConfig contextFor(const std::string& path) const;

    /// The <Context> declared for `path` ("" for ROOT) as written, or nullptr.
    const ContextConfig* context(const std::string& path) const noexcept
    {
        for (const ContextConfig& c : contexts) {
            if (c.path == path) return &c;
        }
        return nullptr;
    }
};

/// <Engine>: the hosts and which one answers unknown Host headers.
struct EngineConfig
{
    std::string defaultHost = "localhost";
    /// Appended to session ids ("id.node1") so a balancer can route by it, as Tomcat's; "" = none.
    std::string jvmRoute;
    std::vector<HostConfig> hosts;
};

/// <Manager> (optional child of <Server>): the admin page. Read here, used by container/manager.
struct ManagerConfig
{
    bool present = false;                   ///< false when server.xml has no <Manager> element
    std::string path = "/manager";          ///< context path of the admin page on the default host
    std::string allow = "127.0.0.0/8, ::1"; ///< client addresses allowed (CIDR list)
    bool enabled = true;                    ///< false: no admin page, no API, no /metrics
    uint32_t sessionTimeout = 1800;         ///< idle seconds before an admin session ends
    std::string metricsToken;               ///< if set, /metrics needs "Authorization: Bearer <it>"
    uint64_t maxUploadSize = 268435456;     ///< largest bundle upload through the API (bytes)
    /// Directories a deploy by server path may read from (absolute, comma-separated in the
    /// attribute); empty, the default: deploy by server path is off.
    std::vector<std::string> deployRoots;
};

/// conf/server.xml, validated. Plain data: built once by readServerConfig(), then copied into
/// the parts that need it.
struct ServerConfig
{
    std::string base;                        ///< --base: every relative path below resolves against it
    std::string source;                      ///< the file it was read from (for messages)
    uint32_t shutdownTimeoutMs = 10000;      ///< SIGTERM: how long stopping may take in total
    std::string logFile = "logs/serval.log"; ///< absolute after reading; "" = stderr only
    util::LogLevel logLevel = util::LogLevel::Info;
    std::string accessLog = "logs/access.log"; ///< absolute after reading; "" = no access log
    std::vector<ConnectorConfig> connectors;   ///< at least one
    EngineConfig engine;
    ManagerConfig manager;
};

/// Reads and validates `path` (conf/server.xml). Relative paths inside resolve against `base`.
/// `displayName` is how the file is named in messages ("conf/server.xml").
/// Throws ConfigError ("conf/server.xml:LINE: what; what to do") for a missing or malformed
/// file, an unknown element or attribute, a bad value, a missing required part.
ServerConfig readServerConfig(const std::string& path, const std::string& base,
                              const std::string& displayName = "conf/server.xml");

/// The configuration used when conf/server.xml does not exist: one Connector on
/// 127.0.0.1:8080, Host "localhost" with appBase "webapps".
ServerConfig defaultServerConfig(const std::string& base);

} // namespace serval::config
