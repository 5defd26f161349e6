#pragma once

#include "config/ServerConfig.h"
#include "datasource/DataSourceConfig.h"
#include "util/Log.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::process {

/// What a worker needs to build its Context: sent by the server as the first control message
/// (ControlType::Spec). The worker reads the app's WEB-INF/web.xml from docBase and merges it
/// over `defaultsWebXml` as the deployer does; the version directory never changes after the
/// deploy renamed it into place, so both read the same file.
struct WorkerSpec
{
    std::string host;    ///< the Host's name ("localhost")
    std::string name;    ///< the Context's name ("shop")
    std::string path;    ///< its context path ("/shop", "" for ROOT)
    std::string version; ///< "" or "2"
    std::string docBase; ///< the version directory
    std::string dataDir; ///< data/<host>/<app> (core::ContextSpec::dataDir); "" for none
    /// The server's data/serval.key (core::ContextServices::signingSecret): context_sign in a
    /// worker makes the signatures the server process would. Sent over the private control socket only.
    std::string signingSecret;
    std::string defaultsWebXml; ///< conf/web.xml ("" when there is none)
    uint64_t maxBodySize = 10ull * 1024 * 1024;
    uint32_t threads = 16; ///< the worker's request threads
    std::string logFile;   ///< the server log (opened in append mode); "" = stderr
    util::LogLevel logLevel = util::LogLevel::Info;
    std::string user;      ///< switch to this user when started as root ("" = stay)
    uint32_t index = 0;    ///< which worker of its group (log lines)
    uint32_t channels = 1; ///< AttachChannel messages that follow the spec (one per server I/O loop)
    /// The app libraries to load (core::ContextSpec::appLibraries: the deployer names the one
    /// that exports the entry; its helpers beside it load with it). nullopt: every WEB-INF/lib/*.so.
    std::optional<std::vector<std::string>> appLibraries;
    /// The Context's data sources (web.xml <resource-ref>s) as the server's deployer resolved and
    /// migrated them: the server.xml binding or the embedded SQLite file, with maxConnections
    /// already this worker's share (ProcessManager::workerDataSources). The worker opens its own
    /// pools from these. A PostgreSQL password travels as `password` (read by the server from
    /// passwordFile), like signingSecret only over the private control socket, never logged.
    std::vector<datasource::DataSourceConfig> dataSources;
    /// The Host's <Manager>, as the server read it (the SQLite path absolute): the worker opens
    /// the same store, so the app's sessions are shared by the server's manager page and every
    /// worker of the app. nullopt: the app has no sessions.
    std::optional<config::SessionStoreConfig> sessions;
    std::string jvmRoute; ///< <Engine jvmRoute>: the route suffix of the session ids the worker issues

    std::string encode() const;
    static std::optional<WorkerSpec> decode(std::string_view payload);
    /// "/shop" (or "/" for ROOT) with the version: "/shop##2".
    std::string describe() const;
};

} // namespace serval::process
