#include "process/WorkerGroup.h"

#include "process/CrashReport.h"
#include "process/Messages.h"
#include "process/Wire.h"
#include "registry/Registry.h"
#include "util/Log.h"

#include <algorithm>
#include <csignal>
#include <random>

namespace serval::process {

struct WorkerGroup::Worker
{
    enum class State
    {
        Starting,
        Ready,
        Retiring, ///< being replaced: serves until its replacement is ready, then drains
        Draining, ///< told to Drain: exits once its requests are done
        Exited
    };

    std::shared_ptr<WorkerHandle> handle;
    State state = State::Starting;
    Clock::time_point deadline{}; ///< Starting: ready by then; Draining: exited by then
    uint32_t replaces = 0;        ///< the worker this one replaces once Ready (0: none)
    uint64_t recycleAfter = 0;    ///< maxRequestsPerProcess with its jitter
    bool retirePosted = false;
    size_t lanesPending = 0;           ///< lanes that still had requests of it after retire
    bool killed = false;               ///< SIGKILL of ours after a deadline: not a crash
    std::string killedBecause;         ///< SIGKILL of ours for misbehaviour: a crash with this reason
    std::string failure;               ///< what it said when it could not start
    std::vector<std::string> timeouts; ///< requests past requestTimeout, waiting for the stack
    /// StackCaptured messages that came before their requestTimedOut() reached the supervisor
    /// (the lane cancels first; a worker whose idle thread reads the Cancel at once can answer
    /// before the supervisor ran the posted task).
    uint32_t earlyStacks = 0;
    Clock::time_point stackDeadline{};
    bool recycledForTimeout = false;
    uint64_t statsSequence = 0;           ///< the StatsRequest `dataSources` answers (they only grow)
    NamedDataSourceStats dataSources;     ///< its pools as it last reported them
    NamedSessionStoreStats sessionStores; ///< its session stores' counters, as last reported

