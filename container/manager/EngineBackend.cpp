#include "manager/EngineBackend.h"

#include "bundle/ContextName.h"
#include "core/Context.h"
#include "core/Engine.h"
#include "core/Host.h"
#include "core/Wrapper.h"
#include "datasource/DataSourceRegistry.h"
#include "deployer/Deployer.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::manager {

namespace {

constexpr size_t MaxMemoryAudit = 1000;

std::string contextKey(const std::string& path)
{
    return path == "/" ? std::string() : path; // core stores ROOT as ""
}

ActionResult failure(int status, std::string code, std::string detail)
{
    return ActionResult{false, status, std::move(code), std::move(detail), std::nullopt};
}

/// "/shop" for the context named "shop" (the registry keys data sources by context name).
std::string pathOfApp(const std::string& app)
{
    auto name = bundle::ContextName::fromFileName(app);
    return name ? name->displayPath() : "/" + app;
}

/// Prometheus histogram lines for `buckets` (per bucket, as util::LatencyHistogram keeps them).
template <typename Buckets>
void histogram(std::ostream& out, const std::string& metric, const std::string& labels,
               const Buckets& buckets)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i < buckets.size(); ++i) {
        cumulative += buckets[i];
        std::string le =
            i < util::LatencyHistogram::kBoundsMicros.size()
                ? std::to_string(static_cast<double>(util::LatencyHistogram::kBoundsMicros[i]) / 1e6)
                : std::string("+Inf");
        out << metric << "_bucket{" << labels << ",le=\"" << le << "\"} " << cumulative << "\n";
    }
    out << metric << "_count{" << labels << "} " << cumulative << "\n";
}

std::string label(std::string_view value)
{
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out.push_back('\\');
        out.push_back(c == '\n' ? ' ' : c);
    }
    return out;
}

