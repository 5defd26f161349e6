#include "core/Lifecycle.h"

#include "util/Log.h"

#include <exception>

namespace serval::core {

std::string_view lifecycleStateName(LifecycleState state) noexcept
{
    switch (state) {
    case LifecycleState::New:
        return "new";
    case LifecycleState::Starting:
        return "starting";
    case LifecycleState::Started:
        return "started";
    case LifecycleState::Stopping:
        return "stopping";
    case LifecycleState::Stopped:
        return "stopped";
    case LifecycleState::Failed:
        return "failed";
    }
    return "unknown";
}

bool Lifecycle::start() noexcept
{
    std::lock_guard<std::mutex> lock(_transition);
    LifecycleState current = state();
    if (current == LifecycleState::Started) return true;
    _state.store(LifecycleState::Starting, std::memory_order_release);
    std::string reason;
    try {
        startInternal();
        {
            std::lock_guard<std::mutex> reasonLock(_reasonMutex);
            _failureReason.clear();
        }
        _state.store(LifecycleState::Started, std::memory_order_release);
        return true;
    } catch (const std::exception& e) {
        reason = e.what();
    } catch (...) {
        reason = "unknown error";
    }
    // Clean up whatever the partial start acquired, then record why.
    stopInternal();
    {
        std::lock_guard<std::mutex> reasonLock(_reasonMutex);
        _failureReason = reason;
    }
    _state.store(LifecycleState::Failed, std::memory_order_release);
    return false;
}

void Lifecycle::stop() noexcept
{
    std::lock_guard<std::mutex> lock(_transition);
    LifecycleState current = state();
    if (current == LifecycleState::New) {
        _state.store(LifecycleState::Stopped, std::memory_order_release);
        return;
    }
    if (current != LifecycleState::Started) return; // Stopped, or Failed (already cleaned up)
    _state.store(LifecycleState::Stopping, std::memory_order_seq_cst);
    stopInternal();
    _state.store(LifecycleState::Stopped, std::memory_order_release);
}

std::string Lifecycle::failureReason() const
{
    std::lock_guard<std::mutex> lock(_reasonMutex);
    return _failureReason;
}

} // namespace serval::core
