#pragma once

#include <cstdint>
#include <string>

namespace serval::config {

/// One <Connector> from conf/server.xml, validated by the config reader (ServerXml.cpp). Plain
/// data: it lives in config/ so that serval_config needs nothing of the connector; the
/// connector names it connector::ConnectorConfig (connector/Connector.h).
struct ConnectorConfig
{
    std::string address = "127.0.0.1"; ///< loopback by default; "0.0.0.0" / "::" to listen everywhere
    uint16_t port = 8080;              ///< 0 = pick a free port (tests)
    uint32_t maxConnections = 16384;   ///< beyond this, new connections are accepted and closed at once
    /// Requests per connection before "Connection: close"; 0 = unlimited.
    uint32_t maxKeepAliveRequests = 10000;
    uint32_t keepAliveTimeoutMs = 20000;     ///< idle time between requests before the connection is closed
    uint32_t headerTimeoutMs = 10000;        ///< from first byte of a request to its complete head
    uint32_t bodyTimeoutMs = 30000;          ///< max gap between body bytes, and total for small bodies
    uint32_t sendTimeoutMs = 30000;          ///< a client that reads nothing for this long is dropped
    uint32_t maxRequestLineSize = 8 * 1024;  ///< -> 414
    uint32_t maxHeaderSize = 16 * 1024;      ///< whole head -> 431
    uint32_t maxHeaderCount = 100;           ///< -> 431
    uint64_t maxBodySize = 10 * 1024 * 1024; ///< default when the handler sets none -> 413
    uint32_t ioThreads = 0;                  ///< event-loop threads; 0 = one per core
    uint32_t workerThreads = 16;             ///< pool for handlers that may block
    uint32_t workerQueue = 4096;             ///< queued exchanges beyond which new ones get 503
    std::string serverHeader = "Serval";     ///< empty = no Server header
    uint32_t drainTimeoutMs = 10000;         ///< graceful shutdown: wait this long for in-flight requests
};

} // namespace serval::config
