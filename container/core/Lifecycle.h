#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

namespace serval::core {

enum class LifecycleState
{
    New,
    Starting,
    Started,
    Stopping,
    Stopped,
    Failed
};

/// "new", "starting", "started", "stopping", "stopped", "failed".
std::string_view lifecycleStateName(LifecycleState state) noexcept;

/// Template method for everything that starts and stops (Tomcat's LifecycleBase): Server,
/// Engine, Host, Context.
///
/// start() checks the transition and calls startInternal(); a second start() while Started is a
/// no-op. If startInternal() throws, the reason (what()) is kept, stopInternal() runs to clean
/// up what was started, and the state ends in Failed. stop() from Started or Failed calls
/// stopInternal() and ends in Stopped. A Stopped or Failed component may be started again.
///
/// THREADS: start()/stop() run on control threads (startup, deployer, admin) and are
/// serialised by a mutex; state() is an atomic read, safe from request threads.
class Lifecycle
{
public:
    virtual ~Lifecycle() = default;

    /// Returns true if the component is Started afterwards. Never throws.
    bool start() noexcept;
    /// Never throws; stopInternal() must not either.
    void stop() noexcept;

    /// Sequentially consistent: the Engine counts a request in, then reads the state, while
    /// stop() writes the state, then waits for the count to drain (a Dekker-style handshake).
    LifecycleState state() const noexcept { return _state.load(std::memory_order_seq_cst); }
    bool isStarted() const noexcept { return state() == LifecycleState::Started; }
    /// Why the last start() failed ("" otherwise): one actionable sentence.
    std::string failureReason() const;

protected:
    /// Throws std::exception with an actionable message to fail the start.
    virtual void startInternal() = 0;
    /// Releases what startInternal() acquired; also called after a partial start.
    virtual void stopInternal() noexcept = 0;
    /// For log lines: "Context /shop".
    virtual std::string lifecycleName() const = 0;

private:
    std::mutex _transition;
    std::atomic<LifecycleState> _state{LifecycleState::New};
    mutable std::mutex _reasonMutex;
    std::string _failureReason;
};

} // namespace serval::core
