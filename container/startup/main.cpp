// The `serval` executable: option parsing, configuration, signals. Everything else lives in
// Server (the top Lifecycle).
//
//   serval [--base DIR] [--port N] [--address A] [--check-config] [--help] [--version]
//   serval SUBCOMMAND ...        (see kSubcommands)

#include "config/ConfigError.h"
#include "config/ServerConfig.h"
#include "deployer/PreflightLoad.h"
#include "process/WorkerMain.h"
#include "realm/PasswdCommand.h"
#include "startup/OpenFileLimit.h"
#include "startup/Server.h"
#include "util/CrashHandler.h"
#include "util/Log.h"
#include "util/Strings.h"

#include <arpa/inet.h>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#ifndef SERVAL_VERSION
#define SERVAL_VERSION "0.0.0"
#endif

namespace {

using namespace serval;

/// `serval NAME ...` runs another mode of the same binary. Adding one is one line here.
struct Subcommand
{
    std::string_view name;
    int (*run)(int argc, char** argv); ///< receives the full argv (argv[1] == name)
    std::string_view summary;
};

int passwd(int argc, char** argv)
{
    return realm::passwdMain(argc - 1, argv + 1);
} // wants argv[0] == "passwd"

constexpr Subcommand kSubcommands[] = {
    {"passwd", &passwd,
     "USER [--roles r1,r2] [--stdin]   create a user or change its password (conf/users.xml)"},
    {"preflight", &deployer::preflightMain,
     "[--app NAME] [--servlet CLASS]... LIB.so...   load an app in isolation, as a deploy does"},
    {"worker", &process::workerMain,
     "--control-fd N --parent PID   an isolated app's worker process (started by the server)"},
};

void printHelp()
{
    std::cout
        << "Usage: serval [--base DIR] [--port N] [--address A] [--check-config]\n"
           "       serval COMMAND ...\n"
           "\n"
           "Serval, a servlet-style application container for native code.\n"
           "Reads DIR/conf/server.xml and serves the applications in each Host's appBase.\n"
           "\n"
           "Options:\n"
           "  --base DIR       base directory holding conf/, webapps/, logs/ (default: current directory)\n"
           "  --port N         listen on port N instead of the first <Connector>'s (0 = any free port)\n"
           "  --address A      listen on address A instead of the first <Connector>'s\n"
           "                   (127.0.0.1 = this machine only, 0.0.0.0 = every interface)\n"
           "  --check-config   validate conf/server.xml and conf/web.xml, print the result, exit 0 or 1\n"
           "  --help           show this help\n"
           "  --version        show the version\n"
           "\n"
           "Commands:\n";
    for (const Subcommand& s : kSubcommands)
        std::cout << "  " << s.name << " " << s.summary << "\n";
    std::cout << "\nOnce listening, the log shows `listening on http://ADDR:PORT/`. SIGTERM or SIGINT stops\n"
                 "gracefully (in-flight requests finish) and exits 0; a stop that takes longer than\n"
                 "<Server shutdownTimeout> exits 1, naming the requests still running.\n";
}

struct Options
{
    std::string base = ".";
    std::optional<uint16_t> port;
    std::optional<std::string> address;
    bool checkConfig = false;
};

/// Returns 0 to continue, or an exit status (after printing) for --help, --version and errors.
int parseOptions(int argc, char** argv, Options& options, bool& exitNow)
{
    exitNow = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string value;
        auto takeValue = [&](std::string_view name) -> bool {
            if (util::startsWith(arg, std::string(name) + "=")) {
                value = std::string(arg.substr(name.size() + 1));
                return true;
            }
            if (arg != name) return false;
            if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + " needs a value");
            value = argv[++i];
            return true;
        };
        if (arg == "--help" || arg == "-h") {
            printHelp();
            exitNow = true;
            return 0;
        }
        if (arg == "--version" || arg == "-V") {
            std::cout << "serval " << SERVAL_VERSION << "\n";
            exitNow = true;
            return 0;
        }
        if (arg == "--check-config") {
            options.checkConfig = true;
        } else if (takeValue("--base")) {
            options.base = value;
        } else if (takeValue("--port")) {
            auto port = util::parseUnsigned(value);
            if (!port || *port > 65535)
                throw std::invalid_argument("--port needs a number from 0 to 65535, not \"" + value + "\"");
            options.port = static_cast<uint16_t>(*port);
        } else if (takeValue("--address")) {
            unsigned char buffer[16];
            if (::inet_pton(AF_INET, value.c_str(), buffer) != 1 &&
                ::inet_pton(AF_INET6, value.c_str(), buffer) != 1) {
                throw std::invalid_argument(
                    "--address needs an IP address such as 127.0.0.1 or 0.0.0.0, not \"" + value + "\"");
            }
            options.address = value;
        } else {
            throw std::invalid_argument("unknown option \"" + std::string(arg) + "\"");
        }
    }
    return 0;
}

