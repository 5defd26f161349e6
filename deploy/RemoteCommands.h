#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace serval::deploy {

/// servalctl's remote subcommands, speaking the manager's JSON API (docs/manager-api.md):
///   servalctl --url URL --token TOKEN list | deploy FILE [--path P] [--update] | undeploy P |
///             start P | stop P | reload P | status | history [P]   [--json]
/// The token may come from SERVAL_TOKEN and the URL from SERVAL_URL. Tables for people,
/// --json prints the API's answer. Exit codes: 0 ok, 1 refused/failed/unreachable, 2 usage.

/// True for the subcommand names above.
bool isRemoteCommand(std::string_view name);

/// Runs `command` with every argument of the command line except the program name (global
/// options such as --url may appear before or after the subcommand).
int runRemoteCommand(const std::string& command, const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);

/// argv form for servalctl's subcommand table: argv[0] is the subcommand.
int remoteMain(int argc, char** argv);

/// One line per subcommand, for servalctl --help.
const char* remoteUsage();

} // namespace serval::deploy