    WorkerProcess& process() const noexcept { return *handle->process; }
};

namespace {

constexpr const char* kLog = "process";
constexpr uint32_t kQuarantineRetryAfter = 60;

std::string source(const WorkerSpec& spec)
{
    return "app:" + spec.describe();
}

} // namespace

const char* groupStateName(GroupState state) noexcept
{
    switch (state) {
    case GroupState::Starting:
        return "starting";
    case GroupState::Running:
        return "running";
    case GroupState::Restarting:
        return "restarting";
    case GroupState::Quarantined:
        return "quarantined";
    case GroupState::Stopping:
        return "stopping";
    case GroupState::Stopped:
        return "stopped";
    case GroupState::Failed:
        return "failed";
    }
    return "failed";
}

WorkerGroup::WorkerGroup(WorkerSpec spec, GroupSettings settings, Supervisor& supervisor,
                         std::vector<LaneLoop*> loops, registry::Registry* registry)
    : _spec(std::move(spec)), _settings(std::move(settings)), _supervisor(supervisor),
      _loops(std::move(loops)), _registry(registry), _policy(_settings.restart)
{
    _settings.process.channels = static_cast<uint32_t>(_loops.size());
    for (LaneLoop* loop : _loops)
        _lanes.push_back(std::make_unique<WorkerLane>(*loop, *this, _settings.requestTimeout));
}

WorkerGroup::~WorkerGroup()
{
    // stop() ran (the owner's job, on a control thread); whatever is left dies with its
    // WorkerProcess (SIGKILL and reap).
    for (auto& worker : _workers) {
        _supervisor.unwatch(worker->process().pidfd());
        _supervisor.unwatch(worker->process().control().fd());
    }
}

void WorkerGroup::postToLanes(std::function<void(WorkerLane&, size_t)> task)
{
    std::shared_ptr<WorkerGroup> self = shared_from_this();
    for (size_t i = 0; i < _loops.size(); ++i)
        _loops[i]->post([self, task, i] { task(*self->_lanes[i], i); });
}

std::shared_ptr<WorkerGroup::Worker> WorkerGroup::findLocked(uint32_t id) const
{
    for (const auto& worker : _workers) {
        if (worker->handle->id == id) return worker;
    }
    return nullptr;
}

size_t WorkerGroup::liveLocked() const
{
    return static_cast<size_t>(std::count_if(_workers.begin(), _workers.end(), [](const auto& w) {
        return w->state == Worker::State::Starting || w->state == Worker::State::Ready;
    }));
}

std::shared_ptr<WorkerGroup::Worker> WorkerGroup::spawnLocked(uint32_t replaces)
{
    uint32_t id = _nextId++;
    WorkerSpec spec = _spec;
    spec.index = id;
    auto worker = std::make_shared<Worker>();
    worker->handle = std::make_shared<WorkerHandle>();
    worker->handle->id = id;
    worker->handle->process = WorkerProcess::spawn(spec, _settings.process);
    worker->deadline = Clock::now() + _settings.startTimeout;
    worker->replaces = replaces;
    if (_settings.maxRequestsPerProcess > 0) {
        // Up to 10% later, so workers started together are not all recycled at once.
        static thread_local std::mt19937_64 random{std::random_device{}()};
        uint64_t jitter = _settings.maxRequestsPerProcess / 10;
        worker->recycleAfter = _settings.maxRequestsPerProcess + (jitter > 0 ? random() % (jitter + 1) : 0);
    }
    _workers.push_back(worker);
    return worker;
}

void WorkerGroup::watchLocked(const std::shared_ptr<Worker>& worker)
{
    std::weak_ptr<WorkerGroup> group = weak_from_this();
    _supervisor.watch(worker->process().pidfd(), [group, worker] {
        if (auto self = group.lock()) self->onExit(worker);
    });
    _supervisor.watch(worker->process().control().fd(), [group, worker] {
        if (auto self = group.lock()) self->onControl(worker);
    });
}

void WorkerGroup::attachLocked(const std::shared_ptr<Worker>& worker)
{
    std::shared_ptr<WorkerHandle> handle = worker->handle;
    postToLanes([handle](WorkerLane& lane, size_t i) { lane.attach(handle, handle->process->channel(i)); });
}

void WorkerGroup::retireLocked(Worker& worker)
{
    worker.state = Worker::State::Retiring;
    worker.retirePosted = true;
    worker.lanesPending = _lanes.size();
    uint32_t id = worker.handle->id;
    postToLanes([id](WorkerLane& lane, size_t) { lane.retire(id); });
}

void WorkerGroup::recycleLocked(Worker& worker, RestartCause cause)
{
    if (worker.state != Worker::State::Ready) return;
    _restarts[static_cast<size_t>(cause)].fetch_add(1, std::memory_order_relaxed);
    GroupState state = _state.load();
    if (state != GroupState::Running && state != GroupState::Restarting) {
        retireLocked(worker);
        return;
    }
    worker.state = Worker::State::Retiring;
    try {
        watchLocked(spawnLocked(worker.handle->id));
    } catch (const std::exception& e) {
        LOG_ERROR(source(_spec), std::string("cannot start a replacement worker: ") + e.what() +
                                     "; the old one keeps serving");
        worker.state = Worker::State::Ready;
    }
}

util::Outcome WorkerGroup::start()
{
    std::unique_lock<std::mutex> lock(_mutex);
    GroupState current = _state.load();
    if (current == GroupState::Running || current == GroupState::Restarting) return {};
    _state.store(GroupState::Starting);
    _policy.reset();
    _reason.clear();
    std::vector<std::shared_ptr<Worker>> started;
    auto abandon = [&](const std::string& reason) {
        for (auto& worker : started) {
            worker->process().signal(SIGKILL);
            worker->process().waitExit(std::chrono::milliseconds(0));
        }
        _workers.clear();
        _reason = reason;
        _state.store(GroupState::Failed);
        return util::failure(reason);
    };
    try {
        for (uint32_t i = 0; i < _settings.processes; ++i)
            started.push_back(spawnLocked(0));
    } catch (const std::exception& e) {
        return abandon(e.what());
    }
    lock.unlock();
    for (size_t i = 0; i < started.size(); ++i) {
        util::Expected<ReadyMessage> ready = started[i]->process().waitReady(_settings.startTimeout);
        if (!ready) {
            lock.lock();
            return abandon(started.size() > 1 ? "worker " + std::to_string(i + 1) + " of " +
                                                    std::to_string(started.size()) + ": " + ready.error()
                                              : ready.error());
        }
        if (i == 0) _declarations = std::move(ready->declarations); // every worker loads the same files
    }
    lock.lock();
    for (auto& worker : started) {
        worker->state = Worker::State::Ready;
        attachLocked(worker);
        watchLocked(worker);
    }
    if (!_registered) {
        _registered = true;
        _supervisor.add(weak_from_this());
    }
    _state.store(GroupState::Running);
    LOG_INFO(source(_spec), std::to_string(started.size()) + " worker process(es) ready");
    return {};
}

void WorkerGroup::stop() noexcept
{
    std::unique_lock<std::mutex> lock(_mutex);
    GroupState current = _state.load();
    if (current == GroupState::Stopped || (current == GroupState::Failed && _workers.empty())) return;
    _state.store(GroupState::Stopping);
    for (auto& worker : _workers) {
        if (worker->state == Worker::State::Starting) {
            worker->killed = true;
            worker->process().signal(SIGKILL);
        } else if (worker->state == Worker::State::Ready ||
                   (worker->state == Worker::State::Retiring && !worker->retirePosted)) {
            retireLocked(*worker);
        }
    }
    StreamFailure stopping{503, "", 1, "The application is stopping."};
    postToLanes([stopping](WorkerLane& lane, size_t) { lane.failWaiting(stopping); });
    auto deadline = Clock::now() + _settings.drainTimeout + std::chrono::seconds(2);
    _changed.wait_until(lock, deadline, [this] { return _workers.empty(); });
    if (!_workers.empty()) {
        for (auto& worker : _workers) {
            worker->killed = true;
            worker->process().signal(SIGKILL);
        }
        _changed.wait_for(lock, std::chrono::seconds(2), [this] { return _workers.empty(); });
    }
    // The supervisor did not get to them (it is stopped): reap here.
    for (auto& worker : _workers) {
        _supervisor.unwatch(worker->process().pidfd());
        _supervisor.unwatch(worker->process().control().fd());
        worker->process().waitExit(std::chrono::milliseconds(0));
        uint32_t id = worker->handle->id;
        postToLanes([id](WorkerLane& lane, size_t) { lane.detach(id, ""); });
    }
    _workers.clear();
    _state.store(GroupState::Stopped);
}

void WorkerGroup::restart()
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (auto& worker : std::vector<std::shared_ptr<Worker>>(_workers))
        recycleLocked(*worker, RestartCause::Recycle);
}

