#pragma once

#include "core/RemoteApplication.h"
#include "datasource/DataSourceStats.h"
#include "process/LaneLoop.h"
#include "process/RestartPolicy.h"
#include "process/Supervisor.h"
#include "process/WorkerLane.h"
#include "process/WorkerProcess.h"
#include "process/WorkerSpec.h"
#include "session/SessionStore.h"
#include "util/Expected.h"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::registry {
class Registry;
}

namespace serval::process {

/// How an isolated Context's workers run (<Host>/<Context> in server.xml).
struct GroupSettings
{
    uint32_t processes = 1;
    std::chrono::milliseconds requestTimeout{60000};
    uint64_t memoryLimit = 0;           ///< RSS bytes per worker; 0 = none
    uint64_t maxRequestsPerProcess = 0; ///< 0 = no limit; recycled within +10% (jitter)
    RestartSettings restart;
    std::chrono::milliseconds startTimeout{10000}; ///< spawn to Ready
    std::chrono::milliseconds drainTimeout{30000}; ///< Drain to exit, then SIGKILL
    WorkerProcess::Options process;                ///< binary, channels (= lanes), ring capacity
};

/// Why a worker was replaced (the /metrics label; core::RemoteStatus::kCauses in this order).
enum class RestartCause
{
    Crash,
    Timeout,
    Memory,
    Recycle
};
constexpr size_t kRestartCauses = core::RemoteStatus::kCauses.size();

enum class GroupState
{
    Starting,
    Running,
    Restarting, ///< fewer workers than asked for: a replacement is on its way (or backing off)
    Quarantined,
    Stopping,
    Stopped,
    Failed
};
const char* groupStateName(GroupState state) noexcept;

/// What the admin page, the API and /metrics show of a group (core's type: the manager reads
/// it through core::RemoteApplication).
using GroupView = core::RemoteStatus;

/// The N worker processes of one isolated Context version (the Context's application
/// backend), the lanes that forward to them (one per server I/O loop), and their supervision:
/// restarts with back-off, quarantine, RSS and request-count recycling, hung requests, crash
/// records in the registry.
///
/// Replacing a worker never leaves the app without one: the replacement starts first; the old
/// one stops getting requests once it is ready, finishes those it has (every lane reports it
/// drained), gets Drain (its Context stops: on_destroy), and exits; SIGKILL after
/// drainTimeout. A recycle is never counted as a crash.
///
/// OWNERSHIP: shared (the Context holds it; tasks posted to lanes and to the supervisor hold it
/// until they ran). THREADS: start(), stop(), restart(), liftQuarantine() and view() on control
/// threads; lane(i) on loop i; everything else on the supervisor thread. One mutex guards the
/// group's state; lanes only read an atomic on the request path.
class WorkerGroup : public LaneEvents, public Ticking, public std::enable_shared_from_this<WorkerGroup>
{
public:
    /// `loops`: one lane per loop (WorkerProcess::Options::channels is set to their number).
    /// `registry` may be null (tests without crash records).
    WorkerGroup(WorkerSpec spec, GroupSettings settings, Supervisor& supervisor, std::vector<LaneLoop*> loops,
                registry::Registry* registry);
    ~WorkerGroup() override;

    /// Starts every worker and waits until each is Ready (or the first failure, one line:
    /// the group is then Failed and nothing is left running).
    util::Outcome start();
    /// Drains every worker and waits for them to exit (SIGKILL after drainTimeout).
    void stop() noexcept;
    /// Replaces every worker (new ones first): the admin page's "restart the processes".
    void restart();
    /// Lifts a quarantine and starts the workers again.
    void liftQuarantine();

