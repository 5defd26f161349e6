#pragma once

#include <array>
#include <cstdint>
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

/// `openssl s_client` with `flags` against 127.0.0.1:`port` (10 s at most), `input` on its
/// stdin (printf escapes; "" = none): its output; `status` its exit status.
inline std::string opensslClient(uint16_t port, const std::string& flags, int& status,
                                 const std::string& input = "")
{
    const std::string feed = input.empty() ? "</dev/null" : "";
    const std::string prefix = input.empty() ? "" : "printf '" + input + "' | ";
    return runCommand(prefix + "timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                          " " + flags + " " + feed,
                      status);
}

} // namespace serval::test