void WorkerGroup::liftQuarantine()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_state.load() != GroupState::Quarantined) return;
    _policy.reset();
    _reason.clear();
    _nextRestart = Clock::now();
    _state.store(GroupState::Restarting);
    LOG_INFO(source(_spec), "quarantine lifted; starting the workers again");
    _supervisor.wake();
}

void WorkerGroup::quarantineLocked(const std::string& reason)
{
    _state.store(GroupState::Quarantined);
    _reason = reason;
    LOG_ERROR(source(_spec),
              "quarantined: " + reason +
                  "; requests get 503 until an administrator starts or reloads it (or deploys a "
                  "new version)");
    StreamFailure refused{503, _lastCrashId, kQuarantineRetryAfter,
                          "The application is quarantined after repeated crashes."};
    postToLanes([refused](WorkerLane& lane, size_t) { lane.failWaiting(refused); });
}

uint32_t WorkerGroup::refusing(std::string& reason) const noexcept
{
    if (_state.load(std::memory_order_acquire) != GroupState::Quarantined) return 0;
    reason = "The application is quarantined after repeated crashes.";
    return kQuarantineRetryAfter;
}

void WorkerGroup::laneDrained(uint32_t workerId) noexcept
{
    try {
        std::shared_ptr<WorkerGroup> self = shared_from_this();
        _supervisor.post([self, workerId] {
            std::lock_guard<std::mutex> lock(self->_mutex);
            auto worker = self->findLocked(workerId);
            if (!worker || !worker->retirePosted || worker->lanesPending == 0) return;
            if (--worker->lanesPending > 0) return;
            worker->state = Worker::State::Draining;
            worker->deadline = Clock::now() + self->_settings.drainTimeout;
            if (worker->recycledForTimeout) {
                // Its other requests are done; the hung one never will be, and stopping the
                // Context under a thread still in app code is not safe: it ends here.
                worker->killed = true;
                worker->process().signal(SIGKILL);
                return;
            }
            worker->process().drain();
        });
    } catch (...) {
    }
}

