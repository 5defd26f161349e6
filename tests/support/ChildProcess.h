#pragma once

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

namespace serval::test {

/// One child process of a test (serval, redis-server, a helper binary): posix_spawn, stdin from
/// /dev/null, stdout and stderr appended to one file. The destructor stops it (SIGTERM, then
/// SIGKILL after the grace period), so no test leaves a process behind.
class ChildProcess
{
public:
    ChildProcess() = default;
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// argv[0] is the program's path. Returns false (and fills error()) if it cannot start.
    bool spawn(const std::vector<std::string>& argv, const std::string& outputPath);
    /// True while the child runs; reaps it (and records its status) once it has exited.
    bool running();
    /// Sends `signal`, waits up to `grace` (polling), then SIGKILL. Returns the wait status
    /// (for WIFEXITED and friends), or -1 when nothing was running or SIGKILL was needed.
    int stop(int signal = SIGTERM, std::chrono::milliseconds grace = std::chrono::seconds(10));
    /// SIGKILL and reap: the crash in crash-safety tests.
    void kill();

    int pid() const noexcept { return _pid; }
    /// The wait status of the child's last exit as running() or stop() reaped it (for
    /// WIFSIGNALED and friends); -1 before that, or when kill() or a SIGKILL ended it.
    int status() const noexcept { return _status; }
    const std::string& error() const noexcept { return _error; }

private:
    int _pid = -1;
    int _status = -1;
    std::string _error;
};

} // namespace serval::test
