#pragma once

#include "support/ChildProcess.h"
#include "support/Eventually.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace serval::test {

/// A real `serval` child process, for integration tests.
///
/// start() runs `$SERVAL_BIN/serval --base BASE --port 0 [args...]` with stderr (the log)
/// captured to BASE/serval.stderr, and waits (polling with a deadline, no sleeps) for the
/// line "listening on http://ADDR:PORT/". The destructor sends SIGTERM and waits; SIGKILL
/// after 10 s.
///
/// Sanitizer builds: whenever the child is found exited (stop(), running(), the destructor), a
/// report from AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer in its stderr is
/// copied to this test's stderr and fails the current test; the temp base that holds
/// serval.stderr is usually gone by the time anyone looks.
class ServalProcess
{
public:
    explicit ServalProcess(std::string base) : _base(std::move(base)) {}
    ~ServalProcess();
    ServalProcess(const ServalProcess&) = delete;
    ServalProcess& operator=(const ServalProcess&) = delete;

    /// Returns false (and fills error()) if the process exited or did not report a port in time.
    bool start(const std::vector<std::string>& extraArgs = {},
               std::chrono::milliseconds deadline = std::chrono::seconds(15));
    /// SIGTERM and wait; returns the exit status (WEXITSTATUS) or -1.
    int stop(int signal = 15);
    /// SIGKILL, no cleanup (crash-safety tests).
    void kill();
    bool running();
    /// The signal that ended the process (0 if it exited, or has not ended yet).
    int terminatingSignal() const noexcept { return _terminatingSignal; }

    uint16_t port() const noexcept { return _port; }
    /// The port of the first TLS connector ("listening on https://..."), 0 if none. A TLS
    /// connector with port="0" in server.xml gets a free port too (--port sets the first only).
    uint16_t tlsPort() const;
    const std::string& address() const noexcept { return _address; }
    int pid() const noexcept { return _process.pid(); }
    const std::string& base() const noexcept { return _base; }
    std::string log() const; ///< everything the process wrote to stderr so far
    const std::string& error() const noexcept { return _error; }

    /// Polls log() until it contains `needle` or the deadline passes.
    bool waitForLog(const std::string& needle,
                    std::chrono::milliseconds deadline = std::chrono::seconds(10)) const;

    /// Path to the serval binary ($SERVAL_BIN/serval).
    static std::string binary();

    /// The first sanitizer report in `log` (from its "==PID==ERROR:" or "runtime error:" line to
    /// the end, at most 16 KiB), or "".
    static std::string sanitizerReport(const std::string& log);

private:
    void reportSanitizerFindings() const;

    std::string _base;
    ChildProcess _process;
    uint16_t _port = 0;
    std::string _address;
    std::string _error;
    int _terminatingSignal = 0;
};

} // namespace serval::test