void WorkerGroup::channelCorrupt(uint32_t workerId, const std::string& what) noexcept
{
    try {
        std::shared_ptr<WorkerGroup> self = shared_from_this();
        _supervisor.post([self, workerId, what] {
            std::lock_guard<std::mutex> lock(self->_mutex);
            auto worker = self->findLocked(workerId);
            if (!worker || !worker->killedBecause.empty()) return;
            LOG_ERROR(source(self->_spec),
                      "worker pid " + std::to_string(worker->process().pid()) + ": " + what + "; killing it");
            worker->killedBecause = what;
            worker->process().signal(SIGKILL);
        });
    } catch (...) {
    }
}

void WorkerGroup::requestTimedOut(uint32_t workerId, const std::string& requestLine) noexcept
{
    try {
        std::shared_ptr<WorkerGroup> self = shared_from_this();
        _supervisor.post([self, workerId, requestLine] {
            std::lock_guard<std::mutex> lock(self->_mutex);
            auto worker = self->findLocked(workerId);
            if (!worker) return;
            if (worker->timeouts.empty()) worker->stackDeadline = Clock::now() + std::chrono::seconds(1);
            worker->timeouts.push_back(requestLine);
            if (worker->earlyStacks > 0) {
                --worker->earlyStacks;
                self->recordTimeoutLocked(*worker, CrashSnapshot::readStack(worker->process().crashPage()));
            }
            self->_supervisor.wake();
        });
    } catch (...) {
    }
}

void WorkerGroup::onControl(const std::shared_ptr<Worker>& worker)
{
    std::lock_guard<std::mutex> lock(_mutex);
    ControlSocket::Message message;
    while (true) {
        ControlSocket::Result result = worker->process().control().receive(message);
        if (result == ControlSocket::Result::WouldBlock) return;
        if (result != ControlSocket::Result::Message) {
            // The worker is gone (its exit follows on the pidfd) or wrote garbage.
            _supervisor.unwatch(worker->process().control().fd());
            if (result == ControlSocket::Result::Malformed && worker->killedBecause.empty()) {
                worker->killedBecause = "a malformed control message";
                worker->process().signal(SIGKILL);
            }
            return;
        }
        switch (message.type) {
        case ControlType::Ready:
            if (worker->state != Worker::State::Starting) break;
            worker->state = Worker::State::Ready;
            attachLocked(worker);
            if (worker->replaces != 0) {
                if (auto old = findLocked(worker->replaces); old && old->state == Worker::State::Retiring)
                    retireLocked(*old);
            }
            if (_state.load() == GroupState::Restarting && liveLocked() >= _settings.processes)
                _state.store(GroupState::Running);
            LOG_INFO(source(_spec), "worker pid " + std::to_string(worker->process().pid()) + " ready");
            break;
        case ControlType::Failed:
            worker->failure = message.payload;
            break;
        case ControlType::DataSourceStats:
            if (!decodeDataSourceStats(message.payload, worker->statsSequence, worker->dataSources,
                                       &worker->sessionStores)) {
                worker->killedBecause = "a malformed control message";
                worker->process().signal(SIGKILL);
                return;
            }
            _statsArrived.notify_all();
            break;
        case ControlType::StackCaptured:
            if (!worker->timeouts.empty()) {
                recordTimeoutLocked(*worker, CrashSnapshot::readStack(worker->process().crashPage()));
            } else {
                ++worker->earlyStacks;
            }
            break;
        default:
            break;
        }
    }
}

