#include "Command.h"
#include "deployer/Preflight.h"

#include <ostream>

namespace serval::ctl {

const std::vector<Command>& commands()
{
    static const std::vector<Command> table = {
        {"pack", "pack DIR -o NAME.sar", "build a bundle (zip) from an exploded app directory", packCommand},
        {"inspect", "inspect NAME.sar", "show a bundle's descriptor, libraries, files and checksum",
         inspectCommand},
        {"verify", "verify NAME.sar|DIR",
         "run every check the container makes before loading (exit 0 ok, 1 rejected)", verifyCommand},
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
    out << "\nexit codes: 0 ok, 1 failed or rejected, 2 usage\n";
}

} // namespace

int runServalctl(int argc, char** argv, Io& io)
{
    if (argc < 2) {
        printUsage(io.err);
        return Usage;
    }
    std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        printUsage(io.out);
        return Ok;
    }
    // Hidden: the preflight child that `verify` starts (the same code as `serval preflight`).
    if (name == "preflight") return deployer::preflightMain(argc, argv);
    std::vector<std::string> args(argv + 2, argv + argc);
    for (const Command& c : commands()) {
        if (c.name == name) return c.run(args, io);
    }
    io.err << "servalctl: unknown command \"" << name << "\"; run `servalctl --help` for the list\n";
    return Usage;
}

} // namespace serval::ctl
