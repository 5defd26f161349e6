#include "process/WorkerProcess.h"

#include "process/Wire.h"
#include "util/Strings.h"

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <functional>
#include <future>
#include <mutex>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace serval::process {
namespace {

constexpr int kChildControlFd = 3;

// glibc 2.36's <sys/pidfd.h> lacks C linkage for C++: the system calls directly.
int pidfdOpen(pid_t pid) noexcept
{
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfdSendSignal(int pidfd, int sig) noexcept
{
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

std::runtime_error systemError(const std::string& what, int error)
{
    return std::runtime_error(what + ": " + std::strerror(error));
}

/// Runs `spawn` (a posix_spawn) on a thread that lives as long as the server. A worker's
/// PR_SET_PDEATHSIG fires when the *thread* that spawned it ends, not the process: workers are
/// started from the deployer's thread (a deploy, a redeploy), the supervisor's (a restart) and
/// admin requests' threads, and the deployer's ends at shutdown before the apps stop, so every
/// worker a redeploy had started was killed mid-drain (and reported as a crash). This thread
/// never ends; the workers die with the process, as they should.
int spawnFromLastingThread(std::function<int()> spawn)
{
    struct Spawner
    {
        std::mutex mutex;
        std::condition_variable ready;
        std::deque<std::packaged_task<int()>> tasks;
    };
    static Spawner* spawner = [] {
        auto* s = new Spawner(); // never destroyed: the thread uses it until the process ends
        std::thread([s] {
            for (;;) {
                std::packaged_task<int()> task;
                {
                    std::unique_lock<std::mutex> lock(s->mutex);
                    s->ready.wait(lock, [s] { return !s->tasks.empty(); });
                    task = std::move(s->tasks.front());
                    s->tasks.pop_front();
                }
                task();
            }
        }).detach();
        return s;
    }();
    std::packaged_task<int()> task(std::move(spawn));
    std::future<int> result = task.get_future();
    {
        std::lock_guard<std::mutex> lock(spawner->mutex);
        spawner->tasks.push_back(std::move(task));
    }
    spawner->ready.notify_one();
    return result.get();
}

} // namespace

std::string WorkerExit::describe() const
{
    return exited ? "exit status " + std::to_string(status) : util::signalName(status);
}

std::shared_ptr<WorkerProcess> WorkerProcess::spawn(const WorkerSpec& spec, const Options& options)
{
    std::shared_ptr<WorkerProcess> worker(new WorkerProcess());
    worker->_spec = spec;
    worker->_spec.channels = options.channels;
    worker->_crashPage.create();
    for (uint32_t i = 0; i < options.channels; ++i) {
        worker->_channels.push_back(std::make_unique<Channel>());
        worker->_channels.back()->create(options.capacity);
    }
    auto [ours, theirs] = ControlSocket::pair();
    worker->_control = std::move(ours);
    // The child's end becomes fd 3; if it already is 3, dup2(3, 3) would keep close-on-exec.
    util::FileDescriptor childEnd = theirs.release();
    if (childEnd.get() == kChildControlFd) childEnd.reset(::fcntl(kChildControlFd, F_DUPFD_CLOEXEC, 10));
    if (!childEnd) throw systemError("cannot pass the control socket to a worker", errno);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, childEnd.get(), kChildControlFd);
    // Only stdin, stdout, stderr and the control socket survive: the server's sockets, files
    // and other workers' channels (not all close-on-exec) stay out of the child.
    posix_spawn_file_actions_addclosefrom_np(&actions, kChildControlFd + 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::string parent = std::to_string(::getpid());
    std::string fd = std::to_string(kChildControlFd);
    std::vector<std::string> args = {options.binary, "worker", "--control-fd", fd, "--parent", parent};
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = spawnFromLastingThread(
        [&] { return ::posix_spawn(&pid, options.binary.c_str(), &actions, &attr, argv.data(), environ); });
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    childEnd.reset();
    if (rc != 0) throw systemError("cannot start a worker process (" + options.binary + ")", rc);
    worker->_pid = pid;
    worker->_started = std::chrono::steady_clock::now();
    // The child cannot be reaped before we wait for it, so the pid still names it here.
    worker->_pidfd.reset(pidfdOpen(pid));
    if (!worker->_pidfd) {
        int error = errno;
        ::kill(pid, SIGKILL);
        worker->waitExit(std::chrono::milliseconds(0));
        throw systemError("cannot watch a worker process (pidfd_open)", error);
    }

    bool sent = worker->_control.send(ControlType::Spec, worker->_spec.encode(), {worker->_crashPage.fd()});
    for (uint32_t i = 0; sent && i < options.channels; ++i) {
        std::string payload;
        WireWriter w(payload);
        w.u32(i);
        w.u32(options.capacity);
        Channel& channel = *worker->_channels[i];
        sent = worker->_control.send(ControlType::AttachChannel, payload,
                                     {channel.memoryFd(), channel.serverWakeFd(), channel.workerWakeFd()});
    }
    // A worker that died at once shows up in waitReady() as a closed socket and an exit status.
    return worker;
}

WorkerProcess::~WorkerProcess()
{
    if (_pid > 0 && !_reaped) {
        signal(SIGKILL);
        waitExit(std::chrono::milliseconds(0));
    }
}

util::Expected<ReadyMessage> WorkerProcess::waitReady(std::chrono::milliseconds timeout)
{
    auto end = std::chrono::steady_clock::now() + timeout;
    ControlSocket::Message message;
    while (true) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            signal(SIGKILL);
            waitExit(std::chrono::milliseconds(0));
            return util::failure("the worker did not start within " + std::to_string(timeout.count()) +
                                 " ms (a constructor, init or on_init hangs)");
        }
        ControlSocket::Result result = _control.receive(message, static_cast<int>(left.count()));
        if (result == ControlSocket::Result::WouldBlock) continue;
        if (result == ControlSocket::Result::Message && message.type == ControlType::Ready) {
            if (std::optional<ReadyMessage> ready = ReadyMessage::decode(message.payload)) return *ready;
            signal(SIGKILL);
            waitExit(std::chrono::milliseconds(0));
            return util::failure("the worker's ready message does not decode (killed)");
        }
        if (result == ControlSocket::Result::Message && message.type == ControlType::Failed) {
            waitExit(std::chrono::milliseconds(2000));
            return util::failure(message.payload);
        }
        // Closed, malformed, or a message out of turn: the worker is not going to be ready.
        signal(SIGKILL);
        waitExit(std::chrono::milliseconds(0));
        return util::failure("the worker process ended while starting (" + _exit.describe() + ")");
    }
}

