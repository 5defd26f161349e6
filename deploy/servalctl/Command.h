#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace serval::ctl {

/// Exit codes of every servalctl command.
enum ExitCode : int
{
    Ok = 0,
    Failed = 1,
    Usage = 2
};

/// Where a command writes: `out` for results, `err` for the one-line reasons.
struct Io
{
    std::ostream& out;
    std::ostream& err;
};

/// One servalctl subcommand. The table in Commands.cpp is the dispatch: add a row to add a
/// command. The bundle commands run here; the remote ones (list, deploy, undeploy, start, stop,
/// reload, status, history) call deploy/RemoteCommands.cpp, which speaks the manager's API.
struct Command
{
    std::string_view name;
    std::string_view usage;   ///< "pack DIR -o NAME.sar"
    std::string_view summary; ///< one line for --help
    int (*run)(const std::vector<std::string>& args, Io& io);
};

/// The command table (in --help order).
const std::vector<Command>& commands();

/// Runs servalctl with argv (argv[0] is the program). Returns the exit code.
int runServalctl(int argc, char** argv, Io& io);

int packCommand(const std::vector<std::string>& args, Io& io);
int inspectCommand(const std::vector<std::string>& args, Io& io);
int verifyCommand(const std::vector<std::string>& args, Io& io);

} // namespace serval::ctl
