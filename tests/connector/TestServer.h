#pragma once

// The real Connector in-process on 127.0.0.1:0 with the TestHandler behind it: the fixture of
// the connector tests.
#include "connector/Connector.h"
#include "connector/MalformedRequests.h"
#include "connector/TestHandler.h"
#include "support/HttpClient.h"
#include "support/TempDir.h"

#include <future>
#include <gtest/gtest.h>
#include <memory>

namespace serval::test {

inline connector::ConnectorConfig testConfig()
{
    connector::ConnectorConfig c;
    c.port = 0;
    c.ioThreads = 2;
    c.workerThreads = 4;
    c.maxRequestLineSize = MalformedLimits::maxRequestLineSize;
    c.maxHeaderSize = MalformedLimits::maxHeaderSize;
    c.maxHeaderCount = MalformedLimits::maxHeaderCount;
    c.maxBodySize = MalformedLimits::maxBodySize;
    c.headerTimeoutMs = 5000;
    c.keepAliveTimeoutMs = 5000;
    c.drainTimeoutMs = 2000;
    return c;
}

/// A running Connector with its TestHandler.
struct Server
{
    explicit Server(connector::ConnectorConfig config = testConfig(), unsigned firstLoopIndex = 0)
    {
        handler.filePath = dir.file("data.bin");
        connector = std::make_unique<connector::Connector>(config, handler, firstLoopIndex);
        connector->start();
    }
    uint16_t port() const { return connector->boundPort(); }
    std::unique_ptr<RawConnection> connect() const
    {
        auto c = std::make_unique<RawConnection>();
        EXPECT_TRUE(c->connect("127.0.0.1", port()));
        return c;
    }
    TempDir dir;
    TestHandler handler;
    std::unique_ptr<connector::Connector> connector;
};

/// A running Connector in front of a test's own handler (`Handler` is default-constructible and
/// outlives the Connector, which is declared after it and so stopped first).
template <typename Handler> struct ServerFor
{
    explicit ServerFor(connector::ConnectorConfig config = testConfig())
    {
        connector = std::make_unique<connector::Connector>(config, handler);
        connector->start();
    }
    std::unique_ptr<RawConnection> connect() const
    {
        auto c = std::make_unique<RawConnection>();
        EXPECT_TRUE(c->connect("127.0.0.1", connector->boundPort()));
        return c;
    }
    Handler handler;
    std::unique_ptr<connector::Connector> connector;
};

/// Returns after every loop of `connector` has run two full iterations from now: what the
/// loops had to do with bytes already sent (parse, park, dispatch) has been done.
inline void settleLoops(connector::Connector& connector)
{
    for (http::Loop* loop : connector.loops()) {
        for (int round = 0; round < 2; ++round) {
            std::promise<void> done;
            ASSERT_TRUE(loop->post([&] { done.set_value(); }));
            ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
        }
    }
}

inline std::string get(const std::string& target, const std::string& extra = "")
{
    return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

} // namespace serval::test
