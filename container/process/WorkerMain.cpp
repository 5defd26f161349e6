#include "process/WorkerMain.h"

#include "process/ControlSocket.h"
#include "process/CrashCapture.h"
#include "process/WorkerService.h"
#include "process/WorkerSpec.h"
#include "util/Log.h"
#include "util/Strings.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <string>
#include <sys/prctl.h>
#include <unistd.h>
#include <vector>

namespace serval::process {
namespace {

constexpr const char* kLog = "worker";

/// One line on stderr before the log is open, then the exit status.
int usage(const char* why)
{
    std::fprintf(stderr, "serval worker: %s; this mode is started by the server, never by hand\n", why);
    return 2;
}

/// setgroups/setgid/setuid to `user`; "" and an unprivileged server are no-ops (the server
/// warned when it read the configuration).
util::Outcome switchUser(const std::string& user)
{
    if (user.empty() || ::geteuid() != 0) return {};
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    if (::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return util::failure("user \"" + user +
                             "\" does not exist; create it or change user= on the <Context>");
    if (::initgroups(user.c_str(), found->pw_gid) != 0 || ::setgid(found->pw_gid) != 0 ||
        ::setuid(found->pw_uid) != 0)
        return util::failure("cannot switch to user \"" + user + "\": " + std::strerror(errno));
    if (::setuid(0) == 0) return util::failure("switching to user \"" + user + "\" left root privileges");
    return {};
}

/// Everything after the options; returns the exit status.
int runWorker(int controlFd, long parent);

} // namespace

int workerMain(int argc, char** argv)
{
    int controlFd = -1;
    long parent = -1;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string_view option = argv[i];
        auto value = util::parseUnsigned(argv[i + 1]);
        if (!value) return usage("bad option value");
        if (option == "--control-fd") {
            controlFd = static_cast<int>(*value);
        } else if (option == "--parent") {
            parent = static_cast<long>(*value);
        } else {
            return usage("unknown option");
        }
    }
    if (controlFd < 0 || parent <= 0) return usage("needs --control-fd N --parent PID");
    int status = runWorker(controlFd, parent);
    // Static destructors of app libraries and of the container are not run on purpose: the
    // Context is stopped (or never started), every response is out, nothing is left to clean
    // up, and the exit hook must not take this exit for app code calling exit().
    CrashCapture::disarmExitHook();
    std::fflush(nullptr);
    ::_exit(status);
}

namespace {

int runWorker(int controlFd, long parent)
{
    // Die with the server. The request takes effect only from here on: if the server died a
    // moment ago, our parent is already someone else.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) return 1;
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    // The server decides when a worker stops (Drain): a SIGTERM or Ctrl-C meant for the whole
    // process group must not cut in-flight requests short.
    std::signal(SIGTERM, SIG_IGN);
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGPIPE, SIG_IGN);

    ControlSocket control{util::FileDescriptor(controlFd)};
    ControlSocket::Message message;
    if (control.receive(message, 10000) != ControlSocket::Result::Message ||
        message.type != ControlType::Spec || message.fds.size() != 1)
        return usage("no spec from the server");
    std::optional<WorkerSpec> spec = WorkerSpec::decode(message.payload);
    if (!spec) return usage("the spec does not decode");

    CrashPageMapping crashPage;
    try {
        crashPage.attach(std::move(message.fds[0]));
    } catch (const std::exception& e) {
        control.send(ControlType::Failed, e.what());
        return 1;
    }
    CrashCapture::install(crashPage.page());

    util::Log::setLevel(spec->logLevel);
    // Like the server's own log: the file and the stderr the worker shares with the server.
    if (!spec->logFile.empty()) util::Log::openFile(spec->logFile, true);
    std::string name = "worker " + spec->describe() + " #" + std::to_string(spec->index);

    if (util::Outcome switched = switchUser(spec->user); !switched) {
        control.send(ControlType::Failed, switched.error());
        return 1;
    }

    int status = 1;
    {
        WorkerService service(std::move(control), *spec);
        util::Expected<ReadyMessage> started = service.start();
        ControlSocket& socket = service.control();
        if (!started) {
            socket.send(ControlType::Failed, started.error());
            return 1;
        }
        for (uint32_t i = 0; i < spec->channels; ++i) {
            if (socket.receive(message, 10000) != ControlSocket::Result::Message ||
                message.type != ControlType::AttachChannel)
                return usage("no channel from the server");
            try {
                service.attach(message);
            } catch (const std::exception& e) {
                socket.send(ControlType::Failed, e.what());
                return 1;
            }
        }
        std::string ready = started->encode();
        if (ready.size() + sizeof(uint32_t) > ControlSocket::kMaxMessage) {
            socket.send(ControlType::Failed,
                        "the app's libraries declare more servlets, filters and listeners "
                        "than fit one control message (64 KiB); declare fewer in code or "
                        "move them to WEB-INF/web.xml");
            return 1;
        }
        socket.send(ControlType::Ready, ready);
        LOG_DEBUG(kLog, name + " ready (pid " + std::to_string(::getpid()) + ")");
        status = service.run();
    }
    LOG_DEBUG(kLog, name + " drained and stopped");
    return status;
}

} // namespace
} // namespace serval::process
