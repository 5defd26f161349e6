#include "process/WorkerAsyncResponse.h"

#include "process/Messages.h"
#include "process/WorkerLoop.h"
#include "process/WorkerService.h"
#include "process/WorkerStream.h"

namespace serval::process {

bool WorkerAsyncResponse::setStatus(int status)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_headSent || _ended || _gone) return false;
    _status = status;
    return true;
}

bool WorkerAsyncResponse::setHeader(std::string_view name, std::string_view value)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_headSent || _ended || _gone) return false;
    _headerChanges.push_back(HeaderChange{std::string(name), std::string(value), true});
    return true;
}

bool WorkerAsyncResponse::addHeader(std::string_view name, std::string_view value)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_headSent || _ended || _gone) return false;
    _headerChanges.push_back(HeaderChange{std::string(name), std::string(value), false});
    return true;
}

http::WriteStatus WorkerAsyncResponse::write(std::string_view bytes)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_ended || _gone || _completeQueued || _overflow) return http::WriteStatus::Dropped;
    if (bufferedLocked() + bytes.size() > _limits.hardCap) {
        _overflow = true; // the connection is cut, as the connector does past its hard cap
        scheduleLocked();
        return http::WriteStatus::Dropped;
    }
    _headWanted = true;
    if (_offset > 0 && _offset == _pending.size()) {
        _pending.clear();
        _offset = 0;
    }
    _pending.append(bytes);
    scheduleLocked();
    if (bufferedLocked() > _limits.highWater) {
        _wantWritable = true;
        return http::WriteStatus::Backpressure;
    }
    return http::WriteStatus::Ok;
}

bool WorkerAsyncResponse::complete()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_ended || _gone || _completeQueued || _overflow) return false;
    _completeQueued = true;
    scheduleLocked();
    return true;
}

size_t WorkerAsyncResponse::bufferedAmount() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return bufferedLocked();
}

void WorkerAsyncResponse::setLimits(http::OutputLimits limits)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _limits = limits;
}

bool WorkerAsyncResponse::clientGone() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _gone;
}

void WorkerAsyncResponse::onClientGone(std::function<void()> callback)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _onGone = std::move(callback);
    if (_gone && _ended) { // already happened: posted at once
        auto self = shared_from_this();
        _loop.post([self] {
            std::function<void()> gone;
            {
                std::lock_guard<std::mutex> lock(self->_mutex);
                gone = std::move(self->_onGone);
            }
            if (gone) gone();
        });
    }
}

void WorkerAsyncResponse::onWritable(std::function<void()> callback)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _onWritable = std::move(callback);
}

void WorkerAsyncResponse::serviceReturned() noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    _serviceReturned = true;
    http::HttpResponse& response = _stream->exchange.response;
    _headSent = _stream->headSent; // the servlet flushed before it went async
    if (!response.body().empty() && !response.headOnly()) {
        _pending.insert(0, response.body().substr(0));
        _headWanted = true;
    }
    response.resetBuffer();
    if (_gone) _overflow = true; // cancelled while service() ran: end it now
    scheduleLocked();
}

void WorkerAsyncResponse::completeFromExchange() noexcept
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_ended || _completeQueued) return;
        _completeQueued = true;
    }
    auto self = shared_from_this();
    _loop.post([self] {
        std::lock_guard<std::mutex> lock(self->_mutex);
        if (self->_stream == nullptr) return;
        http::HttpResponse& response = self->_stream->exchange.response;
        if (!response.headOnly()) self->_pending.append(response.body());
        response.resetBuffer();
        self->_headWanted = true;
        self->scheduleLocked();
    });
}

void WorkerAsyncResponse::creditArrived(uint32_t bytes) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    _inFlight -= std::min<size_t>(_inFlight, bytes);
    scheduleLocked();
}

void WorkerAsyncResponse::cancelled() noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_ended) return;
    _gone = true;
    if (_serviceReturned) scheduleLocked(); // else serviceReturned() ends it
}

void WorkerAsyncResponse::scheduleLocked() noexcept
{
    if (_posted || _ended || !_serviceReturned) return;
    _posted = true;
    auto self = shared_from_this();
    try {
        if (!_loop.post([self] { self->pump(); })) _posted = false;
    } catch (...) {
        _posted = false;
    }
}

