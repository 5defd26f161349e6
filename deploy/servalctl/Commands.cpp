#include "Command.h"
#include "RemoteCommands.h"

#include <ostream>

namespace serval::ctl {

namespace {

constexpr const char* kRemoteOrder[] = {
    "list",   "deploy",  "undeploy",          "start",   "stop",  "reload",
    "status", "history", "restart-processes", "crashes", "backup"};

template <int Index> int remote(const std::vector<std::string>& args, Io& io)
{
    return deploy::runRemoteCommand(kRemoteOrder[Index], args, io.out, io.err);
}

/// The remote commands' global options may come before the command:
/// `servalctl --url U --token T list`. Returns the index of the command in argv.
int commandIndex(int argc, char** argv)
{
    int i = 1;
    while (i < argc) {
        std::string_view arg = argv[i];
        if (arg == "--url" || arg == "--token" || arg == "--host") {
            i += 2;
        } else if (arg == "--json") {
            i += 1;
        } else {
            break;
        }
    }
    return i;
}

} // namespace

const std::vector<Command>& commands()
{
    static const std::vector<Command> table = {
        {"pack", "pack DIR -o NAME.sar", "build a bundle (zip) from an exploded app directory", packCommand},
        {"inspect", "inspect NAME.sar", "show a bundle's descriptor, libraries, files and checksum",
         inspectCommand},
        {"verify", "verify [--timeout MS] [--serval PATH] NAME.sar|DIR",
         "run every check a deploy makes, `serval preflight` included (exit 0 ok, 1 rejected)",
         verifyCommand},
        // Remote commands: the manager's JSON API (deploy/RemoteCommands.cpp, docs/manager-api.md).
        {"list", "--url URL --token TOKEN list [--json]", "applications on a running server, per host",
         remote<0>},
        {"deploy", "--url URL [--url URL...] --token TOKEN deploy [--on-server] FILE [--path P] [--update]",
         "upload a bundle to a running server and deploy it; several --url: one server at a time, each once "
         "the previous serves the new version, stopping at the first failure (--on-server: FILE is a bundle "
         "or app directory on the server, inside <Manager deployRoots>)",
         remote<1>},
        {"undeploy", "--url URL --token TOKEN undeploy PATH", "remove an application and its files",
         remote<2>},
        {"start", "--url URL --token TOKEN start PATH", "start a stopped application", remote<3>},
        {"stop", "--url URL --token TOKEN stop PATH", "stop an application (it answers 503)", remote<4>},
        {"reload", "--url URL --token TOKEN reload PATH", "restart an application from its files", remote<5>},
        {"status", "--url URL --token TOKEN status [--json]", "server version, uptime, connectors, workers",
         remote<6>},
        {"history", "--url URL --token TOKEN history [PATH] [--json]", "deploy history, newest first",
         remote<7>},
        {"restart-processes", "--url URL --token TOKEN restart-processes PATH",
         "replace an isolated application's worker processes (each new one is ready before the old one "
         "drains: no request fails); lifts a quarantine",
         remote<8>},
        {"crashes", "--url URL --token TOKEN crashes PATH [--id ID] [--json]",
         "an isolated application's crash records, newest first: time, crash id, signal, faulting "
         "function (--id: the whole record with its backtrace)",
         remote<9>},
        {"backup", "--url URL --token TOKEN backup HOST/APP NAME -o FILE",
         "a consistent copy of an app's embedded (SQLite) data source while it serves", remote<10>},
    };
    return table;
}

namespace {

void printUsage(std::ostream& out)
{
    out << "usage: servalctl COMMAND [ARGS]\n\ncommands:\n";
    for (const Command& c : commands()) {
        out << "  " << c.usage << "\n      " << c.summary << "\n";
    }
    out << "\nremote commands also read SERVAL_URL and SERVAL_TOKEN; --json prints the API's answer\n";
    out << "exit codes: 0 ok, 1 failed or rejected, 2 usage\n";
}

} // namespace

int runServalctl(int argc, char** argv, Io& io)
{
    int index = commandIndex(argc, argv);
    if (argc < 2 || index >= argc) {
        printUsage(io.err);
        return Usage;
    }
    std::string name = argv[index];
    if (name == "--help" || name == "-h" || name == "help") {
        printUsage(io.out);
        return Ok;
    }
    std::vector<std::string> args(argv + 1, argv + index);
    args.insert(args.end(), argv + index + 1, argv + argc);
    for (const Command& c : commands()) {
        if (c.name == name) return c.run(args, io);
    }
    io.err << "servalctl: unknown command \"" << name << "\"; run `servalctl --help` for the list\n";
    return Usage;
}

} // namespace serval::ctl
