#pragma once

#include "http/AsyncResponse.h"
#include "http/Loop.h"

#include <cstddef>
#include <string_view>

namespace serval::http {

/// The connection side of a protocol switch: what an UpgradeHandler writes through.
/// Implemented by the connector; valid from UpgradeHandler::onOpen() until onClose() returns.
/// THREADS: every call on the connection's loop thread (loop()); other threads post() there.
class UpgradedConnection
{
public:
    /// The loop that owns the connection: post here from other threads.
    virtual Loop& loop() noexcept = 0;
    /// Queues `bytes` and writes what the socket takes now. Backpressure above the high-water
    /// mark (onWritable follows once it drains to half of it); Dropped past the hard cap (the
    /// connection closes) or once the connection is closing.
    virtual WriteStatus write(std::string_view bytes) noexcept = 0;
    /// True: write() only queues; false (the default, and on the change back): the queue is
    /// written as the socket takes it. A protocol that produces many small frames at once
    /// (HTTP/2) corks around the burst, so the frames share TLS records and system calls.
    virtual void setCorked(bool corked) noexcept { (void)corked; }
    /// Bytes queued and not yet taken by the kernel.
    virtual size_t bufferedAmount() const noexcept = 0;
    /// Replaces the default limits (OutputLimits{}).
    virtual void setLimits(OutputLimits limits) noexcept = 0;
    /// False: stop reading from the socket (the peer then stalls on TCP flow control) until
    /// set true again. For a handler whose consumer cannot keep up.
    virtual void setReading(bool reading) noexcept = 0;
    /// Sends what is queued, then closes; onClose() follows (the send timeout bounds the wait).
    virtual void close() noexcept = 0;
    /// Closes at once, dropping queued output; onClose() follows before this returns.
    virtual void abort() noexcept = 0;

protected:
    ~UpgradedConnection() = default;
};

/// A protocol spoken after `101 Switching Protocols` (RFC 9110 7.8): WebSocket
/// (connector/websocket/, issue 15) is one. A handler answers the upgrade request with status
/// 101 and its Upgrade header, and attaches one of these with ExchangeControl::upgrade() during
/// service(); once the 101 is written the connection stops parsing HTTP and hands it raw bytes.
///
/// THREADS: every call on the connection's loop thread, one at a time; none may block.
/// OWNERSHIP: owned by the connection from upgrade() on, destroyed on the loop thread right
/// after onClose() returns (or, if the switch does not happen because the response was not a
/// 101 to an upgrade request, without any call). Work on other threads must not touch it after
/// onClose(): keep shared state they can check, and post to the loop.
class UpgradeHandler
{
public:
    virtual ~UpgradeHandler() = default;
    /// The 101 has been written; HttpHandler::complete() has been called for the exchange.
    /// `connection` stays valid until onClose() returns. Bytes the client sent right behind the
    /// request follow in onData().
    virtual void onOpen(UpgradedConnection& connection) noexcept = 0;
    /// Bytes from the client, in order (never empty); valid only during the call.
    virtual void onData(std::string_view bytes) noexcept = 0;
    /// After a write returned Backpressure, the queue has drained to half the high-water mark.
    virtual void onWritable() noexcept = 0;
    /// Once, last: the connection is closed (the client left, close()/abort(), the hard cap, the
    /// send timeout, the server's drain deadline).
    virtual void onClose() noexcept = 0;
    /// The server has begun to drain (Connector::stop): a protocol that can say goodbye (an
    /// HTTP/2 GOAWAY, a WebSocket 1001) does so and closes once its work is done; the drain
    /// deadline closes it otherwise. Default: nothing (the deadline closes it).
    virtual void onDrain() noexcept {}
};

} // namespace serval::http
