#include "process/WorkerSpec.h"

#include "process/Wire.h"

namespace serval::process {

namespace {

/// More than any web.xml declares: a spec with more is not the server's.
constexpr uint32_t kMaxDataSources = 256;
/// Likewise for the app libraries of one bundle.
constexpr uint32_t kMaxLibraries = 1024;

} // namespace

std::string WorkerSpec::encode() const
{
    std::string out;
    WireWriter w(out);
    w.text(host);
    w.text(name);
    w.text(path);
    w.text(version);
    w.text(docBase);
    w.text(dataDir);
    w.text(signingSecret);
    w.text(defaultsWebXml);
    w.u64(maxBodySize);
    w.u32(threads);
    w.text(logFile);
    w.u8(static_cast<uint8_t>(logLevel));
    w.text(user);
    w.u32(index);
    w.u32(channels);
    w.u8(appLibraries ? 1 : 0);
    if (appLibraries) {
        w.u32(static_cast<uint32_t>(appLibraries->size()));
        for (const std::string& library : *appLibraries)
            w.text(library);
    }
    w.u32(static_cast<uint32_t>(dataSources.size()));
    for (const datasource::DataSourceConfig& source : dataSources) {
        w.text(source.name);
        w.u8(static_cast<uint8_t>(source.type));
        w.text(source.url);
        w.text(source.passwordFile);
        w.text(source.password);
        w.u32(source.maxConnections);
        w.u64(static_cast<uint64_t>(source.acquireTimeout.count()));
        w.u64(static_cast<uint64_t>(source.statementTimeout.count()));
        w.u64(static_cast<uint64_t>(source.busyTimeout.count()));
    }
    w.u8(sessions ? 1 : 0);
    if (sessions) {
        w.u8(static_cast<uint8_t>(sessions->store));
        w.text(sessions->path);
        w.u8(sessions->synchronousFull ? 1 : 0);
        w.text(sessions->url);
        w.text(sessions->keyPrefix);
        w.u32(sessions->connectTimeoutMs);
        w.u32(sessions->commandTimeoutMs);
        w.u32(sessions->maxConnections);
        w.u32(sessions->touchIntervalMs);
        w.u32(sessions->busyTimeoutMs);
        w.u32(sessions->sweepIntervalMs);
        w.u8(sessions->readCache ? 1 : 0);
    }
    w.text(jvmRoute);
    return out;
}

std::optional<WorkerSpec> WorkerSpec::decode(std::string_view payload)
{
    WireReader r(payload);
    WorkerSpec spec;
    spec.host = r.text();
    spec.name = r.text();
    spec.path = r.text();
    spec.version = r.text();
    spec.docBase = r.text();
    spec.dataDir = r.text();
    spec.signingSecret = r.text();
    spec.defaultsWebXml = r.text();
    spec.maxBodySize = r.u64();
    spec.threads = r.u32();
    spec.logFile = r.text();
    uint8_t level = r.u8();
    spec.user = r.text();
    spec.index = r.u32();
    spec.channels = r.u32();
    if (r.u8() != 0) {
        uint32_t libraries = r.u32();
        if (libraries > kMaxLibraries) return std::nullopt;
        spec.appLibraries = std::vector<std::string>();
        for (uint32_t i = 0; i < libraries && !r.failed(); ++i)
            spec.appLibraries->emplace_back(r.text());
    }
    uint32_t sources = r.u32();
    if (sources > kMaxDataSources) return std::nullopt;
    for (uint32_t i = 0; i < sources && !r.failed(); ++i) {
        datasource::DataSourceConfig source;
        source.name = r.text();
        uint8_t type = r.u8();
        if (type > static_cast<uint8_t>(datasource::DataSourceType::Postgresql)) return std::nullopt;
        source.type = static_cast<datasource::DataSourceType>(type);
        source.url = r.text();
        source.passwordFile = r.text();
        source.password = r.text();
        source.maxConnections = r.u32();
        source.acquireTimeout = std::chrono::milliseconds(static_cast<int64_t>(r.u64()));
        source.statementTimeout = std::chrono::milliseconds(static_cast<int64_t>(r.u64()));
        source.busyTimeout = std::chrono::milliseconds(static_cast<int64_t>(r.u64()));
        if (source.maxConnections == 0) return std::nullopt;
        spec.dataSources.push_back(std::move(source));
    }
    uint8_t store = 0;
    if (r.u8() != 0) {
        config::SessionStoreConfig sessions;
        store = r.u8();
        sessions.store = static_cast<config::SessionStoreConfig::Store>(store);
        sessions.path = r.text();
        sessions.synchronousFull = r.u8() != 0;
        sessions.url = r.text();
        sessions.keyPrefix = r.text();
        sessions.connectTimeoutMs = r.u32();
        sessions.commandTimeoutMs = r.u32();
        sessions.maxConnections = r.u32();
        sessions.touchIntervalMs = r.u32();
        sessions.busyTimeoutMs = r.u32();
        sessions.sweepIntervalMs = r.u32();
        sessions.readCache = r.u8() != 0;
        spec.sessions = std::move(sessions);
    }
    spec.jvmRoute = r.text();
    if (!r.complete() || level > static_cast<uint8_t>(util::LogLevel::Off) || spec.threads == 0 ||
        spec.channels == 0 || spec.channels > 1024 ||
        store > static_cast<uint8_t>(config::SessionStoreConfig::Store::Redis))
        return std::nullopt;
    spec.logLevel = static_cast<util::LogLevel>(level);
    return spec;
}

std::string WorkerSpec::describe() const
{
    std::string out = path.empty() ? "/" : path;
    if (!version.empty()) out += "##" + version;
    return out;
}

} // namespace serval::process
