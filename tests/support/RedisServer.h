#pragma once

#include "support/ChildProcess.h"

#include <cstdint>
#include <string>

namespace serval::test {

/// A private redis-server for one test (Debian's /usr/bin/redis-server, installed by
/// script/bootstrap --test): loopback only, a free port, its files in `dir`, no persistence
/// unless asked. start() waits (polling PING with a deadline) until it answers; the destructor
/// stops it.
class RedisServer
{
public:
    enum class Persistence
    {
        None,             ///< memory only: a restart starts empty
        AppendFsyncAlways ///< appendonly yes, appendfsync always: what docs/sessions.md advises
    };

    explicit RedisServer(std::string dir, Persistence persistence = Persistence::None)
        : _dir(std::move(dir)), _persistence(persistence)
    {}

    /// Picks a free port on the first start; a restart reuses it (clients reconnect to the same
    /// address). Returns false with error() filled when it does not answer in time.
    bool start();
    /// SIGTERM and wait (a clean shutdown).
    void stop();
    /// SIGKILL: Redis dies as in a crash.
    void kill();
    bool running() { return _process.running(); }

    uint16_t port() const noexcept { return _port; }
    /// "redis://127.0.0.1:PORT/0"
    std::string url() const;
    const std::string& error() const noexcept { return _error; }
    /// redis-server's output so far (its log).
    std::string log() const;

    /// True when redis-server answers PING on its port.
    bool answers() const;
    /// Sends one inline command ("CLIENT PAUSE 5000 WRITE") on a fresh connection and returns
    /// the first line of the reply ("+OK", "-ERR ...", ":3"), "" when there is none in 200 ms.
    std::string command(const std::string& inlineCommand) const;
    /// A number from `INFO all`: "total_reads_processed" (read events Redis handled), or the
    /// calls of a command stat ("cmdstat_hgetall"); -1 when Redis does not answer it.
    int64_t infoNumber(const std::string& field) const;

private:
    std::string _dir;
    Persistence _persistence;
    uint16_t _port = 0;
    ChildProcess _process;
    std::string _error;
};

} // namespace serval::test