/// The configuration to run with: conf/server.xml (or the built-in defaults if it does not
/// exist), then the command-line overrides. Throws config::ConfigError.
config::ServerConfig loadConfig(const Options& options, const std::string& base, bool& fromFile)
{
    std::string path = base + "/conf/server.xml";
    struct stat st
    {
    };
    fromFile = ::stat(path.c_str(), &st) == 0;
    config::ServerConfig config =
        fromFile ? config::readServerConfig(path, base) : config::defaultServerConfig(base);
    if (options.port) config.connectors.front().port = *options.port;
    if (options.address) config.connectors.front().address = *options.address;
    return config;
}

/// <Server shutdownTimeout>: a stop that outlives it (a request stuck in app code, a drain that
/// never ends) ends the process with exit status 1 and one log line naming what still runs,
/// instead of leaving it to a supervisor's SIGKILL. Armed when the signal to stop arrives;
/// disarmed when the stop returns in time. 0 = no deadline.
class ShutdownDeadline
{
public:
    explicit ShutdownDeadline(std::chrono::milliseconds limit)
    {
        if (limit.count() > 0) _watchdog = std::thread([this, limit] { watch(limit); });
    }
    ~ShutdownDeadline()
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _stopped = true;
        }
        _done.notify_one();
        if (_watchdog.joinable()) _watchdog.join();
    }
    ShutdownDeadline(const ShutdownDeadline&) = delete;
    ShutdownDeadline& operator=(const ShutdownDeadline&) = delete;

private:
    void watch(std::chrono::milliseconds limit)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        if (_done.wait_for(lock, limit, [this] { return _stopped; })) return;
        std::string running;
        for (const std::string& note : util::CrashHandler::running())
            running += (running.empty() ? "" : "; ") + note;
        LOG_ERROR("server", "stopping took longer than shutdownTimeout (" + std::to_string(limit.count()) +
                                " ms); exiting with status 1 while these still run: " +
                                (running.empty() ? std::string("no request (a drain or a deploy did not end)")
                                                 : running));
        ::_exit(1); // the stop itself is what hangs: nothing may wait for it now
    }

    std::mutex _mutex;
    std::condition_variable _done;
    bool _stopped = false;
    std::thread _watchdog;
};

} // namespace

int main(int argc, char** argv)
{
    if (argc > 1) {
        for (const Subcommand& s : kSubcommands) {
            if (argv[1] == s.name) return s.run(argc, argv);
        }
    }

    Options options;
    try {
        bool exitNow = false;
        int status = parseOptions(argc, argv, options, exitNow);
        if (exitNow) return status;
    } catch (const std::invalid_argument& e) {
        std::cerr << "serval: " << e.what() << "; see serval --help\n";
        return 2;
    }

    char resolved[PATH_MAX];
    if (::realpath(options.base.c_str(), resolved) == nullptr) {
        std::cerr << "serval: base directory " << options.base << ": " << std::strerror(errno)
                  << "; pass an existing directory with --base\n";
        return 1;
    }
    std::string base = resolved;

    config::ServerConfig config;
    bool fromFile = false;
    try {
        config = loadConfig(options, base, fromFile);
        if (options.checkConfig) {
            startup::Server::readWebXmlDefaults(base);
            const bool webXml = ::access((base + "/conf/web.xml").c_str(), F_OK) == 0;
            std::cout << (fromFile ? "conf/server.xml" : "conf/server.xml not found, built-in defaults")
                      << ": OK (" << config.connectors.size() << " connector(s), "
                      << config.engine.hosts.size() << " host(s)); "
                      << (webXml ? "conf/web.xml: OK" : "conf/web.xml not found, built-in defaults") << "\n";
            return 0;
        }
    } catch (const config::ConfigError& e) {
        std::cerr << e.what() << "\n";
        return 1;
    }

    // Signals are taken synchronously by this thread (sigwait), so block them before any other
    // thread exists: every thread inherits the mask and none is interrupted by them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN); // a client that went away is an error return, not a crash
    // A fatal signal in app code (in-process apps) leaves its signal, app, request and backtrace
    // in the server log before the process dies of it.
    util::CrashSink crashSink;
    crashSink.serverLog = true;
    util::CrashHandler::install(crashSink);

    if (!fromFile) LOG_WARN("server", "no " + base + "/conf/server.xml; using built-in defaults");
    startup::OpenFileLimit files = startup::raiseOpenFileLimit(config);
    if (files.after != files.before)
        LOG_INFO("server", "open file limit raised from " + std::to_string(files.before) + " to " +
                               std::to_string(files.after));
    if (!files.warning.empty()) LOG_WARN("server", files.warning);
    startup::Server server(std::move(config));
    if (!server.start()) {
        LOG_ERROR("server", "cannot start: " + server.failureReason());
        return 1;
    }
    int received = 0;
    sigwait(&signals, &received);
    LOG_INFO("server",
             std::string("received ") + (received == SIGTERM ? "SIGTERM" : "SIGINT") + "; stopping");
    ShutdownDeadline deadline(std::chrono::milliseconds(server.config().shutdownTimeoutMs));
    server.stop();
    if (!server.drainReport().clean()) {
        // Connector::stop already named each one; their threads still run app code, so no
        // destructor may run now.
        LOG_ERROR("server", "stopped with " + std::to_string(server.drainReport().unfinished.size()) +
                                " request(s) still running after the drain deadline; exiting");
        ::_exit(1);
    }
    LOG_INFO("server", "stopped");
    return 0;
}
