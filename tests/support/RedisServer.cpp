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

std::string RedisServer::command(const std::string& inlineCommand) const
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return "";
    timeval tv{0, 200 * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(_port);
    std::string reply;
    std::string request = inlineCommand + "\r\n";
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
        char buffer[512];
        ssize_t n = 0;
        while (reply.find("\r\n") == std::string::npos && (n = ::read(fd, buffer, sizeof buffer)) > 0)
            reply.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return reply.substr(0, reply.find("\r\n"));
}

int64_t RedisServer::infoNumber(const std::string& field) const
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(_port);
    std::string reply;
    const std::string request = "INFO all\r\n";
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
        // A bulk string: "$<length>\r\n<body>\r\n".
        char buffer[4096];
        ssize_t n = 0;
        size_t want = std::string::npos;
        while ((want == std::string::npos || reply.size() < want) &&
               (n = ::read(fd, buffer, sizeof buffer)) > 0) {
            reply.append(buffer, static_cast<size_t>(n));
            size_t eol = reply.find("\r\n");
            if (want == std::string::npos && eol != std::string::npos && reply[0] == '$')
                want = eol + 2 + std::stoul(reply.substr(1, eol - 1)) + 2;
        }
    }
    ::close(fd);
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
