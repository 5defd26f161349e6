#pragma once

#include "manager/SessionDirectory.h"
#include "session/SessionService.h"

#include <functional>
#include <map>
#include <string>

namespace serval::startup {

/// The manager's SessionDirectory over the server's SessionService: the manager room does not
/// link session/, startup joins them (the same way it wires the connector statistics).
///
/// OWNERSHIP: owned by the Server next to the SessionService it reads, which outlives it.
/// THREADS: any worker thread (the SessionService and the stores are thread-safe).
class ManagerSessions : public manager::SessionDirectory
{
public:
    /// Adds the counters other processes keep to `into`, by store (the isolated apps' workers:
    /// process::ProcessManager::addSessionStoreStats).
    using WorkerStats = std::function<void(std::map<std::string, session::SessionStoreStats>& into)>;

    ManagerSessions(session::SessionService& sessions, WorkerStats workerStats) noexcept
        : _sessions(sessions), _workerStats(std::move(workerStats))
    {}

    std::optional<std::map<std::pair<std::string, std::string>, uint64_t>> activeCounts() noexcept override;
    std::vector<manager::SessionRow> list(const std::string& host, const std::string& path,
                                          size_t limit) override;
    uint64_t invalidate(const std::string& host, const std::string& path,
                        const std::string& idPrefix) override;
    std::vector<manager::SessionStoreMetrics> storeMetrics() noexcept override;

private:
    session::SessionService& _sessions;
    const WorkerStats _workerStats; ///< may be empty
};

} // namespace serval::startup
