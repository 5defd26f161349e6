#pragma once

#include "support/ChildProcess.h"

#include <cstdint>
#include <string>

namespace serval::test {

/// A private nginx for one test (Debian's /usr/sbin/nginx, installed by script/bootstrap
/// --test): one process in the foreground (`daemon off; master_process off;`, so it never
/// switches to another user and never outlives the test), every file it writes (config, pid,
/// logs, temp paths) in `dir`, listening on a free loopback port. start() waits (polling with a
/// deadline) until the port accepts connections; the destructor stops it.
class NginxServer
{
public:
    explicit NginxServer(std::string dir) : _dir(std::move(dir)) {}

    /// Runs nginx with `httpBlock` as the contents of its http {} block. Each "@PORT@" in it
    /// becomes the port nginx listens on (a free one; retried with another when taken). Returns
    /// false with error() filled when nginx refuses the config or does not listen in time.
    bool start(const std::string& httpBlock);
    /// SIGQUIT (a graceful stop) and wait.
    void stop();

    uint16_t port() const noexcept { return _port; }
    const std::string& error() const noexcept { return _error; }
    /// nginx's error log so far.
    std::string errorLog() const;
    /// The access log so far, one line per request: `STATUS "UPSTREAMS TRIED" "THEIR STATUSES"
    /// REQUEST-LINE`, e.g. `200 "127.0.0.1:4001, 127.0.0.1:4002" "502, 200" GET /a HTTP/1.1`.
    std::string accessLog() const;

private:
    std::string _dir;
    uint16_t _port = 0;
    ChildProcess _process;
    std::string _error;
};

} // namespace serval::test
