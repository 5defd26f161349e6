#include "manager/ProcessStats.h"

#include <cstdio>
#include <cstring>
#include <dirent.h>

namespace serval::manager {

ProcessStats ProcessStats::read() noexcept
{
    ProcessStats stats;
    if (FILE* f = std::fopen("/proc/self/status", "re")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            unsigned long long value = 0;
            if (std::sscanf(line, "VmRSS: %llu kB", &value) == 1) stats.residentBytes = value * 1024;
            if (std::sscanf(line, "Threads: %llu", &value) == 1) stats.threads = value;
        }
        std::fclose(f);
    }
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (dirent* entry = ::readdir(dir)) {
            if (entry->d_name[0] != '.') ++stats.openFds;
        }
        ::closedir(dir);
        if (stats.openFds > 0) --stats.openFds; // the directory stream's own descriptor
    }
    return stats;
}

} // namespace serval::manager
