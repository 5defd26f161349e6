#pragma once

#include "process/Channel.h"
#include "process/ControlSocket.h"
#include "process/CrashPage.h"
#include "process/ReadyMessage.h"
#include "process/WorkerSpec.h"
#include "util/Expected.h"
#include "util/FileDescriptor.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace serval::process {

/// How a worker process ended (WorkerProcess::reap()).
struct WorkerExit
{
    bool exited = false;          ///< exit() / _exit() with `status`
    int status = 0;               ///< exit status, or the signal when !exited
    std::string describe() const; ///< "exit status 3", "SIGSEGV"
};

/// One worker process as the server holds it: the child (pid and pidfd), the control socket,
/// one Channel per server I/O loop, and the crash page its fatal-signal handler fills.
///
/// spawn() runs `BINARY worker --control-fd 3 --parent PID` with posix_spawn (never fork() of
/// the threaded server): stdin from /dev/null, stdout and stderr the server's, the control
/// socket as fd 3 and nothing else (every other descriptor is closed in the child, whether or
/// not it is close-on-exec); the spec, the crash page and the channels follow as messages.
///
/// OWNERSHIP: owned by its WorkerGroup (shared with the lanes that hold its channels: a
/// channel outlives the process it talked to until every loop let go of it).
/// THREADS: spawn() and waitReady() on a control thread (deployer, supervisor); the channels
/// each belong to one loop; signal(), reap() and residentBytes() from the supervisor.
class WorkerProcess
{
public:
    struct Options
    {
        std::string binary = "/proc/self/exe"; ///< the running server, even if replaced on disk
        uint32_t channels = 1;                 ///< one per server I/O loop
        uint32_t capacity = Channel::kDefaultCapacity;
    };

    /// Throws std::runtime_error (descriptors, memory, posix_spawn) with one line.
    static std::shared_ptr<WorkerProcess> spawn(const WorkerSpec& spec, const Options& options);
    ~WorkerProcess();
    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;

    /// Waits up to `timeout` for Ready (what the worker loaded and its code declarations) or
    /// Failed (the reason), or the process dying first. The failure is one line naming the
    /// cause; a Ready that does not decode kills the worker.
    util::Expected<ReadyMessage> waitReady(std::chrono::milliseconds timeout);

    pid_t pid() const noexcept { return _pid; }
    int pidfd() const noexcept { return _pidfd.get(); }
    ControlSocket& control() noexcept { return _control; }
    Channel& channel(size_t loop) noexcept { return *_channels[loop]; }
    size_t channelCount() const noexcept { return _channels.size(); }
    const CrashPage& crashPage() const noexcept { return *_crashPage.page(); }
    const WorkerSpec& spec() const noexcept { return _spec; }
    std::chrono::steady_clock::time_point started() const noexcept { return _started; }

    /// Sends ControlType::Drain (finish, stop the Context, exit 0).
    bool drain() noexcept;
    /// pidfd_send_signal (never a pid that may have been reused). False once reaped.
    bool signal(int sig) noexcept;
    /// Collects the exit status if the process has ended (non-blocking). True once it has.
    bool reap() noexcept;
    /// Blocks until the process ends, killing it after `grace`; then reaps it.
    void waitExit(std::chrono::milliseconds grace) noexcept;
    bool reaped() const noexcept { return _reaped; }
    const WorkerExit& exit() const noexcept { return _exit; }
    /// VmRSS from /proc/PID/statm (0 once gone).
    uint64_t residentBytes() const noexcept;

private:
    WorkerProcess() = default;

    WorkerSpec _spec;
    pid_t _pid = -1;
    util::FileDescriptor _pidfd;
    ControlSocket _control;
    std::vector<std::unique_ptr<Channel>> _channels;
    CrashPageMapping _crashPage;
    std::chrono::steady_clock::time_point _started;
    bool _reaped = false;
    WorkerExit _exit;
};

} // namespace serval::process
