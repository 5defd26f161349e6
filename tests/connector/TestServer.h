#pragma once

// The real Connector in-process on 127.0.0.1:0 with the TestHandler behind it: the fixture of
// the connector tests.
#include "connector/Connector.h"
#include "connector/MalformedRequests.h"
#include "connector/TestHandler.h"
#include "support/HttpClient.h"
#include "support/TempDir.h"

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

inline std::string get(const std::string& target, const std::string& extra = "")
{
    return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

} // namespace serval::test