void WorkerAsyncResponse::pump() noexcept
{
    Ending ending = Ending::None;
    std::function<void()> writable;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _posted = false;
        if (_ended) return;
        ending = pumpLocked();
        if (ending == Ending::None && _wantWritable && bufferedLocked() <= _limits.highWater / 2) {
            _wantWritable = false;
            writable = _onWritable;
        }
    }
    if (ending != Ending::None) {
        end(ending);
        return;
    }
    if (writable) writable();
}

WorkerAsyncResponse::Ending WorkerAsyncResponse::pumpLocked() noexcept
{
    using Result = WorkerService::TryWrite;
    WorkerStream& stream = *_stream;
    if (_gone) return Ending::Gone;
    if (_overflow) {
        if (_headSent) _service.tryWrite(stream, RecordType::ResponseAbort, 0, {}, 0);
        return Ending::Gone;
    }
    auto retryLater = [this] {
        if (_retrying) return;
        _retrying = true;
        auto self = shared_from_this();
        _loop.addTimer(_loop.now() + 1000000, [self] { // the ring was full: the server is reading it
            {
                std::lock_guard<std::mutex> lock(self->_mutex);
                self->_retrying = false;
            }
            self->pump();
        });
    };
    if (!_headSent) {
        if (!_headWanted && !_completeQueued) return Ending::None;
        http::HttpResponse& response = stream.exchange.response;
        try {
            if (_status != 0) response.setStatus(_status);
            for (const HeaderChange& change : _headerChanges) {
                if (change.replace)
                    response.setHeader(change.name, change.value);
                else
                    response.addHeader(change.name, change.value);
            }
            _headerChanges.clear();
            // A response completed before its head went out leaves whole, with its length.
            int64_t length = _completeQueued ? static_cast<int64_t>(_pending.size() - _offset) : -1;
            encodeResponseHead(response, length, stream.buffer);
        } catch (...) {
            return Ending::Gone;
        }
        bool endNow = _completeQueued && _pending.size() == _offset;
        Result r =
            _service.tryWrite(stream, RecordType::ResponseHead, endNow ? kEndStream : 0, stream.buffer, 0);
        if (r == Result::Full) {
            retryLater();
            return Ending::None;
        }
        if (r != Result::Written) return Ending::Gone;
        _headSent = true;
        stream.headSent = true;
        if (endNow) return Ending::Complete;
    }
    if (stream.exchange.response.headOnly()) { // HEAD: the length went in the head, never the bytes
        _pending.clear();
        _offset = 0;
    }
    while (_offset < _pending.size()) {
        size_t size = std::min<size_t>(kBodyChunk, _pending.size() - _offset);
        bool last = _completeQueued && _offset + size == _pending.size();
        Result r =
            _service.tryWrite(stream, RecordType::ResponseBody, last ? kEndStream : 0,
                              std::string_view(_pending).substr(_offset, size), static_cast<uint32_t>(size));
        if (r == Result::NoCredit) return Ending::None; // creditArrived() pumps again
        if (r == Result::Full) {
            retryLater();
            return Ending::None;
        }
        if (r != Result::Written) return Ending::Gone;
        _offset += size;
        _inFlight += size;
        stream.bytesSent += size;
        if (last) return Ending::Complete;
    }
    _pending.clear();
    _offset = 0;
    if (_completeQueued) {
        Result r = _service.tryWrite(stream, RecordType::ResponseBody, kEndStream, {}, 0);
        if (r == Result::Full) {
            retryLater();
            return Ending::None;
        }
        return r == Result::Written ? Ending::Complete : Ending::Gone;
    }
    return Ending::None;
}

void WorkerAsyncResponse::end(Ending ending) noexcept
{
    WorkerStream* stream = nullptr;
    std::function<void()> gone;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_ended) return;
        _ended = true;
        stream = _stream;
        _stream = nullptr;
        if (ending == Ending::Gone) {
            _gone = true;
            gone = std::move(_onGone);
        }
    }
    if (gone) gone();
    if (stream != nullptr) _service.endExchange(*stream);
}

} // namespace serval::process
