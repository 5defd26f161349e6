#pragma once

#include <cstdint>

namespace serval::http {

class DispatchLane;

/// One exchange waiting for a thread to run HttpHandler::service() (the Connector's
/// connection). Lanes queue it by pointer through `laneNext`, so dispatching allocates nothing.
/// OWNERSHIP: the Connector's; a lane only holds it between submit() and running (or cancel()).
class DispatchTask
{
public:
    /// On the lane's thread, exactly once per accepted submit(): runs service() and what
    /// follows, hands the connection back to its loop, then asks the lane it was submitted to
    /// for its next task (DispatchLane::finished()) and returns that (or nullptr): the calling
    /// thread runs it next, so a lane's queue moves on without another hand-off.
    virtual DispatchTask* runOnWorker() noexcept = 0;
    /// The Connector's shared worker pool: where a lane without threads of its own runs tasks.
    virtual DispatchLane& sharedLane() noexcept = 0;

    DispatchTask* laneNext = nullptr; ///< a lane's queue link while the task waits in it

protected:
    ~DispatchTask() = default;
};

/// Where Worker exchanges run (DESIGN wave 2, section 3). HeadDecision::lane picks one per
/// request; none means the Connector's shared pool. The Engine gives the manager and /metrics
/// a pool of their own and each application Context a bounded share of the shared pool
/// (core/ContextLane.h), so no app can take the threads another app, or the admin, needs.
///
/// THREADS: submit() and cancel() from I/O loops (any of them), finished() from the lane's
/// worker threads; all concurrently. OWNERSHIP: lanes are owned by whoever created them
/// (Connector, Engine, Context) and must outlive every task submitted to them.
class DispatchLane
{
public:
    /// Takes `task`: it will run (runOnWorker() on some thread) unless this returns false;
    /// then the caller answers 503 with Retry-After at once. Must not block.
    virtual bool submit(DispatchTask& task) noexcept = 0;
    /// At the drain deadline: withdraws `task` if it is still waiting here (true: it will never
    /// run and the caller closes it); false if it has started (or was never here).
    virtual bool cancel(DispatchTask& task) noexcept = 0;
    /// A task this lane took has just run on the calling thread (called before that task hands
    /// its exchange back, so a lane owned by the exchange's Context is still alive): the next
    /// task that thread should run (one that waited here), or nullptr.
    virtual DispatchTask* finished() noexcept { return nullptr; }
    /// How many threads run this lane's tasks (bounds derived from it: half of the pool).
    virtual uint32_t threads() const noexcept = 0;

protected:
    ~DispatchLane() = default;
};

} // namespace serval::http
