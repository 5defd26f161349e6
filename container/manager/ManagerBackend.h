#pragma once

#include "core/RemoteApplication.h"

// What the manager needs from the rest of the container, as one small interface: the manager
// (page, JSON API, metrics) depends on this, not on the Deployer, Engine or registry classes
// directly. container/startup wires an implementation over the Deployer, the registry and the
// connector statistics; the unit tests use an in-memory one.

#include "manager/SessionDirectory.h"
#include "util/FileDescriptor.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace serval::manager {

/// One deployed context (a row of the Applications table).
struct AppInfo
{
    std::string host;
    std::string path; ///< "/" for ROOT, "/shop"
    std::string version;
    std::string displayName;
    std::string state; ///< "running", "stopped", "failed", "deploying"
    uint64_t requests = 0;
    uint64_t errors5xx = 0;
    double p50Ms = 0;
    double p99Ms = 0;
    std::string deployedAt; ///< ISO 8601 UTC, "" if never
    std::string checksum;   ///< bundle SHA-256, "" for exploded directories
    std::string failure;    ///< last failure's one-line reason, "" if none
    /// Where the app's code runs: "process" (worker processes, issue 11) or "none" (in the
    /// server). For "process", `processes` is what its supervisor reports.
    std::string mode = "none";
    std::optional<core::RemoteStatus> processes;
    int64_t sessions = -1; ///< live HttpSessions; -1 when the store cannot say
    uint32_t running = 0;  ///< requests on its share of the worker pool now (core::ContextLane)
    uint32_t queued = 0;   ///< requests waiting for that share
    uint64_t rejected = 0; ///< requests refused with 503 because share and queue were full
};

struct ComponentInfo
{
    std::string name;
    std::string className;
    std::vector<std::string> mappings; ///< url patterns (servlets, filters) or servlet names
};

struct HistoryEntry
{
    std::string time; ///< ISO 8601 UTC
    std::string host;
    std::string path;
    std::string version;
    std::string event;  ///< "deployed", "undeployed", "started", "stopped", "failed", ...
    std::string detail; ///< the one-line reason for failures
};

struct AppDetail
{
    AppInfo info;
    std::vector<ComponentInfo> servlets;
    std::vector<ComponentInfo> filters;
    std::vector<std::string> listeners;
    std::map<std::string, std::string> contextParams;
    uint64_t fileCount = 0;
    uint64_t fileBytes = 0;
    std::string libraries; ///< AppModule::describe(), e.g. "libshop.so (ABI 1.0)"
    bool libraryStayedMapped = false;
    std::vector<HistoryEntry> recentFailures;
    std::vector<HistoryEntry> history;
};

/// One crash (or hang) of an isolated app's worker process, from the registry (issue 11): the
/// admin page's crash list, GET /api/crashes and `servalctl crashes`.
struct CrashInfo
{
    std::string crashId; ///< "c...": the 502 page and X-Serval-Crash-Id name it
    std::string time;    ///< ISO 8601 UTC
    std::string host;
    std::string path; ///< "/" for ROOT
    std::string version;
    int64_t pid = 0;
    std::string cause;     ///< "crash" or "timeout" (a hung request's stack)
    std::string signal;    ///< "SIGSEGV", "exit status 3", ...
    std::string address;   ///< the fault address, "" if none
    std::string function;  ///< the faulting (or stuck) function, "" if unknown
    std::string request;   ///< the request line the faulting thread served, "" if none
    std::string summary;   ///< one line
    std::string backtrace; ///< one frame per line
    std::string requests;  ///< every request in flight in the worker, one line each
};

/// The result of a state-changing action: ok, or an HTTP status with the same one-line reason
/// the log and servalctl show.
struct ActionResult
{
    bool ok = false;
    int status = 200;           ///< HTTP status for the API: 200, 400, 404, 409, 422, 500
    std::string error;          ///< short code: "not_found", "deploy_failed", ...
    std::string detail;         ///< one line a person can act on
    std::optional<AppInfo> app; ///< the app after the action, when it exists
};

/// One TLS certificate of a connector, as the admin page, the status JSON and /metrics show it
/// (plain data: startup copies it from the connector's TlsContext; the manager knows no TLS).
struct CertificateStatus
{
    std::string where; ///< "conf/server.xml:12"
    std::string certificateFile;
    std::vector<std::string> hostNames; ///< SNI names; empty = the default certificate
    std::string subject;
    std::vector<std::string> subjectAltNames;
    std::string keyType;
    int64_t notAfter = 0;  ///< Unix seconds
    std::string lastError; ///< the last reload that was refused ("" = none)
};

struct ConnectorInfo
{
    std::string address;
    uint16_t port = 0;
    uint64_t openConnections = 0;
    uint64_t requests = 0; ///< total since start; the page derives requests/s
    uint64_t bytesIn = 0;
    uint64_t bytesOut = 0;
    bool tls = false;
    std::vector<CertificateStatus> certificates;
};

struct ServerStatus
{
    std::string version;
    double uptimeSeconds = 0;
    std::vector<ConnectorInfo> connectors;
    unsigned workerThreads = 0;
    unsigned workersBusy = 0;
    uint64_t workQueued = 0;
    uint64_t deploys = 0;
    uint64_t failedDeploys = 0;
};

