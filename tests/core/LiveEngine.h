#pragma once

// A real Engine with one Context at /app (host "localhost") behind a real Connector on
// 127.0.0.1:0: the fixture of the tests that need the whole request path over sockets (async
// requests, WebSocket upgrades, the ABI 1.1 table).
#include "Fakes.h"
#include "connector/Connector.h"
#include "connector/TestServer.h"
#include "core/Engine.h"
#include "core/Host.h"

#include <functional>
#include <gtest/gtest.h>
#include <memory>

namespace serval::test {

struct LiveEngine
{
    TempDir dir;
    Trace trace = std::make_shared<std::vector<std::string>>();
    core::Engine engine{"localhost", fakeServices(trace)};
    std::unique_ptr<connector::Connector> connector;

    /// `populate` adds the Context's servlets and filters before it starts; `configure` may
    /// change its spec first (lane limits).
    explicit LiveEngine(const std::function<void(core::Context&)>& populate,
                        connector::ConnectorConfig config = testConfig(),
                        const std::function<void(core::ContextSpec&)>& configure = {})
    {
        config::HostConfig hc;
        hc.name = "localhost";
        auto host = std::make_shared<core::Host>(hc);
        engine.addHost(host);
        core::ContextSpec spec;
        spec.name = "app";
        spec.path = "/app";
        spec.docBase = dir.file("app");
        dir.write("app/index.html", "hi");
        if (configure) configure(spec);
        auto context = std::make_shared<core::Context>(spec, engine.services());
        populate(*context);
        host->addContext(context);
        EXPECT_TRUE(engine.start());
        connector = std::make_unique<connector::Connector>(config, engine);
        connector->start();
    }
    ~LiveEngine() { stop(); }
    /// Stops the connector (idempotent): no callback runs after this returns.
    void stop()
    {
        if (connector) connector->stop(std::chrono::milliseconds(2000));
        connector.reset();
    }
    uint16_t port() const { return connector->boundPort(); }
};

} // namespace serval::test
