#pragma once

#include "manager/SessionDirectory.h"
#include "session/SessionService.h"

namespace serval::startup {

/// The manager's SessionDirectory over the server's SessionService: the manager room does not
/// link session/, startup joins them (the same way it wires the connector statistics).
///
/// OWNERSHIP: owned by the Server next to the SessionService it reads, which outlives it.
/// THREADS: any worker thread (the SessionService and the stores are thread-safe).
class ManagerSessions : public manager::SessionDirectory
{
public:
    explicit ManagerSessions(session::SessionService& sessions) noexcept : _sessions(sessions) {}

    std::optional<std::map<std::pair<std::string, std::string>, uint64_t>> activeCounts() noexcept override;
    std::vector<manager::SessionRow> list(const std::string& host, const std::string& path,
                                          size_t limit) override;
    uint64_t invalidate(const std::string& host, const std::string& path,
                        const std::string& idPrefix) override;
    std::vector<manager::SessionStoreMetrics> storeMetrics() noexcept override;

private:
    session::SessionService& _sessions;
};

} // namespace serval::startup
