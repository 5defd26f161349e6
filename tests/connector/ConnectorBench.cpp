// connector_bench: the Connector alone, answering every request with a 4 KiB in-memory body
// on the I/O thread. For measuring the engine with wrk, e.g.
//   taskset -c 1 build/tests/connector_bench [port] [ioThreads]
//   taskset -c 0 wrk -t1 -c128 -d5s http://127.0.0.1:PORT/
// Prints "listening on http://ADDR:PORT/" and runs until SIGINT/SIGTERM.
#include "connector/Connector.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

class FourKiB : public serval::http::HttpHandler
{
public:
    FourKiB() : _body(4096, 'x') {}
    serval::http::HeadDecision onHead(serval::http::HttpExchange&) noexcept override
    {
        serval::http::HeadDecision d;
        d.dispatch = serval::http::Dispatch::Inline;
        return d;
    }
    void service(serval::http::HttpExchange& exchange) noexcept override
    {
        exchange.response.setHeader("Content-Type", "text/plain");
        exchange.response.body().assign(_body);
    }
    void complete(serval::http::HttpExchange&, uint64_t) noexcept override {}

private:
    std::string _body;
};

} // namespace

int main(int argc, char** argv)
{
    serval::connector::ConnectorConfig config;
    config.port = argc > 1 ? static_cast<uint16_t>(std::atoi(argv[1])) : 0;
    config.ioThreads = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 1;
    config.maxConnections = 100000;
    config.keepAliveTimeoutMs = 600000;
    config.headerTimeoutMs = 600000;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr); // threads inherit the mask; sigwait below
    FourKiB handler;
    serval::connector::Connector connector(config, handler);
    try {
        connector.start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "listening on http://%s:%u/\n", connector.boundAddress().c_str(),
                 connector.boundPort());
    int signal = 0;
    sigwait(&signals, &signal);
    connector.stop(std::chrono::seconds(2));
    auto s = connector.stats();
    std::fprintf(stderr, "requests %llu, connections %llu\n", static_cast<unsigned long long>(s.requests),
                 static_cast<unsigned long long>(s.acceptedConnections));
    return 0;
}
