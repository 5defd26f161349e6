#pragma once

#include "registry/Database.h"

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::registry {

enum class DeploymentState
{
    Deploying,
    Running,
    Stopped,
    Failed
};

std::string_view deploymentStateName(DeploymentState state) noexcept;
/// Parses "deploying", "running", "stopped", "failed"; nullopt otherwise.
std::optional<DeploymentState> parseDeploymentState(std::string_view text) noexcept;

/// One deployed (or failed, or stopped) version of one context on one host.
/// Key: (host, path, version). Times are milliseconds since the Unix epoch.
struct Deployment
{
    std::string host;
    std::string path;      ///< "" for ROOT, "/shop"
    std::string version;   ///< "" when unversioned ("shop##2" -> "2")
    std::string versionId; ///< the directory work/<host>/<base>/<versionId>/ it runs from
    std::string bundle;    ///< file name in appBase ("shop##2.sar", or "docs" for a directory)
    std::string checksum;  ///< SHA-256 hex of the bundle ("" for exploded directories)
    DeploymentState state = DeploymentState::Deploying;
    DeploymentState desiredState = DeploymentState::Running; ///< Running or Stopped (set by the admin)
    int64_t deployedAt = 0;
    int64_t updatedAt = 0;
    std::string failureReason; ///< the last failed deploy of this key ("" if none since)
    int64_t failedAt = 0;
    bool libraryStayedMapped = false; ///< dlclose() of an earlier version left its library mapped
};

struct DeployEvent
{
    int64_t time = 0;
    std::string host;
    std::string path;
    std::string version;
    std::string event;  ///< "deployed", "undeployed", "failed", "started", "stopped", "reloaded" ...
    std::string detail; ///< one line
};

/// One admin action (written by the manager).
struct AuditEntry
{
    int64_t time = 0;
    std::string user;
    std::string address;
    std::string action; ///< "deploy", "undeploy", "login" ...
    std::string target; ///< "/shop" on host "localhost" ...
    std::string result; ///< "ok" or the one-line reason
};

/// One crash (or hang) of an isolated app's worker process, as the supervisor recorded it.
struct CrashRecord
{
    std::string crashId; ///< "c-..." : in the 502 page and X-Serval-Crash-Id
    int64_t time = 0;
    std::string host;
    std::string path;
    std::string version;
    int64_t pid = 0;
    std::string cause;     ///< "crash" (the worker died) or "timeout" (a request hung: its stack)
    std::string signal;    ///< "SIGSEGV", "SIGABRT", "exit status 3", "SIGKILL"
    std::string address;   ///< the fault address ("0x0"), "" if none
    std::string request;   ///< the request line the faulting thread served, "" if none
    std::string summary;   ///< one line: "SIGSEGV at 0x0 in f() (libshop.so) while serving GET /shop/x"
    std::string backtrace; ///< one frame per line (function, file:line where known, module+offset)
    std::string requests;  ///< every request in flight in the worker, one line each
    std::string function;  ///< the faulting (or stuck) function the summary names, "" if unknown
};

/// The registry: `data/serval.db`. Deployments and their history, the admin audit trail.
///
/// SQLite with WAL and synchronous=FULL: a row written here survives a crash right after
/// (the deployer's commit order relies on it). The schema is migrated by PRAGMA user_version
/// at open. Thread-safe: one mutex serialises every call (control-plane traffic only: the
/// deployer's thread and admin requests; never the request path). Errors throw DatabaseError.
class Registry
{
public:
    static constexpr int kSchemaVersion = 3;
    /// Crash records kept per context (older ones are deleted as new ones arrive).
    static constexpr int kCrashesKept = 200;

    /// Opens or creates the database file and migrates it. Throws DatabaseError.
    explicit Registry(const std::string& path);

    /// Inserts or replaces the row for (host, path, version); updatedAt set to now if 0.
    void putDeployment(const Deployment& deployment);
    std::optional<Deployment> findDeployment(std::string_view host, std::string_view path,
                                             std::string_view version) const;
    /// Every row, or those of one host; ordered by host, path, version.
    std::vector<Deployment> deployments(std::string_view host = {}) const;
    /// Updates state (and, if `reason` is not empty, the failure reason and time).
    void setState(std::string_view host, std::string_view path, std::string_view version,
                  DeploymentState state, std::string_view reason = {});
    /// Records a failed deploy on an existing row without changing its state (the old version
    /// keeps serving). Returns false if there is no such row.
    bool recordFailure(std::string_view host, std::string_view path, std::string_view version,
                       std::string_view reason);
    void setDesiredState(std::string_view host, std::string_view path, std::string_view version,
                         DeploymentState desired);
    void removeDeployment(std::string_view host, std::string_view path, std::string_view version);

    void addEvent(std::string_view host, std::string_view path, std::string_view version,
                  std::string_view event, std::string_view detail);
    /// Newest first; `path` empty = all contexts of all hosts.
    std::vector<DeployEvent> history(std::string_view host = {}, std::string_view path = {},
                                     size_t limit = 100) const;

    void addAudit(const AuditEntry& entry);
    /// Newest first.
    std::vector<AuditEntry> audit(size_t limit = 100) const;

    /// Stores a crash record (and trims that context's to kCrashesKept).
    void addCrash(const CrashRecord& crash);
    /// Newest first; empty host/path: all.
    std::vector<CrashRecord> crashes(std::string_view host = {}, std::string_view path = {},
                                     size_t limit = 50) const;
    std::optional<CrashRecord> findCrash(std::string_view crashId) const;

    /// PRAGMA integrity_check: true if "ok"; otherwise `detail` holds SQLite's findings.
    bool integrityCheck(std::string& detail) const;
    int schemaVersion() const;
    const std::string& path() const noexcept { return _db.path(); }

    static int64_t nowMillis();

private:
    void migrate();
    static Deployment readDeployment(const Statement& st);
    static CrashRecord readCrash(const Statement& st);

    mutable std::mutex _mutex;
    mutable Database _db;
};

} // namespace serval::registry