void WorkerGroup::recordTimeoutLocked(Worker& worker, const CrashSnapshot& stack)
{
    std::string line = worker.timeouts.front();
    worker.timeouts.erase(worker.timeouts.begin());
    worker.stackDeadline = Clock::now() + std::chrono::seconds(1);
    registry::CrashRecord record =
        CrashReport::timeout(worker.process(), stack, line, _settings.requestTimeout);
    LOG_ERROR(source(_spec), record.summary + " [" + record.crashId + "]");
    _lastCrashId = record.crashId;
    if (_registry != nullptr) {
        try {
            _registry->addCrash(record);
        } catch (const std::exception& e) {
            LOG_ERROR(kLog, std::string("cannot record a hang in the registry: ") + e.what());
        }
    }
    if (!worker.recycledForTimeout) {
        worker.recycledForTimeout = true;
        recycleLocked(worker, RestartCause::Timeout);
    }
}

std::string WorkerGroup::recordCrash(Worker& worker)
{
    CrashSnapshot snapshot = CrashSnapshot::readFault(worker.process().crashPage());
    registry::CrashRecord record = CrashReport::crash(worker.process(), snapshot, worker.killedBecause);
    if (!worker.failure.empty()) record.summary = "the worker failed to start: " + worker.failure;
    LOG_ERROR(source(_spec), "worker pid " + std::to_string(worker.process().pid()) +
                                 " crashed: " + record.summary + " [" + record.crashId + "]");
    _lastCrashId = record.crashId;
    if (_registry != nullptr) {
        try {
            _registry->addCrash(record);
        } catch (const std::exception& e) {
            LOG_ERROR(kLog, std::string("cannot record a crash in the registry: ") + e.what());
        }
    }
    return record.crashId;
}

void WorkerGroup::onExit(const std::shared_ptr<Worker>& worker)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!worker->process().reap()) return;
    _supervisor.unwatch(worker->process().pidfd());
    _supervisor.unwatch(worker->process().control().fd());
    Worker::State was = worker->state;
    worker->state = Worker::State::Exited;
    const WorkerExit& exit = worker->process().exit();
    bool drained = was == Worker::State::Draining && exit.exited && exit.status == 0;
    bool expected = drained || worker->killed;
    std::string crashId;
    if (!expected) {
        crashId = recordCrash(*worker);
        _crashes.fetch_add(1, std::memory_order_relaxed);
    }
    uint32_t id = worker->handle->id;
    postToLanes([id, crashId](WorkerLane& lane, size_t) { lane.detach(id, crashId); });
    // Counters only grow: what a recycled or crashed worker last reported stays in the sums.
    for (const auto& [store, stats] : worker->sessionStores)
        _exitedSessionStores[store].add(stats);
    _workers.erase(std::remove(_workers.begin(), _workers.end(), worker), _workers.end());

    GroupState state = _state.load();
    if (!expected && (state == GroupState::Running || state == GroupState::Restarting)) {
        if (was == Worker::State::Starting && worker->replaces != 0) {
            // A replacement that never became ready: the worker it was to replace keeps serving.
            if (auto old = findLocked(worker->replaces);
                old && old->state == Worker::State::Retiring && !old->retirePosted)
                old->state = Worker::State::Ready;
        }
        RestartPolicy::Decision decision = _policy.onCrash(Clock::now());
        if (decision.quarantine) {
            quarantineLocked(std::to_string(_settings.restart.crashBudget) + " crashes within " +
                             std::to_string(_settings.restart.crashWindow.count() / 1000) +
                             " s (the last: " + crashId + ")");
        } else {
            _restarts[static_cast<size_t>(RestartCause::Crash)].fetch_add(1, std::memory_order_relaxed);
            _nextRestart = Clock::now() + decision.delay;
            if (liveLocked() < _settings.processes) _state.store(GroupState::Restarting);
        }
    }
    _changed.notify_all();
    _supervisor.wake();
}

