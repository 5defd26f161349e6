#include "http/AsyncOutput.h"

#include <utility>

namespace serval::http {

bool AsyncOutput::setStatus(int status)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_headSent || _ended) return false;
    _status = status;
    return true;
}

bool AsyncOutput::setHeader(std::string_view name, std::string_view value)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_headSent || _ended) return false;
    _headerChanges.push_back(HeaderChange{true, http::Header{std::string(name), std::string(value)}});
    return true;
}

bool AsyncOutput::addHeader(std::string_view name, std::string_view value)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_headSent || _ended) return false;
    _headerChanges.push_back(HeaderChange{false, http::Header{std::string(name), std::string(value)}});
    return true;
}

http::WriteStatus AsyncOutput::write(std::string_view bytes)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_ended || _completeRequested || _overflow) return http::WriteStatus::Dropped;
    if (_buffered + bytes.size() > _limits.hardCap) {
        _overflow = true; // the loop closes the connection
        schedule();
        return http::WriteStatus::Dropped;
    }
    _queued.append(bytes);
    _buffered += bytes.size();
    _send = true;
    _headSent = true;
    schedule();
    if (_buffered <= _limits.highWater) return http::WriteStatus::Ok;
    _wantWritable = true;
    return http::WriteStatus::Backpressure;
}

void AsyncOutput::expectLength(uint64_t length) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_headSent) _expectedLength = static_cast<int64_t>(length);
}

bool AsyncOutput::complete()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_ended || _completeRequested || _overflow) return false;
    _completeRequested = true;
    _headSent = true;
    schedule();
    return true;
}

size_t AsyncOutput::bufferedAmount() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _buffered;
}

void AsyncOutput::setLimits(http::OutputLimits limits)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _limits = limits;
}

bool AsyncOutput::clientGone() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _gone;
}

void AsyncOutput::onClientGone(std::function<void()> callback)
{
    std::unique_lock<std::mutex> lock(_mutex);
    if (!_ended) {
        _goneCallback = std::move(callback);
        return;
    }
    if (!_gone || !callback) return;
    lock.unlock();
    _loop.post(std::move(callback)); // already gone: still on the loop thread, still once
}

void AsyncOutput::onWritable(std::function<void()> callback)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_ended) _writableCallback = std::move(callback);
}

void AsyncOutput::schedule()
{
    if (_posted || _connection == nullptr) return;
    _posted = true;
    _postedSelf = shared_from_this();
    if (!_loop.post(*this)) { // the loop has ended; so has the exchange
        _posted = false;
        _postedSelf.reset(); // not the last reference: the caller holds one
    }
}

void AsyncOutput::run() noexcept
{
    std::shared_ptr<AsyncOutput> self;
    AsyncOwner* connection;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _posted = false;
        self = std::move(_postedSelf);
        connection = _connection;
    }
    if (connection != nullptr) connection->onAsyncReady();
    // `self` goes last: it may free this object.
}

AsyncOutput::Take AsyncOutput::take(http::HttpResponse& response)
{
    int status;
    int64_t expectedLength;
    std::vector<HeaderChange> changes;
    std::string bytes;
    bool send;
    bool completed;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_overflow) return Take::Overflow;
        status = _status;
        _status = 0;
        expectedLength = std::exchange(_expectedLength, -1);
        changes.swap(_headerChanges);
        bytes.swap(_queued);
        send = _send;
        _send = false;
        completed = _completeRequested;
    }
    if (!response.isCommitted()) {
        if (status != 0) response.setStatus(status);
        if (expectedLength >= 0) response.setContentLength(expectedLength); // framed by it, not chunked
        for (const HeaderChange& change : changes) {
            if (change.replace)
                response.setHeader(change.header.name, change.header.value);
            else
                response.addHeader(change.header.name, change.header.value);
        }
    }
    response.body().append(bytes);
    if (completed) return Take::Complete;
    return send ? Take::Send : Take::Nothing;
}

void AsyncOutput::progress(size_t unwritten)
{
    std::function<void()> callback;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _buffered = _queued.size() + unwritten;
        if (!_wantWritable || _buffered > _limits.highWater / 2) return;
        _wantWritable = false;
        callback = _writableCallback;
    }
    if (callback) callback();
}

void AsyncOutput::detach(bool completed)
{
    std::function<void()> gone;
    std::function<void()> writable;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _connection = nullptr;
        _ended = true;
        _buffered = 0;
        _queued.clear();
        _gone = !completed && !_completeRequested;
        if (_gone) gone = std::move(_goneCallback);
        _goneCallback = nullptr;
        writable = std::move(_writableCallback); // destroyed outside the lock
        _writableCallback = nullptr;
    }
    if (gone) gone();
}

} // namespace serval::http
