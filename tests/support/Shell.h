#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace serval::test {

/// Runs a shell command (openssl s_client, curl, h2load, a Python harness): its output, stdout
/// and stderr together; `status` is its exit status (-1 if it did not exit normally).
inline std::string runCommand(const std::string& command, int& status)
{
    std::string out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return out;
    std::array<char, 4096> chunk;
    size_t n;
    while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0)
        out.append(chunk.data(), n);
    int rc = ::pclose(pipe);
    status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

} // namespace serval::test
