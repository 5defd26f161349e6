#include "bundle/Preflight.h"

#include "bundle/ContextName.h"
#include "util/FileDescriptor.h"
#include "util/Strings.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace serval::bundle {

namespace {

using util::failure;
using Clock = std::chrono::steady_clock;

std::string baseName(const std::string& path)
{
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool startsWith(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

/// Starts `argv` with stdin from /dev/null and stdout + stderr into a pipe; returns the pid
/// (or -1 with errno-style `rc`) and the pipe's read end.
pid_t spawn(const std::vector<std::string>& args, util::FileDescriptor& readEnd, int& rc)
{
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
        rc = errno;
        return -1;
    }
    readEnd.reset(pipeFds[0]);
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

    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (std::string& a : copy)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc == 0 ? pid : -1;
}

/// Reads the child's output until EOF or `end` (false: the deadline passed). EOF on the pipe
/// happens when the child exits (or closes its stdout; the caller bounds the wait after it).
bool readOutput(int fd, Clock::time_point end, std::string& output)
{
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) return false;
        if (n < 0) return true;
        char buf[1024];
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return true;
        if (output.size() < 8192) output.append(buf, static_cast<size_t>(got));
    }
}

/// Waits for `pid` until `end`; false (the child killed and reaped) if it does not exit by then.
bool waitUntil(pid_t pid, Clock::time_point end, int fd, int& status)
{
    while (true) {
        pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) return true;
        if (Clock::now() > end) break;
        pollfd p{fd, 0, 0};
        ::poll(&p, 1, 2); // the pipe is at EOF: this only paces the wait
    }
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return false;
}

} // namespace

PreflightRequest PreflightRequest::forBundle(const std::string& root, std::string_view label,
                                             const ValidationReport& report)
{
    PreflightRequest request;
    request.appName = ContextName::appName(label);
    // The app library only: its helpers come with it (DT_NEEDED), they have no entry to call.
    if (!report.appLibrary.empty()) request.libraries.push_back(root + "/" + report.appLibrary);
    // The child reads the descriptor itself: what it creates is web.xml merged over the
    // library's code declarations, which only loading it can tell.
    if (report.descriptor) request.webXml = root + "/WEB-INF/web.xml";
    return request;
}

std::vector<std::string> PreflightRequest::arguments() const
{
    std::vector<std::string> args = {"--app", appName};
    if (!webXml.empty()) {
        args.push_back("--web-xml");
        args.push_back(webXml);
    }
    for (const auto& [option, classes] :
         {std::pair{"--listener", &listenerClasses}, std::pair{"--filter", &filterClasses},
          std::pair{"--servlet", &servletClasses}}) {
        for (const std::string& c : *classes) {
            args.push_back(option);
            args.push_back(c);
        }
    }
    // "--" so that a library path can never be read as an option.
    args.push_back("--");
    args.insert(args.end(), libraries.begin(), libraries.end());
    return args;
}

util::Expected<PreflightRequest> PreflightRequest::parse(int argc, char** argv)
{
    std::string usage =
        std::string("usage: ") + (argc > 0 ? argv[0] : "serval") +
        " preflight [--app NAME] [--web-xml WEB.XML] [--listener CLASS]... [--filter CLASS]... "
        "[--servlet CLASS]... LIB.so...";
    if (argc < 2 || std::string_view(argv[1]) != "preflight") return failure(usage);
    PreflightRequest request;
    bool options = true;
    for (int i = 2; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (!options || arg.empty() || arg[0] != '-') {
            request.libraries.emplace_back(arg);
            continue;
        }
        if (arg == "--") {
            options = false;
            continue;
        }
        if (i + 1 >= argc) return failure(usage);
        std::string value = argv[++i];
        if (arg == "--app") {
            request.appName = value;
        } else if (arg == "--web-xml") {
            request.webXml = value;
        } else if (arg == "--listener") {
            request.listenerClasses.push_back(value);
        } else if (arg == "--filter") {
            request.filterClasses.push_back(value);
        } else if (arg == "--servlet") {
            request.servletClasses.push_back(value);
        } else {
            return failure("serval preflight: unknown argument \"" + std::string(arg) + "\"; " + usage);
        }
    }
    if (request.libraries.empty()) return failure(usage);
    return request;
}

util::Expected<std::string> runPreflight(const std::string& binary, const PreflightRequest& request,
                                         std::chrono::milliseconds deadline)
{
    // Whom a failure is blamed on: the library being loaded (the child says which).
    std::string name =
        request.libraries.empty() ? std::string("the app") : baseName(request.libraries.front());
    std::vector<std::string> args = {binary, "preflight"};
    for (std::string& a : request.arguments())
        args.push_back(std::move(a));
    util::FileDescriptor readEnd;
    int rc = 0;
    pid_t pid = spawn(args, readEnd, rc);
    if (pid < 0) {
        return failure(name + ": cannot start the preflight process " + binary + " (" + std::strerror(rc) +
                       ")");
    }

    std::string output;
    auto end = Clock::now() + deadline;
    int status = 0;
    bool finished = readOutput(readEnd.get(), end, output);
    // The pipe closed: the child is exiting. Bound the wait anyway (a child could close its
    // stdout and keep running).
    if (finished) {
        finished = waitUntil(pid, end, readEnd.get(), status);
    } else {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }

    std::string verdict;
    size_t pos = 0;
    while (pos < output.size()) {
        size_t nl = output.find('\n', pos);
        if (nl == std::string::npos) nl = output.size();
        std::string_view line(output.data() + pos, nl - pos);
        if (startsWith(line, PreflightProtocol::kOk) || startsWith(line, PreflightProtocol::kRefused))
            verdict = std::string(line);
        if (startsWith(line, PreflightProtocol::kLoading))
            name = std::string(line.substr(PreflightProtocol::kLoading.size()));
        pos = nl + 1;
    }
    if (!finished) {
        return failure(name + " did not finish loading within " + std::to_string(deadline.count()) +
                       " ms in the preflight process (a constructor or init hangs); fix it and redeploy");
    }
    if (WIFSIGNALED(status)) {
        return failure(name + " crashed the preflight process with " + util::signalName(WTERMSIG(status)) +
                       " while loading (in a constructor or init); fix the crash and redeploy");
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0 && startsWith(verdict, PreflightProtocol::kOk))
        return verdict.substr(PreflightProtocol::kOk.size());
    if (code == 1 && startsWith(verdict, PreflightProtocol::kRefused))
        return failure(verdict.substr(PreflightProtocol::kRefused.size()));
    return failure(
        name + " ended the preflight process with exit status " + std::to_string(code) +
        " while loading (a constructor or init called exit()); libraries must not exit the process");
}

util::Expected<std::string> preflightBundle(const std::string& binary, const std::string& root,
                                            std::string_view label, const ValidationReport& report,
                                            std::chrono::milliseconds deadline)
{
    if (report.libraries.empty()) return std::string();
    util::Expected<std::string> result =
        runPreflight(binary, PreflightRequest::forBundle(root, label, report), deadline);
    if (!result) return failure(std::string(label) + ": " + result.error());
    return result;
}

std::string selfExecutable()
{
    std::array<char, 4096> buf{};
    ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string();
}

} // namespace serval::bundle
