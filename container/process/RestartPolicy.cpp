#include "process/RestartPolicy.h"

#include <algorithm>

namespace serval::process {

RestartPolicy::Decision RestartPolicy::onCrash(TimePoint now)
{
    while (!_crashes.empty() && now - _crashes.front() >= _settings.crashWindow)
        _crashes.pop_front();
    _crashes.push_back(now);

    if (!_hasCrashed || now - _lastCrash >= _settings.healthyAfter) {
        _backoff = std::chrono::milliseconds(0);
    } else if (_backoff.count() == 0) {
        _backoff = _settings.initialBackoff;
    } else {
        _backoff = std::min(_backoff * 2, _settings.maxBackoff);
    }
    _hasCrashed = true;
    _lastCrash = now;

    Decision decision;
    decision.delay = _backoff;
    if (_crashes.size() >= _settings.crashBudget) {
        _quarantined = true;
        decision.quarantine = true;
    }
    return decision;
}

void RestartPolicy::reset() noexcept
{
    _crashes.clear();
    _backoff = std::chrono::milliseconds(0);
    _hasCrashed = false;
    _quarantined = false;
}

uint32_t RestartPolicy::recentCrashes(TimePoint now) const noexcept
{
    return static_cast<uint32_t>(std::count_if(_crashes.begin(), _crashes.end(),
                                               [&](TimePoint t) { return now - t < _settings.crashWindow; }));
}

} // namespace serval::process
