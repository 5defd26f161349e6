#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace serval::deploy {

/// servalctl's remote subcommands, speaking the manager's JSON API (docs/manager-api.md):
///   servalctl --url URL --token TOKEN list | deploy FILE [--path P] [--update] | undeploy P |
///             start P | stop P | reload P | restart-processes P | crashes P [--id ID] |
///             status | history [P] | backup HOST/APP NAME -o FILE   [--json]
/// The token may come from SERVAL_TOKEN and the URL from SERVAL_URL. Tables for people,
/// --json prints the API's answer. Exit codes: 0 ok, 1 refused/failed/unreachable, 2 usage.

/// Runs `command` (one of the names above; the table in RemoteCommands.cpp) with every argument
/// of the command line except the program name (global options such as --url may appear before
/// or after the subcommand). Called by servalctl's command table (deploy/servalctl/Commands.cpp).
int runRemoteCommand(const std::string& command, const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);

/// One line per subcommand, for servalctl --help.
const char* remoteUsage();

} // namespace serval::deploy
