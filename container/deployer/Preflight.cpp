#include "deployer/Preflight.h"

#include "deployer/ElfInspector.h"
#include "deployer/PreflightLoad.h"
#include "util/FileDescriptor.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace serval::deployer {

namespace {

std::string baseName(const std::string& path)
{
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

int printResult(bool ok, const std::string& text)
{
    std::string line = (ok ? "ok: " : "refused: ") + text + "\n";
    ssize_t ignored = ::write(STDOUT_FILENO, line.data(), line.size());
    (void)ignored;
    return ok ? 0 : 1;
}

std::string signalName(int sig)
{
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

} // namespace

std::string selfExecutable()
{
    std::array<char, 4096> buf{};
    ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string();
}

int preflightMain(int argc, char** argv)
{
    if (argc < 3 || std::string(argv[1]) != "preflight") {
        std::fprintf(stderr, "usage: %s preflight LIB.so [--context PATH]\n", argc > 0 ? argv[0] : "serval");
        return 2;
    }
    // If the server dies (kill -9) while we load, do not linger: a hanging library would
    // otherwise keep this orphan alive forever.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string library = argv[2];
    std::string contextPath = "/preflight";
    for (int i = 3; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--context" && i + 1 < argc) {
            contextPath = argv[++i];
        } else {
            std::fprintf(stderr, "serval preflight: unknown argument \"%s\"\n", arg.c_str());
            return 2;
        }
    }
    std::string name = baseName(library);
    std::string reason;
    // ELF checks here; the entry symbol and ABI gate are the loader's (its sentences).
    if (!ElfInspector::check(library, false, reason)) return printResult(false, name + " " + reason);
    std::string detail;
    if (!preflightLoad(library, contextPath, detail, reason)) return printResult(false, reason);
    return printResult(true, detail);
}

PreflightResult runPreflight(const std::string& binary, const std::string& library,
                             const std::string& contextPath, std::chrono::milliseconds deadline)
{
    PreflightResult result;
    std::string name = baseName(library);
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
        result.detail = name + ": cannot start the preflight process (pipe: " + std::strerror(errno) + ")";
        return result;
    }
    util::FileDescriptor readEnd(pipeFds[0]);
    util::FileDescriptor writeEnd(pipeFds[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, writeEnd.get(), STDERR_FILENO);
    // The server's sockets and files (not all of them CLOEXEC) stay out of the child.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigfillset(&defaults);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> args = {binary, "preflight", library, "--context", contextPath};
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, binary.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    writeEnd.reset();
    if (rc != 0) {
        result.detail =
            name + ": cannot start the preflight process " + binary + " (" + std::strerror(rc) + ")";
        return result;
    }

    // Read the child's output until EOF or the deadline; a pidfd would also work, but EOF on
    // the pipe happens when the child exits (or closes its stdout, then waitpid below bounds it).
    std::string output;
    auto end = std::chrono::steady_clock::now() + deadline;
    bool timedOut = false;
    while (true) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timedOut = true;
            break;
        }
        pollfd p{readEnd.get(), POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            timedOut = n == 0;
            break;
        }
        char buf[1024];
        ssize_t got = ::read(readEnd.get(), buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (output.size() < 8192) output.append(buf, static_cast<size_t>(got));
    }
    int status = 0;
    if (timedOut) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        result.detail = name + " did not finish loading within " + std::to_string(deadline.count()) +
                        " ms in the preflight process (a constructor or init hangs); fix it and redeploy";
        return result;
    }
    // The pipe closed: the child is exiting. Bound the wait anyway (a child could close its
    // stdout and keep running).
    while (true) {
        pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) break;
        if (std::chrono::steady_clock::now() > end) {
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            result.detail = name + " did not finish loading within " + std::to_string(deadline.count()) +
                            " ms in the preflight process (a constructor or init hangs); fix it and redeploy";
            return result;
        }
        pollfd p{readEnd.get(), 0, 0};
        ::poll(&p, 1, 2); // the pipe is at EOF: this only paces the wait
    }

    // The last "ok:"/"refused:" line is the verdict; anything else is the library's own output.
    std::string verdict;
    size_t pos = 0;
    while (pos < output.size()) {
        size_t nl = output.find('\n', pos);
        if (nl == std::string::npos) nl = output.size();
        std::string line = output.substr(pos, nl - pos);
        if (line.rfind("ok: ", 0) == 0 || line.rfind("refused: ", 0) == 0) verdict = line;
        pos = nl + 1;
    }
    if (WIFSIGNALED(status)) {
        result.detail = name + " crashed the preflight process with " + signalName(WTERMSIG(status)) +
                        " while loading (in a constructor or init); fix the crash and redeploy";
        return result;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0 && verdict.rfind("ok: ", 0) == 0) {
        result.ok = true;
        result.detail = verdict.substr(4);
        return result;
    }
    if (code == 1 && verdict.rfind("refused: ", 0) == 0) {
        result.detail = verdict.substr(9);
        return result;
    }
    result.detail =
        name + " ended the preflight process with exit status " + std::to_string(code) +
        " while loading (a constructor or init called exit()); libraries must not exit the process";
    return result;
}

} // namespace serval::deployer
