#include "compression/CompressingAsyncResponse.h"

#include "util/Strings.h"

namespace serval::compression {
namespace {

bool isContentLength(std::string_view name) noexcept
{
    return name.size() == 14 && util::equalsIgnoreCase(name, "Content-Length");
}

bool isIdentityMarker(std::string_view name, std::string_view value) noexcept
{
    return name.size() == 16 && util::equalsIgnoreCase(name, "Content-Encoding") &&
           util::equalsIgnoreCase(util::trim(value), "identity");
}

} // namespace

CompressingAsyncResponse::CompressingAsyncResponse(std::shared_ptr<http::AsyncResponse> inner,
                                                   const http::CompressionSettings* settings,
                                                   RequestTraits traits) noexcept
    : _inner(std::move(inner)), _settings(settings), _traits(traits)
{}

void CompressingAsyncResponse::serviceReturned(http::HttpResponse& response) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    try {
        _head.setStatus(response.status());
        for (const http::Header& h : response.headers())
            _head.addHeader(h.name, h.value);
        if (response.hasHeader("Content-Encoding") &&
            isIdentityMarker("Content-Encoding", response.header("Content-Encoding")))
            response.removeHeader("Content-Encoding"); // the opt-out marker never goes out
        if (response.declaredContentLength() >= 0) {
            _expected = response.declaredContentLength() + static_cast<int64_t>(_held.size());
            // Framed by what is queued instead: a compressed body is not that long.
            response.setContentLength(-1);
        }
        std::string held = std::move(_held);
        _held = std::move(response.body());
        _held.append(held);
        response.body().clear();
    } catch (...) {
        _failed = true;
    }
    _serviceDone = true;
    if (_completeHeld) {
        decideLocked(static_cast<int64_t>(_held.size()));
        std::string held = std::move(_held);
        writeLocked(held, Flush::Finish);
        _inner->complete();
    } else if (!_held.empty()) {
        decideLocked(-1);
        std::string held = std::move(_held);
        writeLocked(held, Flush::Sync);
    }
}

bool CompressingAsyncResponse::setStatus(int status)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_decided) _head.setStatus(status);
    return _inner->setStatus(status);
}

bool CompressingAsyncResponse::setHeader(std::string_view name, std::string_view value)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (isContentLength(name)) return !_decided; // framing is the connector's
    if (!_decided) _head.setHeader(name, value);
    if (isIdentityMarker(name, value)) return !_decided;
    return _inner->setHeader(name, value);
}

bool CompressingAsyncResponse::addHeader(std::string_view name, std::string_view value)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (isContentLength(name)) return !_decided;
    if (!_decided) _head.addHeader(name, value);
    if (isIdentityMarker(name, value)) return !_decided;
    return _inner->addHeader(name, value);
}

void CompressingAsyncResponse::expectLength(uint64_t length) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_decided) _expected = static_cast<int64_t>(length); // passed on by decideLocked()
}

ContentCoding CompressingAsyncResponse::coding() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _encoder ? _encoder->coding() : ContentCoding::Identity;
}

void CompressingAsyncResponse::decideLocked(int64_t length)
{
    if (_decided) return;
    _decided = true;
    chooseLocked(length);
    // Sent as it is: the inner frames it with the length it will have; compressed, it cannot.
    if (!_encoder && _expected >= 0) _inner->expectLength(static_cast<uint64_t>(_expected));
}

void CompressingAsyncResponse::chooseLocked(int64_t length)
{
    if (_failed) return;
    try {
        Decision decision =
            decide(_settings, _traits, _head.status(), _head.headers(), _expected >= 0 ? _expected : length);
        if (!decision.vary) return;
        _inner->setHeader("Vary", varyWithAcceptEncoding(_head.header("Vary")));
        if (decision.coding == ContentCoding::Identity) return;
        _encoder =
            makeEncoder(decision.coding, Effort::Fast, _expected > 0 ? static_cast<size_t>(_expected) : 0);
        if (!_encoder) return;
        _inner->setHeader("Content-Encoding", codingName(decision.coding));
        countCompressed(decision.coding);
        std::string_view etag = _head.header("ETag");
        if (!etag.empty()) _inner->setHeader("ETag", weakEtag(etag));
    } catch (...) {
        _encoder.reset(); // headers not all set: identity is still consistent
    }
}

http::WriteStatus CompressingAsyncResponse::writeLocked(std::string_view bytes, Flush flush)
{
    if (!_encoder) {
        if (bytes.empty() && flush == Flush::Finish) return http::WriteStatus::Ok;
        return _inner->write(bytes);
    }
    _out.clear();
    if (!_encoder->encode(bytes, flush, _out)) {
        // A half-encoded body cannot be finished: cut the connection (a write past a zero cap).
        _failed = true;
        _inner->setLimits(http::OutputLimits{0, 0});
        return _inner->write("x");
    }
    if (_out.empty() && !bytes.empty()) return http::WriteStatus::Ok;
    http::WriteStatus status = _inner->write(_out);
    if (_out.capacity() > 256 * 1024) std::string().swap(_out);
    return status;
}

http::WriteStatus CompressingAsyncResponse::write(std::string_view bytes)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_failed && _decided) return http::WriteStatus::Dropped;
    if (!_serviceDone) {
        try {
            _held.append(bytes);
        } catch (...) {
            return http::WriteStatus::Dropped;
        }
        return http::WriteStatus::Ok;
    }
    decideLocked(-1);
    if (bytes.empty()) return _inner->write({}); // "send the head now"
    return writeLocked(bytes, Flush::Sync);
}

bool CompressingAsyncResponse::complete()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_serviceDone) {
        if (_completeHeld) return false;
        _completeHeld = true;
        return true;
    }
    decideLocked(0); // nothing written yet: an empty body (below any minimum size)
    if (_encoder && !_failed) writeLocked({}, Flush::Finish); // the trailer
    return _inner->complete();
}

} // namespace serval::compression
