#pragma once

#include <chrono>
#include <ctime>

namespace serval::test {

/// Polls `condition` every few milliseconds until it is true or `deadline` passes.
template <typename F>
bool eventually(F condition, std::chrono::milliseconds deadline = std::chrono::seconds(10))
{
    auto end = std::chrono::steady_clock::now() + deadline;
    while (true) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() > end) return false;
        struct timespec ts
        {
            0, 5 * 1000 * 1000
        };
        ::nanosleep(&ts, nullptr);
    }
}

} // namespace serval::test
