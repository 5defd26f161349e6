#pragma once

#include "http/Upgrade.h"
#include "process/Messages.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::process {

class WorkerService;
class WorkerStream;

/// The worker's side of an isolated app's upgraded connection (a WebSocket): the
/// http::UpgradedConnection the app's UpgradeHandler (WebSocketSession) runs on, in the worker,
/// on the worker's loop, so the same RFC 6455 code runs in both modes. The client's socket
/// stays in the server; its bytes cross the channel on the request's stream after the 101:
/// client -> app as RequestBody records (granted back with RequestCredit once the handler took
/// them, so a handler that stops reading stalls the client on TCP), app -> client as
/// ResponseBody records within the stream's credit (kStreamWindow), each write() ending on a
/// record flagged kWriteEnd (the server may add its own close frame only there). The limits
/// are the connector's (OutputLimits): Backpressure above the high-water mark, counting bytes
/// queued here and bytes the server has not yet written to the client; Dropped past the hard
/// cap, which aborts the connection.
///
/// close(): the rest is sent, then the end of the stream (the server closes the socket after
/// writing it). abort(): ResponseAbort (the server cuts it). A cancel from the server (the
/// client left) closes at once. Each ends with handler.onClose() and the stream's release.
///
/// THREADS: everything on the worker's loop thread; the channel thread only hands over to it
/// (clientBytes, creditArrived: the inbox, under its mutex; cancelled: a post). OWNERSHIP: shared by the
/// stream and the tasks posted for it; owns the handler until onClose() returned.
class WorkerUpgrade final : public http::UpgradedConnection,
                            public std::enable_shared_from_this<WorkerUpgrade>
{
public:
    WorkerUpgrade(WorkerService& service, WorkerStream& stream,
                  std::unique_ptr<http::UpgradeHandler> handler);

    /// Loop thread, once the 101 head is in the ring.
    void open() noexcept;
    /// Channel thread: bytes from the client.
    void clientBytes(std::string_view bytes);
    /// Channel thread: the server wrote `bytes` more to the client.
    void creditArrived(uint32_t bytes);
    /// Channel thread: the client left (or the server stops).
    void cancelled();
    /// Channel thread: the server drains: the handler says goodbye (onDrain) on the loop.
    void goAway();

    http::Loop& loop() noexcept override;
    http::WriteStatus write(std::string_view bytes) noexcept override;
    size_t bufferedAmount() const noexcept override { return _pending.size() - _offset + _inFlight; }
    void setLimits(http::OutputLimits limits) noexcept override { _limits = limits; }
    void setReading(bool reading) noexcept override;
    void close() noexcept override;
    void abort() noexcept override;

private:
    /// Posts drainInbox() (once per batch: clientBytes() and creditArrived() post only when
    /// no drain is pending, so a burst of records costs one task and one wake-up).
    void postDrain();
    /// Loop thread: what the channel thread left in the inbox, credit first, then the bytes.
    void drainInbox() noexcept;
    void pump() noexcept;
    /// Grants the client bytes the handler took back to the server (RequestCredit), once they
    /// reach kGrantBatch.
    void grant() noexcept;
    static constexpr uint32_t kGrantBatch = kStreamWindow / 4;
    void retryLater() noexcept;
    /// Sends the end (or the abort) and ends the stream.
    void finish(bool abortIt) noexcept;
    /// Loop thread, once closed: the handler's onClose, its destruction, the stream's end.
    void closeHandler() noexcept;

    WorkerService& _service;
    WorkerStream* _stream; ///< null once released
    std::unique_ptr<http::UpgradeHandler> _handler;
    std::string _pending; ///< app -> client bytes not yet in the ring (from _offset)
    size_t _offset = 0;
    std::vector<size_t> _marks; ///< offsets in _pending where a write() ended
    std::string _early;         ///< client bytes that came before open()
    std::mutex _inboxMutex;     ///< guards the three inbox fields (channel thread -> loop)
    std::string _inbox;         ///< client bytes not yet handed to the loop
    uint32_t _inboxCredit = 0;  ///< credit not yet handed to the loop
    bool _inboxPosted = false;  ///< a drainInbox() is posted and has not taken the inbox yet
    std::string _data;          ///< the loop thread's: the batch drainInbox() delivers
    size_t _inFlight = 0;
    http::OutputLimits _limits;
    bool _open = false;
    bool _reading = true;
    uint32_t _owed = 0; ///< client bytes taken but not yet granted back
    bool _closing = false;
    bool _closed = false;
    bool _retrying = false;
    bool _wantWritable = false;
};

} // namespace serval::process