WorkerGroup::Clock::time_point WorkerGroup::tick(Clock::time_point now) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    Clock::time_point next = now + std::chrono::seconds(1);
    GroupState state = _state.load();
    if (state == GroupState::Stopped || state == GroupState::Failed) return next;
    try {
        if ((state == GroupState::Running || state == GroupState::Restarting) &&
            liveLocked() < _settings.processes) {
            if (now >= _nextRestart) {
                try {
                    watchLocked(spawnLocked(0));
                } catch (const std::exception& e) {
                    LOG_ERROR(source(_spec), std::string("cannot start a worker: ") + e.what());
                    _nextRestart = now + std::chrono::seconds(1);
                }
            } else {
                next = std::min(next, _nextRestart);
            }
        }
        for (auto& worker : std::vector<std::shared_ptr<Worker>>(_workers)) {
            switch (worker->state) {
            case Worker::State::Starting:
                if (now >= worker->deadline && worker->killedBecause.empty()) {
                    worker->failure = "did not become ready within " +
                                      std::to_string(_settings.startTimeout.count()) +
                                      " ms (a constructor, init or on_init hangs)";
                    worker->killedBecause = worker->failure;
                    worker->process().signal(SIGKILL);
                }
                next = std::min(next, worker->deadline);
                break;
            case Worker::State::Draining:
                if (now >= worker->deadline && !worker->killed) {
                    LOG_WARN(source(_spec), "worker pid " + std::to_string(worker->process().pid()) +
                                                " did not drain within " +
                                                std::to_string(_settings.drainTimeout.count()) +
                                                " ms; killing it");
                    worker->killed = true;
                    worker->process().signal(SIGKILL);
                }
                next = std::min(next, worker->deadline);
                break;
            default:
                break;
            }
            if (!worker->timeouts.empty()) {
                if (now >= worker->stackDeadline) {
                    recordTimeoutLocked(*worker, CrashSnapshot{}); // it never dumped its stack
                } else {
                    next = std::min(next, worker->stackDeadline);
                }
            }
            if (worker->state == Worker::State::Ready && worker->recycleAfter > 0 &&
                worker->handle->requests.load(std::memory_order_relaxed) >= worker->recycleAfter) {
                LOG_INFO(source(_spec), "worker pid " + std::to_string(worker->process().pid()) + " served " +
                                            std::to_string(worker->recycleAfter) + " requests; recycling it");
                recycleLocked(*worker, RestartCause::Recycle);
            }
        }
        if (now >= _nextRssCheck) {
            _nextRssCheck = now + std::chrono::seconds(1);
            if (_settings.memoryLimit > 0) {
                for (auto& worker : std::vector<std::shared_ptr<Worker>>(_workers)) {
                    if (worker->state != Worker::State::Ready) continue;
                    uint64_t rss = worker->process().residentBytes();
                    if (rss <= _settings.memoryLimit) continue;
                    LOG_WARN(source(_spec), "worker pid " + std::to_string(worker->process().pid()) +
                                                " uses " + std::to_string(rss / (1024 * 1024)) +
                                                " MiB, over memoryLimit " +
                                                std::to_string(_settings.memoryLimit / (1024 * 1024)) +
                                                " MiB; recycling it");
                    recycleLocked(*worker, RestartCause::Memory);
                }
            }
        }
        next = std::min(next, _nextRssCheck);
        if (_settings.requestTimeout.count() > 0) {
            if (now >= _nextExpire) {
                _nextExpire = now + std::min<std::chrono::milliseconds>(std::chrono::milliseconds(250),
                                                                        _settings.requestTimeout / 4 +
                                                                            std::chrono::milliseconds(1));
                postToLanes([now](WorkerLane& lane, size_t) { lane.expire(now); });
            }
            next = std::min(next, _nextExpire);
        }
    } catch (const std::exception& e) {
        LOG_ERROR(source(_spec), std::string("supervision step failed: ") + e.what());
    }
    return next;
}

