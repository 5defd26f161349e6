#include "support/ChildProcess.h"

#include "support/Eventually.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace serval::test {

ChildProcess::~ChildProcess()
{
    if (_pid > 0) stop();
}

bool ChildProcess::spawn(const std::vector<std::string>& args, const std::string& outputPath)
{
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, outputPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, outputPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawn(&_pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        _error = "cannot start " + args[0];
        _pid = -1;
        return false;
    }
    return true;
}

bool ChildProcess::running()
{
    if (_pid <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(_pid, &status, WNOHANG);
    if (r == _pid || r < 0) {
        _status = r == _pid ? status : -1;
        _pid = -1;
        return false;
    }
    return true;
}

int ChildProcess::stop(int signal, std::chrono::milliseconds grace)
{
    if (_pid <= 0) return -1;
    ::kill(_pid, signal);
    int status = 0;
    bool exited = eventually(
        [&] {
            pid_t r = ::waitpid(_pid, &status, WNOHANG);
            return r == _pid || r < 0;
        },
        grace);
    if (!exited) {
        kill();
        return -1;
    }
    _pid = -1;
    _status = status;
    return status;
}

void ChildProcess::kill()
{
    if (_pid <= 0) return;
    ::kill(_pid, SIGKILL);
    int status = 0;
    ::waitpid(_pid, &status, 0);
    _pid = -1;
    _status = -1;
}

} // namespace serval::test