    WorkerLane& lane(size_t loop) noexcept { return *_lanes[loop]; }
    size_t laneCount() const noexcept { return _lanes.size(); }
    GroupState state() const noexcept { return _state.load(std::memory_order_acquire); }
    GroupView view() const;
    /// What the app's libraries declare in code, as the first worker reported at start()
    /// (control thread, after start() succeeded; start() is the only writer).
    const config::WebAppConfig& declarations() const noexcept { return _declarations; }
    /// Adds the pools of data source `name` in this group's running workers to `into`: asks each
    /// (StatsRequest) and waits up to `wait` for the answers; a worker that does not answer in
    /// time is left out; a stopped group adds nothing. Control threads (the manager, through
    /// datasource::DataSource::stats()).
    void addDataSourceStats(const std::string& name, datasource::DataSourceStatsSnapshot& into,
                            std::chrono::milliseconds wait);
    /// Adds the session store counters of this group's workers to `into`, by store
    /// (SessionStore::describe()): the running ones asked as addDataSourceStats() does, plus
    /// what exited workers last reported. Control threads (/metrics, through ProcessManager).
    void addSessionStoreStats(std::map<std::string, session::SessionStoreStats>& into,
                              std::chrono::milliseconds wait);
    const WorkerSpec& spec() const noexcept { return _spec; }
    const GroupSettings& settings() const noexcept { return _settings; }

    // LaneEvents (any loop thread)
    void laneDrained(uint32_t workerId) noexcept override;
    void channelCorrupt(uint32_t workerId, const std::string& what) noexcept override;
    void requestTimedOut(uint32_t workerId, const std::string& requestLine) noexcept override;
    uint32_t refusing(std::string& reason) const noexcept override;
    void countReplay() noexcept override { _replayed.fetch_add(1, std::memory_order_relaxed); }
    void countFailedByCrash() noexcept override { _failedByCrash.fetch_add(1, std::memory_order_relaxed); }
    std::shared_ptr<void> keepAlive() noexcept override { return weak_from_this().lock(); }

    // Ticking (supervisor thread)
    std::chrono::steady_clock::time_point tick(std::chrono::steady_clock::time_point now) noexcept override;

private:
    struct Worker;

    /// Sends a StatsRequest to every running worker and waits up to `wait` (releasing `lock`,
    /// which holds _mutex) for the answers; returns the workers that answered.
    std::vector<std::shared_ptr<Worker>> askForStats(std::unique_lock<std::mutex>& lock,
                                                     std::chrono::milliseconds wait);
    using Clock = std::chrono::steady_clock;

    std::shared_ptr<Worker> spawnLocked(uint32_t replaces);
    void watchLocked(const std::shared_ptr<Worker>& worker);
    void attachLocked(const std::shared_ptr<Worker>& worker);
    void retireLocked(Worker& worker);
    void recycleLocked(Worker& worker, RestartCause cause);
    void onControl(const std::shared_ptr<Worker>& worker);
    void onExit(const std::shared_ptr<Worker>& worker);
    void onStack(Worker& worker);
    void recordTimeoutLocked(Worker& worker, const CrashSnapshot& stack);
    std::string recordCrash(Worker& worker);
    void quarantineLocked(const std::string& reason);
    size_t liveLocked() const;
    void postToLanes(std::function<void(WorkerLane&, size_t)> task);
    std::shared_ptr<Worker> findLocked(uint32_t id) const;

    WorkerSpec _spec;
    GroupSettings _settings;
    Supervisor& _supervisor;
    std::vector<LaneLoop*> _loops;
    registry::Registry* _registry;
    std::vector<std::unique_ptr<WorkerLane>> _lanes;

    mutable std::mutex _mutex;
    std::condition_variable _changed;      ///< a worker exited (stop() waits)
    std::condition_variable _statsArrived; ///< a worker answered a StatsRequest
    /// The session store counters exited workers last reported (under _mutex).
    std::map<std::string, session::SessionStoreStats> _exitedSessionStores;
    uint64_t _statsSequence = 0; ///< the last StatsRequest sent
    std::vector<std::shared_ptr<Worker>> _workers;
    std::atomic<GroupState> _state{GroupState::Stopped};
    std::string _reason;
    RestartPolicy _policy;
    Clock::time_point _nextRestart{};
    Clock::time_point _nextRssCheck{};
    Clock::time_point _nextExpire{};
    uint32_t _nextId = 1;
    bool _registered = false;

    std::atomic<uint64_t> _crashes{0};
    std::array<std::atomic<uint64_t>, kRestartCauses> _restarts{};
    std::atomic<uint64_t> _replayed{0};
    std::atomic<uint64_t> _failedByCrash{0};
    std::string _lastCrashId;
    config::WebAppConfig _declarations;
};

} // namespace serval::process
