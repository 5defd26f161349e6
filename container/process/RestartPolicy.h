#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

namespace serval::process {

/// <Context> crash handling knobs (server.xml; the defaults are the issue's).
struct RestartSettings
{
    std::chrono::milliseconds initialBackoff{100}; ///< the wait after the second crash in a row
    std::chrono::milliseconds maxBackoff{30000};
    std::chrono::milliseconds healthyAfter{60000}; ///< this long without a crash resets the back-off
    uint32_t crashBudget = 5;                      ///< this many crashes ...
    std::chrono::milliseconds crashWindow{60000};  ///< ... within this window quarantine the app
};

/// When to restart a crashed worker, and when to stop trying (quarantine). Pure bookkeeping
/// over the times it is given, so tests drive the clock.
///
/// The first crash after a healthy period restarts at once (a lone crash costs no more than the
/// spawn); each further crash within healthyAfter doubles the wait, from initialBackoff up to
/// maxBackoff. crashBudget crashes within crashWindow quarantine the app until reset() (the
/// operator's start or reload, or a new version). Recycles (memory, maxRequestsPerProcess,
/// a hang's worker) are not crashes and never reach this class.
///
/// THREADS: the supervisor's (the WorkerGroup's lock).
class RestartPolicy
{
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    struct Decision
    {
        bool quarantine = false;
        std::chrono::milliseconds delay{0}; ///< before the replacement is started
    };

    explicit RestartPolicy(RestartSettings settings = {}) : _settings(settings) {}

    Decision onCrash(TimePoint now);
    /// Lifts a quarantine and forgets the crashes.
    void reset() noexcept;
    bool quarantined() const noexcept { return _quarantined; }
    /// Crashes within the window that ends at `now`.
    uint32_t recentCrashes(TimePoint now) const noexcept;
    const RestartSettings& settings() const noexcept { return _settings; }

private:
    RestartSettings _settings;
    std::deque<TimePoint> _crashes; ///< within the window, oldest first
    std::chrono::milliseconds _backoff{0};
    bool _hasCrashed = false;
    TimePoint _lastCrash{};
    bool _quarantined = false;
};

} // namespace serval::process
