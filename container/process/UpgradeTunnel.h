#pragma once

#include "http/Upgrade.h"
#include "process/WorkerLane.h"

#include <memory>
#include <string>

namespace serval::process {

class WorkerGroup;

/// The server's side of an isolated app's upgraded connection (a WebSocket): the client's
/// socket stays here, the protocol runs in the worker (WorkerUpgrade), and this handler moves
/// the bytes between the two over the request's stream, within the connector's limits both
/// ways: the app's bytes are written to the client and granted back to the worker only as the
/// socket takes them (a slow client stalls the worker's sends, which then see Backpressure);
/// the client's bytes are held here up to kStreamWindow beyond the worker's credit, then the
/// socket is not read until they drained (the client stalls on TCP).
///
/// When the worker dies, a WebSocket client gets a close frame 1011 (sent only where the app's
/// last write ended, so it never lands inside a frame), then the connection closes; an app that
/// aborts its connection (ResponseAbort) has it cut.
///
/// Created by ForwardedExchange for a request that asks for an upgrade, handed to the
/// connection with ExchangeControl::upgrade(); adopt() takes the stream when the worker's 101
/// arrives. THREADS: the exchange's loop thread only (lane and connection alike).
/// OWNERSHIP: the connection's (http::UpgradeHandler); a switch that never happens destroys it
/// unused.
class UpgradeTunnel final : public http::UpgradeHandler, public StreamOwner
{
public:
    UpgradeTunnel(std::shared_ptr<WorkerGroup> group, WorkerLane& lane, bool webSocket) noexcept
        : _group(std::move(group)), _lane(lane), _webSocket(webSocket)
    {}
    ~UpgradeTunnel() override;

    /// The worker answered 101: its bytes for the client come here from now on.
    void adopt(ForwardedStream* stream) noexcept;

    void onOpen(http::UpgradedConnection& connection) noexcept override;
    void onData(std::string_view bytes) noexcept override;
    void onWritable() noexcept override;
    void onClose() noexcept override;
    /// The connector drains: the worker's handler says goodbye (a WebSocket's 1001).
    void onDrain() noexcept override;

    void onResponseHead(const ResponseHead&, bool) noexcept override {}
    void onResponseBody(std::string_view, bool) noexcept override {}
    void onStreamFailed(const StreamFailure& failure) noexcept override;
    void onUpgradeBytes(std::string_view bytes, bool writeEnd, bool endStream) noexcept override;
    void onUpstreamDrained() noexcept override;

private:
    void deliver(std::string_view bytes) noexcept;
    void fail(bool workerDied) noexcept;

    std::shared_ptr<WorkerGroup> _group; ///< keeps the lane alive
    WorkerLane& _lane;
    const bool _webSocket;
    ForwardedStream* _stream = nullptr;
    http::UpgradedConnection* _connection = nullptr; ///< from onOpen() until onClose()
    std::string _held;                               ///< the app's bytes that came before onOpen()
    uint32_t _owed = 0; ///< bytes written while the socket was slow: granted at onWritable()
    bool _atWriteEnd = true;
    bool _ended = false;      ///< the worker closed (end of stream) before onOpen()
    bool _failed = false;     ///< the stream failed before onOpen()
    bool _workerDied = false; ///< ... because the worker died
};

} // namespace serval::process
