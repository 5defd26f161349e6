#pragma once

#include "session/RedisSessionStore.h"
#include "session/SqliteSessionStore.h"
#include "support/Eventually.h"
#include "support/RedisServer.h"
#include "support/TempDir.h"

#include <chrono>
#include <memory>
#include <string>

namespace serval::test {

/// Wall-clock milliseconds: Redis TTLs are real, so tests keep their times near now.
inline int64_t nowMillis()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// One redis-server for the whole test binary (started on first use, stopped at exit): each
/// test keeps to its own key prefix, so tests never see each other's sessions.
class SharedRedis
{
public:
    static RedisServer& server()
    {
        static SharedRedis instance;
        return *instance._server;
    }

    static std::string uniquePrefix()
    {
        static int counter = 0;
        return "t" + std::to_string(++counter) + ":";
    }

private:
    SharedRedis() : _server(std::make_unique<RedisServer>(_dir.path()))
    {
        if (!_server->start()) throw std::runtime_error(_server->error());
    }
    TempDir _dir;
    std::unique_ptr<RedisServer> _server;
};

inline session::SqliteSessionStore::Options sqliteOptions(const TempDir& dir)
{
    session::SqliteSessionStore::Options options;
    options.path = dir.file("sessions.db");
    options.touchInterval = std::chrono::hours(1); // tests flush touches explicitly
    return options;
}

inline session::RedisSessionStore::Options redisOptions(const std::string& url, const std::string& prefix)
{
    session::RedisSessionStore::Options options;
    options.url = url;
    options.keyPrefix = prefix;
    options.touchInterval = std::chrono::hours(1);
    options.pool.backoffMin = std::chrono::milliseconds(20);
    options.pool.backoffMax = std::chrono::milliseconds(200);
    return options;
}

} // namespace serval::test
