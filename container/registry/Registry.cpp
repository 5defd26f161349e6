#include "registry/Registry.h"

#include <chrono>
#include <iterator>

namespace serval::registry {

namespace {

/// Each entry migrates from user_version == index to index + 1. Append only.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE deployments (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    version_id TEXT NOT NULL DEFAULT '',
    bundle TEXT NOT NULL,
    checksum TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('deploying', 'running', 'stopped', 'failed')),
    desired_state TEXT NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'stopped')),
    deployed_at INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    failure_reason TEXT NOT NULL DEFAULT '',
    failed_at INTEGER NOT NULL DEFAULT 0,
    library_stayed_mapped INTEGER NOT NULL DEFAULT 0,
    UNIQUE (host, path, version)
);
CREATE TABLE deploy_events (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deploy_events_by_context ON deploy_events (host, path, time);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    user TEXT NOT NULL,
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit (time);
)sql",
    R"sql(
CREATE TABLE crashes (
    id INTEGER PRIMARY KEY,
    crash_id TEXT NOT NULL UNIQUE,
    time INTEGER NOT NULL,
    host TEXT NOT NULL,
    path TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0,
    cause TEXT NOT NULL,
    signal TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    request TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL,
    backtrace TEXT NOT NULL DEFAULT '',
    requests TEXT NOT NULL DEFAULT ''
);
CREATE INDEX crashes_by_context ON crashes (host, path, time);
)sql",
    R"sql(
ALTER TABLE crashes ADD COLUMN function TEXT NOT NULL DEFAULT '';
)sql",
};

constexpr const char* kCrashColumns = "crash_id, time, host, path, version, pid, cause, signal, address, "
                                      "request, summary, backtrace, requests, "
                                      "function";

constexpr const char* kDeploymentColumns =
    "host, path, version, version_id, bundle, checksum, state, desired_state, deployed_at, updated_at, "
    "failure_reason, failed_at, library_stayed_mapped";

} // namespace

std::string_view deploymentStateName(DeploymentState state) noexcept
{
    switch (state) {
    case DeploymentState::Deploying:
        return "deploying";
    case DeploymentState::Running:
        return "running";
    case DeploymentState::Stopped:
        return "stopped";
    case DeploymentState::Failed:
        return "failed";
    }
    return "failed";
}

std::optional<DeploymentState> parseDeploymentState(std::string_view text) noexcept
{
    if (text == "deploying") return DeploymentState::Deploying;
    if (text == "running") return DeploymentState::Running;
    if (text == "stopped") return DeploymentState::Stopped;
    if (text == "failed") return DeploymentState::Failed;
    return std::nullopt;
}

int64_t Registry::nowMillis()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Registry::Registry(const std::string& path) : _db(path)
{
    std::lock_guard<std::mutex> lock(_mutex);
    // WAL: readers (the admin page) never block the deployer's writes. synchronous=FULL: a
    // committed row is on disk before the deployer takes its next step.
    _db.exec("PRAGMA journal_mode=WAL");
    _db.exec("PRAGMA synchronous=FULL");
    _db.exec("PRAGMA foreign_keys=ON");
    migrate();
}

void Registry::migrate()
{
    int64_t version = _db.queryInt("PRAGMA user_version");
    constexpr int64_t known = static_cast<int64_t>(std::size(kMigrations));
    if (version > known) {
        throw DatabaseError("registry " + _db.path() + " has schema version " + std::to_string(version) +
                            ", newer than this serval knows (" + std::to_string(known) +
                            "); run the newer serval or restore a backup of data/");
    }
    for (int64_t v = version; v < known; ++v) {
        Transaction tx(_db);
        _db.exec(kMigrations[v]);
        _db.exec("PRAGMA user_version = " + std::to_string(v + 1));
        tx.commit();
    }
}

int Registry::schemaVersion() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return static_cast<int>(_db.queryInt("PRAGMA user_version"));
}

Deployment Registry::readDeployment(const Statement& st)
{
    Deployment d;
    d.host = st.textAt(0);
    d.path = st.textAt(1);
    d.version = st.textAt(2);
    d.versionId = st.textAt(3);
    d.bundle = st.textAt(4);
    d.checksum = st.textAt(5);
    d.state = parseDeploymentState(st.textAt(6)).value_or(DeploymentState::Failed);
    d.desiredState = parseDeploymentState(st.textAt(7)).value_or(DeploymentState::Running);
    d.deployedAt = st.int64At(8);
    d.updatedAt = st.int64At(9);
    d.failureReason = st.textAt(10);
    d.failedAt = st.int64At(11);
    d.libraryStayedMapped = st.int64At(12) != 0;
    return d;
}

