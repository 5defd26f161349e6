#include "process/UpgradeTunnel.h"

namespace serval::process {

UpgradeTunnel::~UpgradeTunnel()
{
    if (_stream != nullptr) _lane.cancel(_stream);
}

void UpgradeTunnel::adopt(ForwardedStream* stream) noexcept
{
    _stream = stream;
    _lane.reown(stream, *this);
}

void UpgradeTunnel::onOpen(http::UpgradedConnection& connection) noexcept
{
    _connection = &connection;
    if (!_held.empty()) {
        std::string held;
        held.swap(_held);
        deliver(held);
    }
    if (_failed)
        fail(_workerDied);
    else if (_ended)
        connection.close();
}

void UpgradeTunnel::onData(std::string_view bytes) noexcept
{
    if (_stream == nullptr) return;
    try {
        if (!_lane.sendUpstream(_stream, bytes)) _connection->setReading(false);
    } catch (...) { // std::bad_alloc: the connection goes, not the server
        _connection->abort();
    }
}

void UpgradeTunnel::onWritable() noexcept
{
    if (_owed > 0 && _stream != nullptr) _lane.consumed(_stream, _owed);
    _owed = 0;
}

void UpgradeTunnel::onDrain() noexcept
{
    if (_stream != nullptr) _lane.goAway(_stream);
}

void UpgradeTunnel::onClose() noexcept
{
    _connection = nullptr;
    if (_stream != nullptr) { // the client left: the worker's side closes too
        ForwardedStream* stream = _stream;
        _stream = nullptr;
        _lane.cancel(stream);
    }
}

void UpgradeTunnel::deliver(std::string_view bytes) noexcept
{
    http::WriteStatus status = _connection->write(bytes);
    if (_stream == nullptr) return;
    if (status == http::WriteStatus::Ok)
        _lane.consumed(_stream, static_cast<uint32_t>(bytes.size()));
    else if (status == http::WriteStatus::Backpressure)
        _owed += static_cast<uint32_t>(bytes.size());
}

void UpgradeTunnel::onUpgradeBytes(std::string_view bytes, bool writeEnd, bool endStream) noexcept
{
    if (endStream) _stream = nullptr; // the lane has finished it
    _atWriteEnd = writeEnd;
    if (_connection == nullptr) {
        try {
            _held.append(bytes);
        } catch (...) {
            _failed = true;
        }
        if (endStream) _ended = true;
        return;
    }
    if (!bytes.empty()) deliver(bytes);
    if (endStream) _connection->close();
}

void UpgradeTunnel::onStreamFailed(const StreamFailure& failure) noexcept
{
    _stream = nullptr;
    bool workerDied = failure.status != 500; // 500: the app aborted the connection itself
    if (_connection == nullptr) {
        _failed = true;
        _workerDied = workerDied;
        return;
    }
    fail(workerDied);
}

void UpgradeTunnel::fail(bool workerDied) noexcept
{
    if (workerDied && _webSocket && _atWriteEnd) {
        // RFC 6455 7.4.1: 1011, the server met a condition that kept it from fulfilling the request.
        static const char kClose1011[] = {'\x88', '\x02', '\x03', '\xf3'};
        _connection->write(std::string_view(kClose1011, sizeof kClose1011));
        _connection->close();
        return;
    }
    _connection->abort();
}

void UpgradeTunnel::onUpstreamDrained() noexcept
{
    if (_connection != nullptr) _connection->setReading(true);
}

} // namespace serval::process
