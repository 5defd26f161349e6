#include "support/PostgresServer.h"

#include "support/ServalProcess.h"

#include <arpa/inet.h>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace serval::test {

namespace {

constexpr uid_t kNobody = 65534; // Debian's nobody:nogroup
constexpr const char* kPassword = "serval-test-password";

uint16_t freeLoopbackPort()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        port = ntohs(address.sin_port);
    }
    ::close(fd);
    return port;
}

bool waitExit(int pid, std::chrono::milliseconds deadline, int& status)
{
    return eventually(
        [&] {
            pid_t r = ::waitpid(pid, &status, WNOHANG);
            return r == pid || r < 0;
        },
        deadline);
}

} // namespace

PostgresServer::PostgresServer() : _bin(binDir())
{
    _data = _dir.file("data");
    _passwordFile = _dir.file("password");
    _logFile = _dir.file("postgres.log");
    _dir.write("password", std::string(kPassword) + "\n");
    if (::geteuid() == 0) {
        // PostgreSQL will not run as root: the unprivileged server must own its directory.
        if (::chown(_dir.path().c_str(), kNobody, kNobody) != 0 ||
            ::chown(_passwordFile.c_str(), kNobody, kNobody) != 0) {
            _bin.clear();
        }
    }
}

PostgresServer::~PostgresServer()
{
    stop();
}

std::string PostgresServer::binDir()
{
    std::string fromEnv = env("SERVAL_POSTGRES_BIN");
    if (!fromEnv.empty()) return fromEnv;
    std::string best;
    int bestVersion = -1;
    for (const std::string& name : listDirectory("/usr/lib/postgresql")) {
        int version = std::atoi(name.c_str());
        std::string bin = "/usr/lib/postgresql/" + name + "/bin";
        if (version > bestVersion && ::access((bin + "/postgres").c_str(), X_OK) == 0) {
            bestVersion = version;
            best = bin;
        }
    }
    return best;
}

int PostgresServer::spawn(const std::string& program, const std::vector<std::string>& args)
{
    // Everything the child needs is built before fork: between fork and exec it only makes
    // system calls (the test may have other threads running).
    std::vector<std::string> argv{program};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (auto& a : argv)
        pointers.push_back(a.data());
    pointers.push_back(nullptr);
    bool dropRoot = ::geteuid() == 0;
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT); // immediate shutdown if the test dies
    if (::getppid() != parent) ::_exit(126);
    if (dropRoot && (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)) {
        ::_exit(125);
    }
    int log = ::open(_logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log < 0 || null < 0) ::_exit(124);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execv(program.c_str(), pointers.data());
    ::_exit(127);
}

bool PostgresServer::initdb(std::string& error)
{
    int pid = spawn(_bin + "/initdb", {"-D", _data, "-U", "serval", "--pwfile=" + _passwordFile,
                                       "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                                       "--locale=C", "--no-sync", "--no-instructions"});
    int status = 0;
    if (pid < 0 || !waitExit(pid, std::chrono::seconds(60), status) || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        error = "initdb failed (status " + std::to_string(status) + "): " + log();
        return false;
    }
    _initialized = true;
    return true;
}

bool PostgresServer::launch(std::string& error)
{
    _pid = spawn(_bin + "/postgres",
                 {"-D", _data, "-p", std::to_string(_port), "-k", _dir.path(), "-c",
                  "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c",
                  "synchronous_commit=off", "-c", "max_connections=80", "-c", "shared_buffers=16MB"});
    if (_pid < 0) {
        error = "cannot fork postgres";
        return false;
    }
    std::string conninfo =
        "host=127.0.0.1 port=" + std::to_string(_port) + " dbname=postgres user=serval connect_timeout=2";
    bool exited = false;
    bool ready = eventually(
        [&] {
            int status = 0;
            if (::waitpid(_pid, &status, WNOHANG) == _pid) {
                exited = true;
                return true;
            }
            return PQping(conninfo.c_str()) == PQPING_OK;
        },
        std::chrono::seconds(30));
    if (exited) _pid = -1;
    if (!ready || exited) {
        error = "postgres did not start on 127.0.0.1:" + std::to_string(_port) + ": " + log();
        stop();
        return false;
    }
    return true;
}

bool PostgresServer::start(std::string& error)
{
    if (_pid > 0) return true;
    if (_bin.empty()) {
        error = "PostgreSQL is not installed (no /usr/lib/postgresql/N/bin/postgres): run script/bootstrap "
                "--test";
        return false;
    }
    if (!_initialized && !initdb(error)) return false;
    if (_port != 0) return launch(error); // a restart keeps its port: clients reconnect to the same url
    for (int attempt = 0; attempt < 5; ++attempt) {
        _port = freeLoopbackPort(); // another process may take it first: then try another
        if (launch(error)) return true;
    }
    return false;
}

void PostgresServer::stop()
{
    if (_pid <= 0) return;
    ::kill(_pid, SIGINT); // fast shutdown: roll back, disconnect clients, checkpoint
    int status = 0;
    if (!waitExit(_pid, std::chrono::seconds(20), status)) {
        ::kill(_pid, SIGKILL);
        ::waitpid(_pid, &status, 0);
    }
    _pid = -1;
}

bool PostgresServer::running()
{
    if (_pid <= 0) return false;
    int status = 0;
    if (::waitpid(_pid, &status, WNOHANG) == _pid) _pid = -1;
    return _pid > 0;
}

std::string PostgresServer::url(const std::string& database) const
{
    return "postgresql://serval@127.0.0.1:" + std::to_string(_port) + "/" + database;
}

std::string PostgresServer::log() const
{
    return readFile(_logFile);
}

bool PostgresServer::execute(const std::string& database, const std::string& sql, std::string& error) const
{
    std::string conninfo = "host=127.0.0.1 port=" + std::to_string(_port) + " dbname=" + database +
                           " user=serval password=" + kPassword + " connect_timeout=5";
    PGconn* conn = PQconnectdb(conninfo.c_str());
    bool ok = PQstatus(conn) == CONNECTION_OK;
    if (!ok) {
        error = PQerrorMessage(conn);
    } else {
        PGresult* result = PQexec(conn, sql.c_str());
        ExecStatusType status = PQresultStatus(result);
        ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
        if (!ok) error = PQresultErrorMessage(result);
        PQclear(result);
    }
    PQfinish(conn);
    return ok;
}

std::string PostgresServer::createDatabase(std::string& error)
{
    std::string name = "test" + std::to_string(++_databases);
    if (!execute("postgres", "CREATE DATABASE " + name, error)) return "";
    return name;
}

PostgresServer* PostgresServer::shared(std::string& error)
{
    static std::unique_ptr<PostgresServer> server;
    if (!server) server = std::make_unique<PostgresServer>();
    if (!server->start(error)) return nullptr;
    return server.get();
}

} // namespace serval::test