bool WorkerProcess::drain() noexcept
{
    return _control.send(ControlType::Drain, {});
}

bool WorkerProcess::signal(int sig) noexcept
{
    if (_reaped || !_pidfd) return false;
    return pidfdSendSignal(_pidfd.get(), sig) == 0;
}

bool WorkerProcess::reap() noexcept
{
    if (_reaped) return true;
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(_pidfd.get()), &info, WEXITED | WNOHANG) != 0) {
        if (errno != ECHILD) return false;
        _reaped = true; // someone else reaped it: the status is lost
        _exit = WorkerExit{false, 0};
        return true;
    }
    if (info.si_pid == 0) return false;
    _reaped = true;
    _exit.exited = info.si_code == CLD_EXITED;
    _exit.status = info.si_status;
    return true;
}

void WorkerProcess::waitExit(std::chrono::milliseconds grace) noexcept
{
    auto end = std::chrono::steady_clock::now() + grace;
    while (!reap()) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            signal(SIGKILL);
            siginfo_t info{};
            while (::waitid(P_PIDFD, static_cast<id_t>(_pidfd.get()), &info, WEXITED) != 0 &&
                   errno == EINTR) {
            }
            _reaped = true;
            _exit.exited = info.si_code == CLD_EXITED;
            _exit.status = info.si_status;
            return;
        }
        pollfd p{_pidfd.get(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
}

uint64_t WorkerProcess::residentBytes() const noexcept
{
    if (_reaped) return 0;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/statm", static_cast<int>(_pid));
    util::FileDescriptor fd(::open(path, O_RDONLY | O_CLOEXEC));
    if (!fd) return 0;
    char buffer[128];
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
    if (n <= 0) return 0;
    buffer[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(buffer, "%llu %llu", &size, &resident) != 2) return 0;
    return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace serval::process