std::vector<std::shared_ptr<WorkerGroup::Worker>> WorkerGroup::askForStats(std::unique_lock<std::mutex>& lock,
                                                                           std::chrono::milliseconds wait)
{
    uint64_t sequence = ++_statsSequence;
    std::string request;
    WireWriter(request).u64(sequence);
    std::vector<std::shared_ptr<Worker>> asked;
    for (const auto& worker : _workers) {
        if (worker->state != Worker::State::Ready && worker->state != Worker::State::Retiring) continue;
        if (worker->process().control().send(ControlType::StatsRequest, request)) asked.push_back(worker);
    }
    _statsArrived.wait_for(lock, wait, [&] {
        for (const auto& worker : asked) {
            if (worker->statsSequence < sequence && worker->state != Worker::State::Exited) return false;
        }
        return true;
    });
    // A later caller's answer is as fresh; a worker that did not answer in time is left out.
    asked.erase(std::remove_if(asked.begin(), asked.end(),
                               [sequence](const auto& worker) { return worker->statsSequence < sequence; }),
                asked.end());
    return asked;
}

void WorkerGroup::addDataSourceStats(const std::string& name, datasource::DataSourceStatsSnapshot& into,
                                     std::chrono::milliseconds wait)
{
    std::unique_lock<std::mutex> lock(_mutex);
    for (const auto& worker : askForStats(lock, wait)) {
        for (const auto& [source, stats] : worker->dataSources) {
            if (source == name) into.add(stats);
        }
    }
}

void WorkerGroup::addSessionStoreStats(std::map<std::string, session::SessionStoreStats>& into,
                                       std::chrono::milliseconds wait)
{
    std::unique_lock<std::mutex> lock(_mutex);
    for (const auto& [store, stats] : _exitedSessionStores)
        into[store].add(stats);
    for (const auto& worker : askForStats(lock, wait)) {
        for (const auto& [store, stats] : worker->sessionStores)
            into[store].add(stats);
    }
}

GroupView WorkerGroup::view() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    GroupView view;
    view.state = groupStateName(_state.load());
    view.reason = _reason;
    auto now = Clock::now();
    for (const auto& worker : _workers) {
        GroupView::Process p;
        p.pid = worker->process().pid();
        p.uptimeSeconds = std::chrono::duration<double>(now - worker->process().started()).count();
        p.residentBytes = worker->process().residentBytes();
        p.requests = worker->handle->requests.load(std::memory_order_relaxed);
        switch (worker->state) {
        case Worker::State::Starting:
            p.state = "starting";
            break;
        case Worker::State::Ready:
            p.state = "running";
            break;
        default:
            p.state = "draining";
        }
        view.processes.push_back(p);
    }
    view.crashes = _crashes.load(std::memory_order_relaxed);
    for (size_t i = 0; i < kRestartCauses; ++i)
        view.restarts[i] = _restarts[i].load(std::memory_order_relaxed);
    view.replayed = _replayed.load(std::memory_order_relaxed);
    view.failedByCrash = _failedByCrash.load(std::memory_order_relaxed);
    view.lastCrashId = _lastCrashId;
    return view;
}

} // namespace serval::process
