#pragma once

#include "support/TempDir.h"

#include <cstdint>
#include <memory>
#include <string>

namespace serval::test {

/// A private PostgreSQL server for tests (Debian's `postgresql` package): initdb into a temp
/// dir, `postgres` on a free loopback port with its socket in that dir, stopped (and the dir
/// removed) on destruction. When the test runs as root (CI), initdb and postgres run as
/// `nobody`, which owns the temp dir: PostgreSQL refuses to run as root.
///
/// The cluster's superuser is `serval` with a password (scram-sha-256 over TCP), so clients go
/// through url() + passwordFile() as an operator's server.xml would. The server is a child of
/// the test process with PR_SET_PDEATHSIG: a crashed test takes it down too. Used from the
/// test's main thread.
class PostgresServer
{
public:
    PostgresServer();
    ~PostgresServer();
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    /// initdb on the first call, then start and wait (polling PQping, deadline 30 s) until it
    /// accepts connections. Returns false with `error` (and the server's log) on failure.
    bool start(std::string& error);
    /// Fast shutdown: clients are disconnected, the process is waited for. Restartable.
    void stop();
    bool running();

    uint16_t port() const noexcept { return _port; }
    /// postgresql://serval@127.0.0.1:PORT/DATABASE
    std::string url(const std::string& database) const;
    const std::string& passwordFile() const noexcept { return _passwordFile; }
    std::string log() const;

    /// Runs `sql` (no rows kept) in `database` as the superuser; false with `error` on failure.
    bool execute(const std::string& database, const std::string& sql, std::string& error) const;
    /// CREATE DATABASE with a fresh name; returns the name ("" with `error` on failure).
    std::string createDatabase(std::string& error);

    /// The directory holding initdb and postgres: $SERVAL_POSTGRES_BIN, else the newest
    /// /usr/lib/postgresql/N/bin; "" if none is installed.
    static std::string binDir();
    /// One server per test process, started on first use (ctest runs each test case in its own
    /// process, so this is one server per case that asks); stopped at exit. Fails the calling
    /// test (returns nullptr) when PostgreSQL is missing or does not start.
    static PostgresServer* shared(std::string& error);

private:
    /// fork + exec of `program` (as nobody when root), output appended to the log; returns pid.
    int spawn(const std::string& program, const std::vector<std::string>& args);
    bool initdb(std::string& error);
    bool launch(std::string& error);

    TempDir _dir;
    std::string _bin;
    std::string _data;
    std::string _passwordFile;
    std::string _logFile;
    bool _initialized = false;
    int _pid = -1;
    uint16_t _port = 0;
    unsigned _databases = 0;
};

} // namespace serval::test
