#pragma once

#include "http/Upgrade.h"

#include <memory>
#include <string>

namespace serval::connector {

class Connection;

/// A connection after `101 Switching Protocols`: the http::UpgradedConnection its
/// UpgradeHandler writes through, the handler itself, and the raw output queue. The Connection
/// drives it (Connection::driveUpgraded: read -> onData, write, onWritable, close -> onClose).
///
/// Closes the handler asks for (close(), abort(), a write past the hard cap, a failed write)
/// are recorded here and carried out by the Connection once the handler's current callback has
/// returned, so a handler is never destroyed, nor sees onClose(), inside one of its own calls.
///
/// OWNERSHIP: owned by its Connection from the switch until the connection is recycled (after
/// the loop iteration that closed it), so a handler that closes itself is still alive when
/// its callback returns. THREADS: the loop thread only.
class UpgradedChannel final : public http::UpgradedConnection
{
public:
    UpgradedChannel(Connection& connection, std::unique_ptr<http::UpgradeHandler> handler) noexcept
        : _connection(connection), _handler(std::move(handler))
    {}

    // http::UpgradedConnection
    http::Loop& loop() noexcept override;
    http::WriteStatus write(std::string_view bytes) noexcept override;
    size_t bufferedAmount() const noexcept override { return _out.size() - _outOffset; }
    void setLimits(http::OutputLimits limits) noexcept override { _limits = limits; }
    void setReading(bool reading) noexcept override;
    void setCorked(bool corked) noexcept override;
    void close() noexcept override;
    void abort() noexcept override;

    // For Connection.
    http::UpgradeHandler& handler() noexcept { return *_handler; }
    bool reading() const noexcept { return _reading; }
    /// close(): close once the queue is empty.
    bool closeRequested() const noexcept { return _closeRequested; }
    /// abort(), the hard cap, or a failed write: close now.
    bool abortRequested() const noexcept { return _abortRequested; }
    void requestAbort() noexcept { _abortRequested = true; }
    /// The connection is closed: every call is a no-op from now on.
    void markClosed() noexcept { _closed = true; }
    /// True while the Connection runs one of the handler's callbacks.
    bool inCallback() const noexcept { return _inCallback; }
    void setInCallback(bool in) noexcept { _inCallback = in; }
    /// After a write returned Backpressure: true once when the queue is down to half the
    /// high-water mark (the caller then runs onWritable).
    bool takeWritable() noexcept;

    std::string& out() noexcept { return _out; }
    size_t& outOffset() noexcept { return _outOffset; }

private:
    /// Outside a handler callback: lets the Connection act on a request now.
    void kick() noexcept;

    Connection& _connection;
    std::unique_ptr<http::UpgradeHandler> _handler;
    std::string _out; ///< queued output; `_outOffset` bytes of it are written
    size_t _outOffset = 0;
    http::OutputLimits _limits;
    bool _reading = true;
    bool _corked = false; ///< setCorked(): write() queues without writing
    bool _closeRequested = false;
    bool _abortRequested = false;
    bool _closed = false;
    bool _inCallback = false;
    bool _wantWritable = false;
};

} // namespace serval::connector