/// One data source of a deployed app (pool and query figures, for the page and /metrics).
struct DataSourceInfo
{
    std::string host;
    std::string path; ///< "/" for ROOT, "/shop"
    std::string name; ///< the res-ref-name: "main"
    std::string type; ///< "sqlite" or "postgresql"
    std::string url;  ///< the SQLite file, or the PostgreSQL URL (never a password)
    unsigned maxConnections = 0;
    unsigned open = 0;
    unsigned inUse = 0;
    unsigned waiting = 0;
    uint64_t acquires = 0;
    uint64_t waits = 0;    ///< acquires that found no free connection and waited
    uint64_t timeouts = 0; ///< of those, the ones that gave up (the app answered 503)
    uint64_t connectFailures = 0;
    uint64_t errors = 0; ///< statements that failed
    uint64_t queries = 0;
    double p50Ms = 0;
    double p99Ms = 0;
    std::vector<uint64_t> latencyBuckets; ///< per util::LatencyHistogram bucket, not cumulative
};

/// One audit row: who did what, when, from where, with what result.
struct AuditEntry
{
    std::string time; ///< ISO 8601 UTC; filled by the backend if empty
    std::string user;
    std::string action; ///< "login", "deploy", "stop", "token.create", ...
    std::string target; ///< "localhost/shop", a token name, ...
    std::string address;
    std::string result; ///< "ok" or the failure reason
};

/// THREADS: every method may be called from any worker thread, concurrently; implementations
/// synchronise. Actions may block (deploys run to completion before returning).
class ManagerBackend
{
public:
    virtual ~ManagerBackend() = default;

    virtual std::vector<AppInfo> apps() = 0;
    virtual std::optional<AppDetail> app(const std::string& host, const std::string& path) = 0;

    /// Deploys `bundle` (the uploaded archive bytes) as context `path` on `host`. `path` empty:
    /// derive it from `fileName` as Tomcat does. An existing context is refused (409) unless
    /// `update`.
    virtual ActionResult deployUpload(const std::string& host, const std::string& path,
                                      const std::string& fileName, const std::string& bundle,
                                      bool update) = 0;
    /// Deploys a bundle or directory already on the server's file system: `source` is open on
    /// `serverPath` (the manager opened it within its deployRoots, following no link); a bundle is
    /// copied up to `maxBytes`, a directory by the Host's bundle caps.
    virtual ActionResult deployPath(const std::string& host, const std::string& path,
                                    const std::string& serverPath, util::FileDescriptor source,
                                    uint64_t maxBytes, bool update) = 0;
    /// deployUpload() for an upload staged on disk (StagedUpload): `bundle` is open on it at its
    /// start; copied up to `maxBytes`.
    virtual ActionResult deployStaged(const std::string& host, const std::string& path,
                                      const std::string& fileName, util::FileDescriptor bundle,
                                      uint64_t maxBytes, bool update) = 0;
    virtual ActionResult undeploy(const std::string& host, const std::string& path) = 0;
    virtual ActionResult start(const std::string& host, const std::string& path) = 0;
    virtual ActionResult stop(const std::string& host, const std::string& path) = 0;
    virtual ActionResult reload(const std::string& host, const std::string& path) = 0;
    /// Replaces an isolated app's worker processes gracefully (each new worker is ready before
    /// the old one drains) or, when it is quarantined, lifts the quarantine. 409 for an app that
    /// runs in the server or is not running.
    virtual ActionResult restartProcesses(const std::string& host, const std::string& path) = 0;
    /// An app's crash records, newest first, at most `limit`.
    virtual std::vector<CrashInfo> crashes(const std::string& host, const std::string& path,
                                           size_t limit) = 0;
    /// One crash record by its id (any app), with its backtrace.
    virtual std::optional<CrashInfo> crash(const std::string& crashId) = 0;

    /// Newest first; empty host/path: all.
    virtual std::vector<HistoryEntry> history(const std::string& host, const std::string& path,
                                              size_t limit) = 0;

    virtual void audit(const AuditEntry& entry) = 0;
    /// Newest first.
    virtual std::vector<AuditEntry> auditLog(size_t limit) = 0;

    virtual ServerStatus status() = 0;
    /// The default host's name (where the manager lives and where host-less requests act).
    virtual std::string defaultHost() = 0;
    /// Extra Prometheus text (request counters, histograms) appended to the manager's own.
    virtual std::string metrics() { return {}; }

    /// The open data sources; empty host: every host.
    virtual std::vector<DataSourceInfo> dataSources(const std::string& host)
    {
        (void)host;
        return {};
    }
    /// A consistent copy of the embedded (SQLite) data source `name` of the app at `path` on
    /// `host`, taken while the app keeps serving: `copy` is an open, already unlinked file holding
    /// it, read from offset 0 (the response streams it; the copy is never held in memory). 404 for
    /// no such data source, 422 for one that is not embedded (PostgreSQL: pg_dump), 500 for a
    /// failed copy; the detail is one line.
    virtual ActionResult backup(const std::string& host, const std::string& path, const std::string& name,
                                util::FileDescriptor& copy)
    {
        (void)host, (void)path, (void)name, (void)copy;
        return ActionResult{false, 503, "unavailable", "this server has no data sources", std::nullopt};
    }
    /// The application's HttpSessions (not the admin page's own login sessions); nullptr when
    /// this backend has none to show.
    virtual SessionDirectory* sessions() noexcept { return nullptr; }
};

} // namespace serval::manager
