#include "support/Servalctl.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace serval::test {

CtlRun runServalctl(const TempDir& tmp, const std::vector<std::string>& args)
{
    std::vector<std::string> all = {env("SERVAL_BIN", "build/bin") + "/servalctl"};
    all.insert(all.end(), args.begin(), args.end());
    return runProgram(tmp, all);
}

CtlRun runProgram(const TempDir& tmp, std::vector<std::string> all, const std::string& input)
{
    const std::string binary = all.at(0);
    std::vector<char*> argv;
    for (std::string& a : all)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string outFile = tmp.file(".out"), errFile = tmp.file(".err"), inFile = tmp.file(".in");
    tmp.write(".in", input);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, inFile.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, outFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    CtlRun run;
    if (posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ) == 0) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        run.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    run.out = readFile(outFile);
    run.err = readFile(errFile);
    return run;
}

} // namespace serval::test
