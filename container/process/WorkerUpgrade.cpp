#include "process/WorkerUpgrade.h"

#include "process/Messages.h"
#include "process/WorkerLoop.h"
#include "process/WorkerService.h"
#include "process/WorkerStream.h"

#include <algorithm>

namespace serval::process {

WorkerUpgrade::WorkerUpgrade(WorkerService& service, WorkerStream& stream,
                             std::unique_ptr<http::UpgradeHandler> handler)
    : _service(service), _stream(&stream), _handler(std::move(handler))
{}

http::Loop& WorkerUpgrade::loop() noexcept
{
    return _service.loop();
}

void WorkerUpgrade::open() noexcept
{
    if (_closed) return;
    _open = true;
    _handler->onOpen(*this);
    if (!_early.empty() && !_closed) {
        std::string early;
        early.swap(_early);
        _handler->onData(early);
        _owed += static_cast<uint32_t>(early.size());
        if (_reading) grant();
    }
    pump();
}

void WorkerUpgrade::clientBytes(std::string_view bytes)
{
    {
        std::lock_guard<std::mutex> lock(_inboxMutex);
        _inbox.append(bytes);
        if (std::exchange(_inboxPosted, true)) return; // the posted drain takes these too
    }
    postDrain();
}

void WorkerUpgrade::creditArrived(uint32_t bytes)
{
    {
        std::lock_guard<std::mutex> lock(_inboxMutex);
        _inboxCredit += bytes;
        if (std::exchange(_inboxPosted, true)) return;
    }
    postDrain();
}

void WorkerUpgrade::postDrain()
{
    auto self = shared_from_this();
    _service.loop().post([self] { self->drainInbox(); });
}

void WorkerUpgrade::drainInbox() noexcept
{
    uint32_t credit;
    {
        std::lock_guard<std::mutex> lock(_inboxMutex);
        _data.swap(_inbox); // _data is empty here: both keep their capacity
        credit = std::exchange(_inboxCredit, 0);
        _inboxPosted = false;
    }
    if (credit > 0) {
        _inFlight -= std::min<size_t>(_inFlight, credit);
        pump();
    }
    if (!_data.empty() && !_closed) {
        if (!_open) // before open() ran: handed over right after onOpen()
            _early.append(_data);
        else {
            _handler->onData(_data);
            _owed += static_cast<uint32_t>(_data.size());
            if (_reading) grant();
        }
    }
    _data.clear();
}

void WorkerUpgrade::cancelled()
{
    auto self = shared_from_this();
    _service.loop().post([self] {
        if (self->_closed) return;
        self->_closed = true;
        self->closeHandler();
    });
}

void WorkerUpgrade::closeHandler() noexcept
{
    _handler->onClose();
    // Destroyed here, on the loop thread, where its WebSocketSession's registry tasks run; the
    // last reference to this object may be dropped on the channel thread.
    _handler.reset();
    if (WorkerStream* stream = std::exchange(_stream, nullptr)) _service.endExchange(*stream);
}

void WorkerUpgrade::goAway()
{
    auto self = shared_from_this();
    _service.loop().post([self] {
        if (self->_open && !self->_closed && !self->_closing) self->_handler->onDrain();
    });
}

http::WriteStatus WorkerUpgrade::write(std::string_view bytes) noexcept
{
    if (_closing || _closed) return http::WriteStatus::Dropped;
    if (bufferedAmount() + bytes.size() > _limits.hardCap) {
        abort();
        return http::WriteStatus::Dropped;
    }
    try {
        if (_offset > 0 && _offset == _pending.size()) {
            _pending.clear();
            _marks.clear();
            _offset = 0;
        }
        _pending.append(bytes);
        _marks.push_back(_pending.size());
    } catch (...) {
        abort();
        return http::WriteStatus::Dropped;
    }
    pump();
    if (bufferedAmount() > _limits.highWater) {
        _wantWritable = true;
        return http::WriteStatus::Backpressure;
    }
    return http::WriteStatus::Ok;
}

void WorkerUpgrade::setReading(bool reading) noexcept
{
    _reading = reading;
    if (reading) grant();
}

void WorkerUpgrade::close() noexcept
{
    if (_closing || _closed) return;
    _closing = true;
    pump();
}

void WorkerUpgrade::abort() noexcept
{
    if (_closed) return;
    finish(true);
}

void WorkerUpgrade::grant() noexcept
{
    // Granted in batches (as an HTTP/2 WINDOW_UPDATE at half the window): the server keeps at
    // least kStreamWindow - kGrantBatch of credit while the handler reads, so it never waits,
    // and a stream of small messages costs no credit record per message.
    if (_owed < kGrantBatch || _stream == nullptr || _closed) return;
    char buffer[4];
    WorkerService::TryWrite r =
        _service.tryWrite(*_stream, RecordType::RequestCredit, 0, encodeCredit(_owed, buffer), 0);
    if (r == WorkerService::TryWrite::Written)
        _owed = 0;
    else if (r == WorkerService::TryWrite::Full)
        retryLater();
}

void WorkerUpgrade::retryLater() noexcept
{
    if (_retrying) return;
    _retrying = true;
    auto self = shared_from_this();
    try {
        _service.loop().addTimer(_service.loop().now() + 1000000, [self] { // the server is reading the ring
            self->_retrying = false;
            self->grant();
            self->pump();
        });
    } catch (...) {
        _retrying = false;
    }
}

void WorkerUpgrade::pump() noexcept
{
    if (_closed || !_open || _stream == nullptr) return;
    using Result = WorkerService::TryWrite;
    size_t mark = 0;
    while (_offset < _pending.size()) {
        while (mark < _marks.size() && _marks[mark] <= _offset)
            ++mark;
        size_t end = std::min(_pending.size(), _offset + kBodyChunk);
        bool writeEnd = mark < _marks.size() && _marks[mark] <= end;
        if (writeEnd) end = _marks[mark];
        size_t size = end - _offset;
        Result r =
            _service.tryWrite(*_stream, RecordType::ResponseBody, writeEnd ? kWriteEnd : 0,
                              std::string_view(_pending).substr(_offset, size), static_cast<uint32_t>(size));
        if (r == Result::NoCredit) return; // creditArrived() pumps again
        if (r == Result::Full) {
            retryLater();
            return;
        }
        if (r != Result::Written) {
            finish(true);
            return;
        }
        _offset += size;
        _inFlight += size;
        _stream->bytesSent += size;
    }
    _pending.clear();
    _marks.clear();
    _offset = 0;
    if (_closing) {
        finish(false);
        return;
    }
    if (_wantWritable && bufferedAmount() <= _limits.highWater / 2) {
        _wantWritable = false;
        _handler->onWritable();
    }
}

void WorkerUpgrade::finish(bool abortIt) noexcept
{
    if (_closed) return;
    _closed = true;
    if (_stream != nullptr) {
        if (abortIt)
            _service.tryWrite(*_stream, RecordType::ResponseAbort, 0, {}, 0);
        else if (_service.tryWrite(*_stream, RecordType::ResponseBody, kEndStream | kWriteEnd, {}, 0) !=
                 WorkerService::TryWrite::Written)
            _service.tryWrite(*_stream, RecordType::ResponseAbort, 0, {}, 0);
    }
    // onClose in a task of its own, never inside the call that ended the connection: a write
    // that fails (the client reset it, the hard cap) comes from the app's own send, often with
    // the app's lock held (a chat room's join broadcasting), and its onClose takes that lock
    // too. Delivered inside send(), the worker's loop thread deadlocked on itself. As the
    // connector does for in-process handlers (UpgradedChannel), and Tomcat's session close.
    auto self = shared_from_this();
    auto deliver = [self] { self->closeHandler(); };
    bool posted = false;
    try {
        posted = _service.loop().post(deliver);
    } catch (...) {
    }
    if (!posted) deliver(); // the loop has ended: no app call is on the stack any more
}

} // namespace serval::process