void Registry::putDeployment(const Deployment& d)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(
        _db, std::string("INSERT INTO deployments (") + kDeploymentColumns +
                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
                 "ON CONFLICT (host, path, version) DO UPDATE SET version_id = excluded.version_id, "
                 "bundle = excluded.bundle, checksum = excluded.checksum, state = excluded.state, "
                 "desired_state = excluded.desired_state, deployed_at = excluded.deployed_at, "
                 "updated_at = excluded.updated_at, failure_reason = excluded.failure_reason, "
                 "failed_at = excluded.failed_at, library_stayed_mapped = excluded.library_stayed_mapped");
    st.bind(1, d.host).bind(2, d.path).bind(3, d.version).bind(4, d.versionId).bind(5, d.bundle);
    st.bind(6, d.checksum).bind(7, deploymentStateName(d.state));
    st.bind(8, d.desiredState == DeploymentState::Stopped ? std::string_view("stopped") : "running");
    st.bind(9, d.deployedAt).bind(10, d.updatedAt != 0 ? d.updatedAt : nowMillis());
    st.bind(11, d.failureReason).bind(12, d.failedAt).bind(13, int64_t(d.libraryStayedMapped ? 1 : 0));
    st.run();
}

std::optional<Deployment> Registry::findDeployment(std::string_view host, std::string_view path,
                                                   std::string_view version) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, std::string("SELECT ") + kDeploymentColumns +
                          " FROM deployments WHERE host = ? AND path = ? AND version = ?");
    st.bind(1, host).bind(2, path).bind(3, version);
    if (!st.step()) return std::nullopt;
    return readDeployment(st);
}

std::vector<Deployment> Registry::deployments(std::string_view host) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, std::string("SELECT ") + kDeploymentColumns +
                          " FROM deployments WHERE ?1 = '' OR host = ?1 ORDER BY host, path, version");
    st.bind(1, host);
    std::vector<Deployment> out;
    while (st.step())
        out.push_back(readDeployment(st));
    return out;
}

void Registry::setState(std::string_view host, std::string_view path, std::string_view version,
                        DeploymentState state, std::string_view reason)
{
    std::lock_guard<std::mutex> lock(_mutex);
    int64_t now = nowMillis();
    Statement st(_db, "UPDATE deployments SET state = ?1, updated_at = ?2, "
                      "failure_reason = CASE WHEN ?3 = '' THEN failure_reason ELSE ?3 END, "
                      "failed_at = CASE WHEN ?3 = '' THEN failed_at ELSE ?2 END "
                      "WHERE host = ?4 AND path = ?5 AND version = ?6");
    st.bind(1, deploymentStateName(state))
        .bind(2, now)
        .bind(3, reason)
        .bind(4, host)
        .bind(5, path)
        .bind(6, version);
    st.run();
}

bool Registry::recordFailure(std::string_view host, std::string_view path, std::string_view version,
                             std::string_view reason)
{
    std::lock_guard<std::mutex> lock(_mutex);
    int64_t now = nowMillis();
    Statement st(_db, "UPDATE deployments SET failure_reason = ?1, failed_at = ?2, updated_at = ?2 "
                      "WHERE host = ?3 AND path = ?4 AND version = ?5");
    st.bind(1, reason).bind(2, now).bind(3, host).bind(4, path).bind(5, version);
    st.run();
    return _db.changes() > 0;
}

void Registry::setDesiredState(std::string_view host, std::string_view path, std::string_view version,
                               DeploymentState desired)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, "UPDATE deployments SET desired_state = ?1, updated_at = ?2 "
                      "WHERE host = ?3 AND path = ?4 AND version = ?5");
    st.bind(1, desired == DeploymentState::Stopped ? std::string_view("stopped") : "running");
    st.bind(2, nowMillis()).bind(3, host).bind(4, path).bind(5, version);
    st.run();
}

void Registry::removeDeployment(std::string_view host, std::string_view path, std::string_view version)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, "DELETE FROM deployments WHERE host = ? AND path = ? AND version = ?");
    st.bind(1, host).bind(2, path).bind(3, version);
    st.run();
}

void Registry::addEvent(std::string_view host, std::string_view path, std::string_view version,
                        std::string_view event, std::string_view detail)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db,
                 "INSERT INTO deploy_events (time, host, path, version, event, detail) VALUES (?,?,?,?,?,?)");
    st.bind(1, nowMillis()).bind(2, host).bind(3, path).bind(4, version).bind(5, event).bind(6, detail);
    st.run();
}

