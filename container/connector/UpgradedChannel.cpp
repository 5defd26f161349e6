#include "connector/UpgradedChannel.h"

#include "connector/Connection.h"

namespace serval::connector {

http::Loop& UpgradedChannel::loop() noexcept
{
    return _connection.loop();
}

http::WriteStatus UpgradedChannel::write(std::string_view bytes) noexcept
{
    if (_closed || _closeRequested || _abortRequested) return http::WriteStatus::Dropped;
    if (bufferedAmount() + bytes.size() > _limits.hardCap) {
        _abortRequested = true;
        kick();
        return http::WriteStatus::Dropped;
    }
    try {
        _out.append(bytes);
    } catch (...) {
        _abortRequested = true;
        kick();
        return http::WriteStatus::Dropped;
    }
    if (_corked) { // written when uncorked; above the mark the writer hears onWritable later
        if (bufferedAmount() <= _limits.highWater) return http::WriteStatus::Ok;
        _wantWritable = true;
        return http::WriteStatus::Backpressure;
    }
    _connection.flushUpgraded(); // what the socket takes now; a failure requests an abort
    if (_abortRequested) {
        kick();
        return http::WriteStatus::Dropped;
    }
    if (bufferedAmount() <= _limits.highWater) return http::WriteStatus::Ok;
    _wantWritable = true;
    return http::WriteStatus::Backpressure;
}

void UpgradedChannel::setReading(bool reading) noexcept
{
    if (_closed || _reading == reading) return;
    _reading = reading;
    if (reading) kick(); // bytes may be waiting without a new edge
}

void UpgradedChannel::setCorked(bool corked) noexcept
{
    if (_closed || _corked == corked) return;
    _corked = corked;
    if (corked) return;
    _connection.flushUpgraded(); // a failure requests an abort
    if (_abortRequested) kick();
}

void UpgradedChannel::close() noexcept
{
    if (_closed) return;
    _closeRequested = true;
    kick();
}

void UpgradedChannel::abort() noexcept
{
    if (_closed) return;
    _abortRequested = true;
    kick();
}

bool UpgradedChannel::takeWritable() noexcept
{
    if (!_wantWritable || bufferedAmount() > _limits.highWater / 2) return false;
    _wantWritable = false;
    return true;
}

void UpgradedChannel::kick() noexcept
{
    if (!_inCallback && !_closed) _connection.driveUpgraded();
}

} // namespace serval::connector
