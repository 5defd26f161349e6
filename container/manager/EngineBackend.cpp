#include "manager/EngineBackend.h"

#include "core/Context.h"
#include "core/Engine.h"
#include "core/Host.h"
#include "core/Wrapper.h"
#include "util/Strings.h"

#include <ctime>
#include <dirent.h>
#include <sstream>
#include <sys/stat.h>

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

std::string label(std::string_view value)
{
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out.push_back('\\');
        out.push_back(c == '\n' ? ' ' : c);
    }
    return out;
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
    if (context.state() == core::LifecycleState::Failed) app.failure = context.failureReason();
    if (_deployer.decorate) _deployer.decorate(app);
    return app;
}

std::vector<AppInfo> EngineBackend::apps()
{
    std::vector<AppInfo> out;
    for (const auto& host : _engine.hosts()) {
        for (const auto& context : host->contexts()) {
            if (host->name() == _engine.defaultHostName() && _reserved.count(context->displayPath()))
                continue;
            out.push_back(info(host->name(), *context));
        }
    }
    return out;
}

std::optional<AppDetail> EngineBackend::app(const std::string& hostName, const std::string& path)
{
    auto host = _engine.findHost(hostName);
    if (!host) return std::nullopt;
    auto context = host->findContext(contextKey(path));
    if (!context || (host->name() == _engine.defaultHostName() && _reserved.count(context->displayPath()))) {
        return std::nullopt;
    }
    AppDetail detail;
    detail.info = info(host->name(), *context);
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

std::shared_ptr<core::Context> EngineBackend::actionable(const std::string& hostName, const std::string& path,
                                                         ActionResult& result)
{
    auto host = _engine.findHost(hostName);
    if (!host) {
        result = failure(404, "not_found", "no host named " + hostName);
        return nullptr;
    }
    if (host->name() == _engine.defaultHostName() && _reserved.count(path)) {
        result = failure(409, "reserved", path + " belongs to the container and cannot be changed from here");
        return nullptr;
    }
    auto context = host->findContext(contextKey(path));
    if (!context) result = failure(404, "not_found", "no application at " + host->name() + path);
    return context;
}

ActionResult EngineBackend::deployUpload(const std::string& host, const std::string& path,
                                         const std::string& fileName, const std::string& bundle, bool update)
{
    if (!_deployer.deployUpload)
        return failure(503, "unavailable", "deploying needs the deployer, which is not running");
    if (_reserved.count(path)) return failure(409, "reserved", path + " belongs to the container");
    return _deployer.deployUpload(host, path, fileName, bundle, update);
}

ActionResult EngineBackend::deployPath(const std::string& host, const std::string& path,
                                       const std::string& serverPath, bool update)
{
    if (!_deployer.deployPath)
        return failure(503, "unavailable", "deploying needs the deployer, which is not running");
    if (_reserved.count(path)) return failure(409, "reserved", path + " belongs to the container");
    return _deployer.deployPath(host, path, serverPath, update);
}

ActionResult EngineBackend::undeploy(const std::string& host, const std::string& path)
{
    ActionResult result;
    if (!actionable(host, path, result)) return result;
    if (!_deployer.undeploy)
        return failure(503, "unavailable", "undeploying needs the deployer, which is not running");
    return _deployer.undeploy(host, path);
}

ActionResult EngineBackend::start(const std::string& hostName, const std::string& path)
{
    ActionResult result;
    auto context = actionable(hostName, path, result);
    if (!context) return result;
    if (!context->isStarted() && !context->start()) {
        return failure(500, "start_failed", context->failureReason());
    }
    if (_deployer.setDesiredState) _deployer.setDesiredState(hostName, path, "running");
    return ActionResult{true, 200, "", "", info(hostName, *context)};
}

ActionResult EngineBackend::stop(const std::string& hostName, const std::string& path)
{
    ActionResult result;
    auto context = actionable(hostName, path, result);
    if (!context) return result;
    context->stop(); // drains in-flight requests first; the Engine answers 503 meanwhile
    if (_deployer.setDesiredState) _deployer.setDesiredState(hostName, path, "stopped");
    return ActionResult{true, 200, "", "", info(hostName, *context)};
}

ActionResult EngineBackend::reload(const std::string& hostName, const std::string& path)
{
    ActionResult result;
    auto context = actionable(hostName, path, result);
    if (!context) return result;
    context->stop();
    if (!context->start()) return failure(500, "start_failed", context->failureReason());
    if (_deployer.setDesiredState) _deployer.setDesiredState(hostName, path, "running");
    return ActionResult{true, 200, "", "", info(hostName, *context)};
}

std::vector<HistoryEntry> EngineBackend::history(const std::string& host, const std::string& path,
                                                 size_t limit)
{
    if (!_deployer.history) return {};
    return _deployer.history(host, path, limit);
}

void EngineBackend::audit(const AuditEntry& entry)
{
    AuditEntry row = entry;
    if (row.time.empty()) row.time = isoNow();
    if (_deployer.audit) {
        _deployer.audit(row);
        return;
    }
    std::lock_guard<std::mutex> lock(_auditMutex);
    _audit.push_front(std::move(row));
    if (_audit.size() > MaxMemoryAudit) _audit.pop_back();
}

std::vector<AuditEntry> EngineBackend::auditLog(size_t limit)
{
    if (_deployer.auditLog) return _deployer.auditLog(limit);
    std::lock_guard<std::mutex> lock(_auditMutex);
    return {_audit.begin(), _audit.begin() + static_cast<long>(std::min(limit, _audit.size()))};
}

ServerStatus EngineBackend::status()
{
    ServerStatus status;
    status.version = _version;
    status.uptimeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - _started).count();
    if (_statusFn) _statusFn(status);
    if (_deployer.counters) _deployer.counters(status);
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
            auto counts = context->latency().snapshot();
            uint64_t cumulative = 0;
            for (size_t i = 0; i < counts.size(); ++i) {
                cumulative += counts[i];
                std::string le =
                    i < core::LatencyHistogram::kBoundsMicros.size()
                        ? std::to_string(static_cast<double>(core::LatencyHistogram::kBoundsMicros[i]) / 1e6)
                        : std::string("+Inf");
                out << "serval_request_duration_seconds_bucket{" << labels << ",le=\"" << le << "\"} "
                    << cumulative << "\n";
            }
            out << "serval_request_duration_seconds_count{" << labels << "} " << cumulative << "\n";
            auto stats = context->stats();
            requests << "serval_requests_total{" << labels << ",class=\"5xx\"} " << stats.errors5xx << "\n";
            requests << "serval_requests_total{" << labels << ",class=\"other\"} "
                     << (stats.requests - stats.errors5xx) << "\n";
        }
    }
    return out.str() + requests.str();
}

} // namespace serval::manager
