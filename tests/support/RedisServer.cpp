#include "support/RedisServer.h"

#include "support/Eventually.h"
#include "support/Ports.h"
#include "support/TempDir.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace serval::test {

std::string RedisServer::url() const
{
    return "redis://127.0.0.1:" + std::to_string(_port) + "/0";
}

std::string RedisServer::log() const
{
    return readFile(_dir + "/redis.log");
}

bool RedisServer::answers() const
{
    return command("PING") == "+PONG";
}

namespace {

/// Sends one inline command to 127.0.0.1:`port` on a fresh connection and reads until `done`
/// says the reply is whole (or `timeout` passes with nothing more).
template <typename Done>
std::string exchange(uint16_t port, const std::string& inlineCommand, timeval timeout, Done done)
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return "";
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    std::string reply;
    std::string request = inlineCommand + "\r\n";
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
        char buffer[4096];
        ssize_t n = 0;
        while (!done(reply) && (n = ::read(fd, buffer, sizeof buffer)) > 0)
            reply.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return reply;
}

} // namespace

std::string RedisServer::command(const std::string& inlineCommand) const
{
    std::string reply = exchange(_port, inlineCommand, timeval{0, 200 * 1000},
                                 [](const std::string& r) { return r.find("\r\n") != std::string::npos; });
    return reply.substr(0, reply.find("\r\n"));
}

int64_t RedisServer::infoNumber(const std::string& field) const
{
    // A bulk string: "$<length>\r\n<body>\r\n".
    std::string reply = exchange(_port, "INFO all", timeval{2, 0}, [](const std::string& r) {
        size_t eol = r.find("\r\n");
        if (eol == std::string::npos || r[0] != '$') return false;
        return r.size() >= eol + 2 + std::stoul(r.substr(1, eol - 1)) + 2;
    });
    size_t at = reply.find("\n" + field + ":");
    if (at == std::string::npos) return -1;
    at += field.size() + 2;
    if (reply.compare(at, 6, "calls=") == 0) at += 6;
    size_t end = at;
    while (end < reply.size() && reply[end] >= '0' && reply[end] <= '9')
        ++end;
    return end > at ? std::stoll(reply.substr(at, end - at)) : -1;
}

bool RedisServer::start()
{
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (_port == 0 || attempt > 0) _port = freeLoopbackPort();
        bool aof = _persistence == Persistence::AppendFsyncAlways;
        std::vector<std::string> args = {"/usr/bin/redis-server",
                                         "--port",
                                         std::to_string(_port),
                                         "--bind",
                                         "127.0.0.1",
                                         "--dir",
                                         _dir,
                                         "--save",
                                         "",
                                         "--appendonly",
                                         aof ? "yes" : "no",
                                         "--appendfsync",
                                         "always",
                                         "--daemonize",
                                         "no",
                                         "--protected-mode",
                                         "yes"};
        if (!_process.spawn(args, _dir + "/redis.log")) {
            _error = _process.error() + " (install redis-server: script/bootstrap --test)";
            return false;
        }
        if (eventually([&] { return answers() || !_process.running(); }, std::chrono::seconds(10)) &&
            _process.running()) {
            return true;
        }
        _process.kill();
    }
    _error = "redis-server did not answer on 127.0.0.1:" + std::to_string(_port) + ": " + log();
    return false;
}

void RedisServer::stop()
{
    _process.stop(SIGTERM);
}

void RedisServer::kill()
{
    _process.kill();
}

} // namespace serval::test
