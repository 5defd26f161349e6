#pragma once

#include <cstdint>

namespace serval::manager {

/// This process's resource use from /proc/self (Linux). Any thread; reads a few small files.
struct ProcessStats
{
    uint64_t residentBytes = 0;
    uint64_t openFds = 0;
    uint64_t threads = 0;

    static ProcessStats read() noexcept;
};

} // namespace serval::manager