std::vector<DeployEvent> Registry::history(std::string_view host, std::string_view path, size_t limit) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, "SELECT time, host, path, version, event, detail FROM deploy_events "
                      "WHERE (?1 = '' OR host = ?1) AND (?2 = '' OR path = ?2) ORDER BY time DESC, id DESC "
                      "LIMIT ?3");
    st.bind(1, host).bind(2, path).bind(3, static_cast<int64_t>(limit));
    std::vector<DeployEvent> out;
    while (st.step()) {
        out.push_back({st.int64At(0), st.textAt(1), st.textAt(2), st.textAt(3), st.textAt(4), st.textAt(5)});
    }
    return out;
}

void Registry::addAudit(const AuditEntry& e)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, "INSERT INTO audit (time, user, address, action, target, result) VALUES (?,?,?,?,?,?)");
    st.bind(1, e.time != 0 ? e.time : nowMillis()).bind(2, e.user).bind(3, e.address).bind(4, e.action);
    st.bind(5, e.target).bind(6, e.result);
    st.run();
}

std::vector<AuditEntry> Registry::audit(size_t limit) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db,
                 "SELECT time, user, address, action, target, result FROM audit ORDER BY time DESC, id DESC "
                 "LIMIT ?");
    st.bind(1, static_cast<int64_t>(limit));
    std::vector<AuditEntry> out;
    while (st.step()) {
        out.push_back({st.int64At(0), st.textAt(1), st.textAt(2), st.textAt(3), st.textAt(4), st.textAt(5)});
    }
    return out;
}

CrashRecord Registry::readCrash(const Statement& st)
{
    CrashRecord c;
    c.crashId = st.textAt(0);
    c.time = st.int64At(1);
    c.host = st.textAt(2);
    c.path = st.textAt(3);
    c.version = st.textAt(4);
    c.pid = st.int64At(5);
    c.cause = st.textAt(6);
    c.signal = st.textAt(7);
    c.address = st.textAt(8);
    c.request = st.textAt(9);
    c.summary = st.textAt(10);
    c.backtrace = st.textAt(11);
    c.requests = st.textAt(12);
    c.function = st.textAt(13);
    return c;
}

void Registry::addCrash(const CrashRecord& c)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Transaction tx(_db);
    Statement st(_db, std::string("INSERT INTO crashes (") + kCrashColumns +
                          ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    st.bind(1, c.crashId).bind(2, c.time != 0 ? c.time : nowMillis()).bind(3, c.host).bind(4, c.path);
    st.bind(5, c.version).bind(6, c.pid).bind(7, c.cause).bind(8, c.signal).bind(9, c.address);
    st.bind(10, c.request)
        .bind(11, c.summary)
        .bind(12, c.backtrace)
        .bind(13, c.requests)
        .bind(14, c.function);
    st.run();
    Statement trim(
        _db, "DELETE FROM crashes WHERE host = ?1 AND path = ?2 AND id NOT IN "
             "(SELECT id FROM crashes WHERE host = ?1 AND path = ?2 ORDER BY time DESC, id DESC LIMIT ?3)");
    trim.bind(1, c.host).bind(2, c.path).bind(3, static_cast<int64_t>(kCrashesKept));
    trim.run();
    tx.commit();
}

std::vector<CrashRecord> Registry::crashes(std::string_view host, std::string_view path, size_t limit) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, std::string("SELECT ") + kCrashColumns +
                          " FROM crashes WHERE (?1 = '' OR host = ?1) AND (?2 = '' OR path = ?2) "
                          "ORDER BY time DESC, id DESC LIMIT ?3");
    st.bind(1, host).bind(2, path).bind(3, static_cast<int64_t>(limit));
    std::vector<CrashRecord> out;
    while (st.step())
        out.push_back(readCrash(st));
    return out;
}

std::optional<CrashRecord> Registry::findCrash(std::string_view crashId) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, std::string("SELECT ") + kCrashColumns + " FROM crashes WHERE crash_id = ?");
    st.bind(1, crashId);
    if (!st.step()) return std::nullopt;
    return readCrash(st);
}

bool Registry::integrityCheck(std::string& detail) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement st(_db, "PRAGMA integrity_check");
    detail.clear();
    while (st.step()) {
        if (!detail.empty()) detail += "; ";
        detail += st.textAt(0);
    }
    return detail == "ok";
}

} // namespace serval::registry