std::string isoFromMillis(int64_t millis)
{
    if (millis <= 0) return {};
    std::time_t t = static_cast<std::time_t>(millis / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

std::string displayPath(const std::string& path)
{
    return path.empty() ? std::string("/") : path;
}

/// "/shop" -> "shop.sar", "/" -> "ROOT.sar", "/a/b" -> "a#b.sar" (Tomcat's naming, reversed);
/// without ".sar" for an exploded directory.
std::string bundleNameFor(const std::string& path, bool directory = false)
{
    std::string name = path == "/" || path.empty() ? std::string("ROOT") : path.substr(1);
    for (char& c : name) {
        if (c == '/') c = '#';
    }
    return directory ? name : name + ".sar";
}

/// The context path the Deployer gives a bundle or directory name ("shop##2.sar" -> "/shop"),
/// by its own rules; "" when the name is not deployable (the Deployer's refusal says why).
std::string displayPathOf(const std::string& name)
{
    auto parsed = bundle::ContextName::fromFileName(name);
    return parsed ? parsed->displayPath() : std::string();
}

/// A registry crash row as the manager shows it.
CrashInfo crashInfo(const registry::CrashRecord& c)
{
    return CrashInfo{c.crashId,   isoFromMillis(c.time),
                     c.host,      displayPath(c.path),
                     c.version,   c.pid,
                     c.cause,     c.signal,
                     c.address,   c.function,
                     c.request,   c.summary,
                     c.backtrace, c.requests};
}

} // namespace

std::string isoNow()
{
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

EngineBackend::EngineBackend(core::Engine& engine, std::string version)
    : _engine(engine), _version(std::move(version)), _started(std::chrono::steady_clock::now())
{}

std::string EngineBackend::stateName(const core::Context& context)
{
    switch (context.state()) {
    case core::LifecycleState::Started:
        return "running";
    case core::LifecycleState::New:
    case core::LifecycleState::Starting:
        return "deploying";
    case core::LifecycleState::Failed:
        return "failed";
    case core::LifecycleState::Stopping:
    case core::LifecycleState::Stopped:
        return "stopped";
    }
    return "stopped";
}

AppInfo EngineBackend::info(const std::string& host, const core::Context& context)
{
    AppInfo app;
    app.host = host;
    app.path = context.displayPath();
    app.version = context.version();
    app.displayName = context.displayName();
    app.state = stateName(context);
    auto stats = context.stats();
    app.requests = stats.requests;
    app.errors5xx = stats.errors5xx;
    app.p50Ms = static_cast<double>(stats.p50Micros) / 1000.0;
    app.p99Ms = static_cast<double>(stats.p99Micros) / 1000.0;
    app.running = stats.laneRunning;
    app.queued = stats.laneQueued;
    app.rejected = stats.laneRejected;
    if (context.state() == core::LifecycleState::Failed) app.failure = context.failureReason();
    if (context.isolated()) {
        app.mode = "process";
        auto remote = context.state() == core::LifecycleState::Started ? context.remote() : nullptr;
        if (remote) app.processes = remote->status();
    }
    return app;
}

void EngineBackend::addContextFacts(AppInfo& app)
{
    auto host = _engine.findHost(app.host);
    auto context = host ? host->findContext(contextKey(app.path)) : nullptr;
    if (!context || context->version() != app.version) return;
    AppInfo live = info(app.host, *context);
    app.displayName = live.displayName;
    app.requests = live.requests;
    app.errors5xx = live.errors5xx;
    app.p50Ms = live.p50Ms;
    app.p99Ms = live.p99Ms;
    app.mode = live.mode;
    app.processes = std::move(live.processes);
    app.running = live.running;
    app.queued = live.queued;
    app.rejected = live.rejected;
}

std::vector<AppInfo> EngineBackend::apps()
{
    std::vector<AppInfo> out;
    std::set<std::pair<std::string, std::string>> seen;
    if (_deployer) {
        for (const auto& row : _deployer->list()) {
            AppInfo app;
            app.host = row.host;
            app.path = displayPath(row.path);
            app.version = row.version;
            app.state = std::string(registry::deploymentStateName(row.state));
            app.deployedAt = isoFromMillis(row.deployedAt);
            app.checksum = row.checksum;
            app.failure = row.failureReason;
            addContextFacts(app);
            seen.emplace(app.host, app.path);
            out.push_back(std::move(app));
        }
    }
    for (const auto& host : _engine.hosts()) {
        for (const auto& context : host->contexts()) {
            if (host->name() == _engine.defaultHostName() && _reserved.count(context->displayPath()))
                continue;
            if (seen.count({host->name(), context->displayPath()})) continue;
            out.push_back(info(host->name(), *context));
        }
    }
    if (_sessions) {
        // When the stores do not answer, every count stays -1 ("–" on the page).
        if (auto counts = _sessions->activeCounts()) {
            for (AppInfo& app : out) {
                auto it = counts->find({app.host, app.path});
                app.sessions = it == counts->end() ? 0 : static_cast<int64_t>(it->second);
            }
        }
    }
    return out;
}

std::optional<AppInfo> EngineBackend::find(const std::string& host, const std::string& path)
{
    std::optional<AppInfo> found;
    for (auto& app : apps()) {
        if (app.host == host && app.path == path) found = app; // the last (newest) version wins
    }
    return found;
}

std::optional<AppDetail> EngineBackend::app(const std::string& hostName, const std::string& path)
{
    auto host = _engine.findHost(hostName);
    if (!host) return std::nullopt;
    if (host->name() == _engine.defaultHostName() && _reserved.count(path)) return std::nullopt;
    auto listed = find(host->name(), path);
    auto context = host->findContext(contextKey(path));
    if (!listed) return std::nullopt;
    AppDetail detail;
    detail.info = *listed;
    if (!context) {
        // Known to the registry only (a deploy that failed before it was ever routed).
        detail.history = history(host->name(), path, 50);
        for (const auto& h : detail.history) {
            if (h.event == "failed" && detail.recentFailures.size() < 10) detail.recentFailures.push_back(h);
        }
        return detail;
    }
    const auto& web = context->webXml();
    for (const auto& servlet : web.servlets) {
        ComponentInfo c{servlet.name, servlet.className, {}};
        for (const auto& mapping : web.servletMappings) {
            if (mapping.servletName == servlet.name) {
                c.mappings.insert(c.mappings.end(), mapping.urlPatterns.begin(), mapping.urlPatterns.end());
            }
        }
        detail.servlets.push_back(std::move(c));
    }
    for (const auto& filter : web.filters) {
        ComponentInfo c{filter.name, filter.className, {}};
        for (const auto& mapping : web.filterMappings) {
            if (mapping.filterName != filter.name) continue;
            c.mappings.insert(c.mappings.end(), mapping.urlPatterns.begin(), mapping.urlPatterns.end());
            for (const auto& servlet : mapping.servletNames)
                c.mappings.push_back("servlet:" + servlet);
        }
        detail.filters.push_back(std::move(c));
    }
    detail.listeners = web.listeners;
    detail.contextParams = web.contextParams;
    std::string libraries;
    for (const auto& description : context->moduleDescriptions()) {
        if (!libraries.empty()) libraries += ", ";
        libraries += description;
    }
    detail.libraries = libraries;
    detail.libraryStayedMapped = context->libraryStayedMapped();

    // Files summary: a bounded walk of the docBase.
    std::vector<std::string> pending{context->docBase()};
    uint64_t visited = 0;
    while (!pending.empty() && visited < 100000) {
        std::string dir = pending.back();
        pending.pop_back();
        DIR* handle = ::opendir(dir.c_str());
        if (!handle) continue;
        while (dirent* entry = ::readdir(handle)) {
            std::string name = entry->d_name;
            if (name == "." || name == "..") continue;
            ++visited;
            std::string full = dir + "/" + name;
            struct stat st
            {
            };
            if (::lstat(full.c_str(), &st) != 0) continue;
            if (S_ISDIR(st.st_mode)) {
                pending.push_back(full);
            } else if (S_ISREG(st.st_mode)) {
                ++detail.fileCount;
                detail.fileBytes += static_cast<uint64_t>(st.st_size);
            }
        }
        ::closedir(handle);
    }
    detail.history = history(host->name(), detail.info.path, 50);
    for (const auto& h : detail.history) {
        if (h.event == "failed" && detail.recentFailures.size() < 10) detail.recentFailures.push_back(h);
    }
    return detail;
}

std::optional<ActionResult> EngineBackend::refuseReserved(const std::string& hostName,
                                                          const std::string& path) const
{
    auto host = _engine.findHost(hostName);
    if (!host || host->name() != _engine.defaultHostName()) return std::nullopt;
    for (const std::string& reserved : _reserved) {
        if (util::isWithin(reserved, path)) {
            return failure(409, "reserved",
                           path + " belongs to the container (" + reserved +
                               " and everything below it) and cannot be deployed or changed from here");
        }
    }
    return std::nullopt;
}

std::shared_ptr<core::Context> EngineBackend::actionable(const std::string& hostName, const std::string& path,
                                                         ActionResult& result)
{
    auto host = _engine.findHost(hostName);
    if (!host) {
        result = failure(404, "not_found", "no host named " + hostName);
        return nullptr;
    }
    if (auto refused = refuseReserved(hostName, path)) {
        result = *refused;
        return nullptr;
    }
    auto context = host->findContext(contextKey(path));
    if (!context) result = failure(404, "not_found", "no application at " + host->name() + path);
    return context;
}

ActionResult EngineBackend::fromOutcome(const deployer::DeployOutcome& outcome, const std::string& host,
                                        const std::string& path)
{
    if (outcome.ok) return ActionResult{true, 200, "", outcome.message, find(host, path)};
    using Problem = deployer::DeployOutcome::Problem;
    switch (outcome.problem) {
    case Problem::NotFound:
        return failure(404, "not_found", outcome.message);
    case Problem::AlreadyDeployed:
        return failure(409, "exists", outcome.message);
    case Problem::BadRequest:
        return failure(400, "bad_request", outcome.message);
    case Problem::IoError:
        return failure(500, "io_error", outcome.message);
    case Problem::TooLarge:
        return failure(413, "too_large", outcome.message);
    case Problem::Reserved:
        return failure(409, "reserved", outcome.message);
    case Problem::None:
    case Problem::Refused:
        break;
    }
    return failure(422, "deploy_failed", outcome.message);
}

ActionResult EngineBackend::deployUpload(const std::string& host, const std::string& path,
                                         const std::string& fileName, const std::string& bundle, bool update)
{
    if (!_deployer) return failure(503, "unavailable", "deploying needs the deployer, which is not running");
    if (auto refused = refuseReserved(host, path)) return *refused;
    // The context path decides the name in appBase; without one, the uploaded file's name does.
    std::string name = path.empty() ? fileName : bundleNameFor(path);
    auto outcome = _deployer->deployBytes(host, name, bundle, update);
    return fromOutcome(outcome, host, path.empty() ? displayPathOf(name) : path);
}

ActionResult EngineBackend::deployStaged(const std::string& host, const std::string& path,
                                         const std::string& fileName, util::FileDescriptor bundle,
                                         uint64_t maxBytes, bool update)
{
    if (!_deployer) return failure(503, "unavailable", "deploying needs the deployer, which is not running");
    if (auto refused = refuseReserved(host, path)) return *refused;
    std::string name = path.empty() ? fileName : bundleNameFor(path);
    auto outcome = _deployer->deployFrom(host, std::move(bundle), "the upload", name, update, maxBytes);
    return fromOutcome(outcome, host, path.empty() ? displayPathOf(name) : path);
}

ActionResult EngineBackend::deployPath(const std::string& host, const std::string& path,
                                       const std::string& serverPath, util::FileDescriptor source,
                                       uint64_t maxBytes, bool update)
{
    if (!_deployer) return failure(503, "unavailable", "deploying needs the deployer, which is not running");
    if (auto refused = refuseReserved(host, path)) return *refused;
    struct stat st;
    bool directory = ::fstat(source.get(), &st) == 0 && S_ISDIR(st.st_mode);
    std::string fileName =
        path.empty() ? serverPath.substr(serverPath.rfind('/') + 1) : bundleNameFor(path, directory);
    auto outcome = _deployer->deployFrom(host, std::move(source), serverPath, fileName, update, maxBytes);
    return fromOutcome(outcome, host, path.empty() ? displayPathOf(fileName) : path);
}

ActionResult EngineBackend::undeploy(const std::string& host, const std::string& path)
{
    if (auto refused = refuseReserved(host, path)) return *refused;
    if (!_deployer)
        return failure(503, "unavailable", "undeploying needs the deployer, which is not running");
    auto outcome = _deployer->undeploy(host, contextKey(path));
    if (outcome.ok) return ActionResult{true, 200, "", outcome.message, std::nullopt};
    return fromOutcome(outcome, host, path);
}

ActionResult EngineBackend::start(const std::string& hostName, const std::string& path)
{
    if (_deployer) {
        if (auto refused = refuseReserved(hostName, path)) return *refused;
        return fromOutcome(_deployer->start(hostName, contextKey(path)), hostName, path);
    }
    ActionResult result;
    auto context = actionable(hostName, path, result);
    if (!context) return result;
    if (!context->isStarted() && !context->start()) {
        return failure(500, "start_failed", context->failureReason());
    }
    return ActionResult{true, 200, "", "", info(hostName, *context)};
}

ActionResult EngineBackend::stop(const std::string& hostName, const std::string& path)
{
    if (_deployer) {
        if (auto refused = refuseReserved(hostName, path)) return *refused;
        return fromOutcome(_deployer->stop(hostName, contextKey(path)), hostName, path);
    }
    ActionResult result;
    auto context = actionable(hostName, path, result);
    if (!context) return result;
    context->stop(); // drains in-flight requests first; the Engine answers 503 meanwhile
    return ActionResult{true, 200, "", "", info(hostName, *context)};
}

ActionResult EngineBackend::reload(const std::string& hostName, const std::string& path)
{
    if (_deployer) {
        if (auto refused = refuseReserved(hostName, path)) return *refused;
        return fromOutcome(_deployer->reload(hostName, contextKey(path)), hostName, path);
    }
    ActionResult result;
    auto context = actionable(hostName, path, result);
    if (!context) return result;
    context->stop();
    if (!context->start()) return failure(500, "start_failed", context->failureReason());
    return ActionResult{true, 200, "", "", info(hostName, *context)};
}

ActionResult EngineBackend::restartProcesses(const std::string& hostName, const std::string& path)
{
    ActionResult result;
    auto context = actionable(hostName, path, result);
    if (!context) return result;
    if (!context->isolated()) {
        return failure(409, "not_isolated",
                       hostName + path +
                           " runs in the server (isolation=\"none\"): it has no processes to restart");
    }
    auto remote = context->state() == core::LifecycleState::Started ? context->remote() : nullptr;
    if (remote == nullptr) return failure(409, "not_running", hostName + path + " is not running; start it");
    if (remote->status().state == "quarantined") {
        remote->liftQuarantine();
    } else {
        remote->restart();
    }
    return ActionResult{true, 200, "", "", info(hostName, *context)};
}

std::vector<CrashInfo> EngineBackend::crashes(const std::string& host, const std::string& path, size_t limit)
{
    std::vector<CrashInfo> out;
    if (!_deployer) return out;
    // As history(): the registry reads "" (ROOT's key) as "every context".
    bool root = path == "/";
    std::string key = root ? std::string() : path;
    size_t fetch = root ? registry::Registry::kCrashesKept * 20 : limit;
    for (const auto& c : _deployer->registry().crashes(host, key, fetch)) {
        if (root && !c.path.empty()) continue;
        out.push_back(crashInfo(c));
        if (out.size() >= limit) break;
    }
    return out;
}

std::optional<CrashInfo> EngineBackend::crash(const std::string& crashId)
{
    if (!_deployer) return std::nullopt;
    auto found = _deployer->registry().findCrash(crashId);
    if (!found) return std::nullopt;
    return crashInfo(*found);
}

std::vector<HistoryEntry> EngineBackend::history(const std::string& host, const std::string& path,
                                                 size_t limit)
{
    std::vector<HistoryEntry> out;
    if (!_deployer) return out;
    // The registry stores ROOT as "" and reads "" as "every context": ROOT's own history is
    // every event of the host, filtered here.
    bool root = path == "/";
    std::string key = root ? std::string() : path;
    size_t fetch = root ? std::max<size_t>(limit * 20, 1000) : limit;
    for (const auto& e : _deployer->history(host, key, fetch)) {
        if (root && !e.path.empty()) continue;
        out.push_back(
            HistoryEntry{isoFromMillis(e.time), e.host, displayPath(e.path), e.version, e.event, e.detail});
        if (out.size() >= limit) break;
    }
    return out;
}

void EngineBackend::audit(const AuditEntry& entry)
{
    if (_deployer) {
        registry::AuditEntry row;
        row.time = registry::Registry::nowMillis();
        row.user = entry.user;
        row.address = entry.address;
        row.action = entry.action;
        row.target = entry.target;
        row.result = entry.result;
        _deployer->registry().addAudit(row);
        return;
    }
    AuditEntry row = entry;
    if (row.time.empty()) row.time = isoNow();
    std::lock_guard<std::mutex> lock(_auditMutex);
    _audit.push_front(std::move(row));
    if (_audit.size() > MaxMemoryAudit) _audit.pop_back();
}

std::vector<AuditEntry> EngineBackend::auditLog(size_t limit)
{
    if (_deployer) {
        std::vector<AuditEntry> out;
        for (const auto& a : _deployer->registry().audit(limit)) {
            out.push_back(AuditEntry{isoFromMillis(a.time), a.user, a.action, a.target, a.address, a.result});
        }
        return out;
    }
    std::lock_guard<std::mutex> lock(_auditMutex);
    return {_audit.begin(), _audit.begin() + static_cast<long>(std::min(limit, _audit.size()))};
}

ServerStatus EngineBackend::status()
{
    ServerStatus status;
    status.version = _version;
    status.uptimeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - _started).count();
    if (_statusFn) _statusFn(status);
    if (_deployer) {
        for (const auto& e : _deployer->history({}, {}, 100000)) {
            if (e.event == "failed") ++status.failedDeploys;
            if (e.event == "deployed" || e.event == "redeployed" || e.event == "failed") ++status.deploys;
        }
    }
    return status;
}

std::string EngineBackend::defaultHost()
{
    return _engine.defaultHostName();
}

std::string EngineBackend::metrics()
{
    // Per-context latency histograms (cumulative buckets, seconds).
    std::ostringstream out;
    std::ostringstream requests;
    requests << "# HELP serval_requests_total Requests per application by status class.\n"
             << "# TYPE serval_requests_total counter\n";
    out << "# HELP serval_request_duration_seconds Request latency per application.\n"
        << "# TYPE serval_request_duration_seconds histogram\n";
    for (const auto& host : _engine.hosts()) {
        for (const auto& context : host->contexts()) {
            std::string labels =
                "host=\"" + label(host->name()) + "\",context=\"" + label(context->displayPath()) + "\"";
            histogram(out, "serval_request_duration_seconds", labels, context->latency().snapshot());
            auto stats = context->stats();
            for (size_t i = 0; i < 5; ++i) {
                requests << "serval_requests_total{" << labels << ",class=\"" << (i + 1) << "xx\"} "
                         << stats.byClass[i] << "\n";
            }
        }
    }
    return out.str() + requests.str() + sessionMetrics() + dataSourceMetrics();
}

std::string EngineBackend::dataSourceMetrics()
{
    std::vector<DataSourceInfo> sources = dataSources({});
    if (sources.empty()) return {};
    std::ostringstream out;
    auto labelsOf = [](const DataSourceInfo& d) {
        return "host=\"" + label(d.host) + "\",context=\"" + label(d.path) + "\",datasource=\"" +
               label(d.name) + "\"";
    };
    struct Gauge
    {
        const char* name;
        const char* type;
        const char* help;
        uint64_t (*value)(const DataSourceInfo&);
    };
    const Gauge gauges[] = {
        {"serval_datasource_max_connections", "gauge", "The pool's bound (maxConnections).",
         [](const DataSourceInfo& d) -> uint64_t { return d.maxConnections; }},
        {"serval_datasource_connections_open", "gauge", "Connections open (idle and in use).",
         [](const DataSourceInfo& d) -> uint64_t { return d.open; }},
        {"serval_datasource_connections_in_use", "gauge", "Connections lent to requests right now.",
         [](const DataSourceInfo& d) -> uint64_t { return d.inUse; }},
        {"serval_datasource_waiting", "gauge", "Requests waiting for a connection right now.",
         [](const DataSourceInfo& d) -> uint64_t { return d.waiting; }},
        {"serval_datasource_acquires_total", "counter", "Connections lent.",
         [](const DataSourceInfo& d) { return d.acquires; }},
        {"serval_datasource_waits_total", "counter", "Acquires that found no free connection and waited.",
         [](const DataSourceInfo& d) { return d.waits; }},
        {"serval_datasource_timeouts_total", "counter", "Acquires that gave up after acquireTimeout (503).",
         [](const DataSourceInfo& d) { return d.timeouts; }},
        {"serval_datasource_connect_failures_total", "counter", "Connections that could not be opened.",
         [](const DataSourceInfo& d) { return d.connectFailures; }},
        {"serval_datasource_errors_total", "counter", "Statements that failed.",
         [](const DataSourceInfo& d) { return d.errors; }},
    };
    for (const Gauge& g : gauges) {
        out << "# HELP " << g.name << " " << g.help << "\n# TYPE " << g.name << " " << g.type << "\n";
        for (const DataSourceInfo& d : sources)
            out << g.name << "{" << labelsOf(d) << "} " << g.value(d) << "\n";
    }
    out << "# HELP serval_datasource_query_duration_seconds Statement latency per data source.\n"
        << "# TYPE serval_datasource_query_duration_seconds histogram\n";
    for (const DataSourceInfo& d : sources)
        histogram(out, "serval_datasource_query_duration_seconds", labelsOf(d), d.latencyBuckets);
    return out.str();
}

std::vector<DataSourceInfo> EngineBackend::dataSources(const std::string& host)
{
    std::vector<DataSourceInfo> out;
    if (_dataSources == nullptr) return out;
    for (const datasource::DataSourceRegistry::Entry& entry : _dataSources->list()) {
        if (!host.empty() && !util::equalsIgnoreCase(entry.host, host)) continue;
        const datasource::DataSourceConfig& config = entry.source->config();
        datasource::DataSourceStatsSnapshot stats = entry.source->stats();
        DataSourceInfo d;
        d.host = entry.host;
        d.path = pathOfApp(entry.app);
        d.name = config.name;
        d.type = datasource::dataSourceTypeName(config.type);
        d.url = config.url;
        d.maxConnections = stats.maxConnections;
        d.open = stats.open;
        d.inUse = stats.inUse;
        d.waiting = stats.waiting;
        d.acquires = stats.acquires;
        d.waits = stats.waits;
        d.timeouts = stats.timeouts;
        d.connectFailures = stats.connectFailures;
        d.errors = stats.errors;
        d.queries = stats.queries;
        d.p50Ms = static_cast<double>(stats.p50Micros) / 1000.0;
        d.p99Ms = static_cast<double>(stats.p99Micros) / 1000.0;
        d.latencyBuckets.assign(stats.latencyBuckets.begin(), stats.latencyBuckets.end());
        out.push_back(std::move(d));
    }
    return out;
}

ActionResult EngineBackend::backup(const std::string& host, const std::string& path, const std::string& name,
                                   util::FileDescriptor& copy)
{
    if (_dataSources == nullptr) return failure(503, "unavailable", "this server has no data sources");
    std::string shown = host + (path.empty() ? "/" : path);
    for (const datasource::DataSourceRegistry::Entry& entry : _dataSources->list()) {
        if (!util::equalsIgnoreCase(entry.host, host) ||
            pathOfApp(entry.app) != (path.empty() ? "/" : path) || entry.source->name() != name)
            continue;
        if (entry.source->config().type != datasource::DataSourceType::Sqlite) {
            return failure(
                422, "not_embedded",
                "data source \"" + name + "\" of " + shown +
                    " is PostgreSQL: back it up with pg_dump (Serval backs up embedded databases only)");
        }
        // SQLite's backup API writes a file: a temporary one beside the data, opened and unlinked
        // at once (the open descriptor keeps it until the response has streamed it).
        static std::atomic<uint64_t> sequence{0};
        std::string file = _dataSources->dataRoot() + "/.backup-" + std::to_string(::getpid()) + "-" +
                           std::to_string(++sequence) + ".db";
        try {
            entry.source->backup(file);
            copy.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
            int why = errno;
            ::unlink(file.c_str());
            if (!copy)
                return failure(500, "backup_failed",
                               "cannot open the copy " + file + ": " + std::strerror(why));
        } catch (const std::exception& e) {
            ::unlink(file.c_str());
            return failure(500, "backup_failed", e.what());
        }
        return ActionResult{
            true, 200, {}, "backed up data source \"" + name + "\" of " + shown, std::nullopt};
    }
    return failure(404, "not_found",
                   "no data source \"" + name + "\" is open for " + shown +
                       " (is the app deployed, and does its web.xml declare it?)");
}

std::string EngineBackend::sessionMetrics()
{
    if (_sessions == nullptr) return {};
    std::ostringstream out;
    if (auto counts = _sessions->activeCounts()) {
        out << "# HELP serval_sessions_active Live HttpSessions per application.\n"
            << "# TYPE serval_sessions_active gauge\n";
        for (const auto& [app, count] : *counts) {
            out << "serval_sessions_active{host=\"" << label(app.first) << "\",context=\""
                << label(app.second) << "\"} " << count << "\n";
        }
    }
    struct Counter
    {
        const char* name;
        const char* help;
        uint64_t SessionStoreMetrics::*field;
        double scale; ///< microseconds -> seconds for the _sum series
    };
    static const Counter counters[] = {
        {"serval_sessions_created_total", "Sessions created (the server and its isolated apps' workers).",
         &SessionStoreMetrics::created, 1},
        {"serval_sessions_expired_total",
         "Expired sessions swept (the server and its isolated apps' workers).", &SessionStoreMetrics::expired,
         1},
        {"serval_sessions_invalidated_total",
         "Sessions invalidated (the server and its isolated apps' workers).",
         &SessionStoreMetrics::invalidated, 1},
        {"serval_session_commits_total", "Session write batches made durable.", &SessionStoreMetrics::commits,
         1},
        {"serval_session_commit_failures_total", "Session write batches the store refused (503).",
         &SessionStoreMetrics::failedCommits, 1},
        {"serval_session_store_transactions_total",
         "Store transactions (SQLite) or pipelines (Redis) carrying them.",
         &SessionStoreMetrics::transactions, 1},
        {"serval_session_commit_seconds_sum", "Time from commit to durable, summed over the commits.",
         &SessionStoreMetrics::commitMicrosSum, 1e-6},
        {"serval_session_loads_total", "Session lookups.", &SessionStoreMetrics::loads, 1},
        {"serval_session_load_seconds_sum", "Time of the session lookups, summed.",
         &SessionStoreMetrics::loadMicrosSum, 1e-6},
    };
    std::vector<SessionStoreMetrics> stores = _sessions->storeMetrics();
    for (const Counter& c : counters) {
        out << "# HELP " << c.name << " " << c.help << "\n# TYPE " << c.name << " counter\n";
        for (const SessionStoreMetrics& s : stores) {
            out << c.name << "{store=\"" << label(s.store) << "\"} ";
            if (c.scale == 1) {
                out << s.*c.field;
            } else {
                out << static_cast<double>(s.*c.field) * c.scale;
            }
            out << "\n";
        }
    }
    return out.str();
}

} // namespace serval::manager
