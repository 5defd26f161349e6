#include "http/HttpResponse.h"

#include "util/Strings.h"

#include <algorithm>
#include <unistd.h>

namespace serval::http {

FileBody::~FileBody()
{
    if (_fd >= 0) ::close(_fd);
}

void HttpResponse::setHeader(std::string_view name, std::string_view value)
{
    for (auto it = _headers.begin(); it != _headers.end(); ++it) {
        if (util::equalsIgnoreCase(it->name, name)) {
            it->value.assign(value);
            _headers.erase(
                std::remove_if(it + 1, _headers.end(),
                               [&](const Header& h) { return util::equalsIgnoreCase(h.name, name); }),
                _headers.end());
            return;
        }
    }
    addHeader(name, value);
}

void HttpResponse::addHeader(std::string_view name, std::string_view value)
{
    if (_spare.empty()) {
        _headers.push_back(Header{std::string(name), std::string(value)});
        return;
    }
    _headers.push_back(std::move(_spare.back()));
    _spare.pop_back();
    // clear() + append(): libstdc++'s assign() goes through the general _M_replace.
    Header& header = _headers.back();
    header.name.clear();
    header.name.append(name);
    header.value.clear();
    header.value.append(value);
}

void HttpResponse::recycleHeaders() noexcept
{
    // Only small strings are worth keeping: a one-off huge header must not stay in every slot.
    constexpr size_t kKeepCapacity = 256;
    if (_spare.capacity() < _spare.size() + _headers.size()) {
        try {
            _spare.reserve(_spare.size() + _headers.size());
        } catch (...) {
            // Without room to keep them the strings are simply freed below.
        }
    }
    for (Header& header : _headers) {
        if (_spare.size() == _spare.capacity() || header.value.capacity() > kKeepCapacity ||
            header.name.capacity() > kKeepCapacity)
            continue;
        _spare.push_back(std::move(header));
    }
    _headers.clear();
}

void HttpResponse::removeHeader(std::string_view name) noexcept
{
    _headers.erase(std::remove_if(_headers.begin(), _headers.end(),
                                  [&](const Header& h) { return util::equalsIgnoreCase(h.name, name); }),
                   _headers.end());
}

std::string_view HttpResponse::header(std::string_view name) const noexcept
{
    const Header* h = findHeader(_headers, name);
    return h ? std::string_view(h->value) : std::string_view();
}

bool HttpResponse::hasHeader(std::string_view name) const noexcept
{
    return findHeader(_headers, name) != nullptr;
}

void HttpResponse::setFileBody(std::shared_ptr<FileBody> file, uint64_t offset, uint64_t length) noexcept
{
    _body.clear();
    _file = std::move(file);
    _fileOffset = offset;
    _fileLength = length;
}

uint64_t HttpResponse::contentLength() const noexcept
{
    if (_contentLength >= 0) return static_cast<uint64_t>(_contentLength);
    if (_file) return _fileLength;
    return _body.size();
}

bool HttpResponse::flush() noexcept
{
    if (_sink == nullptr) return false;
    if (!_committed) {
        if (_encoder != nullptr) _encoder->beforeCommit(*this);
        bool chunked = _contentLength < 0;
        if (!_sink->sendHead(*this, chunked)) return false;
        _committed = true;
        _chunked = chunked;
    }
    if (_body.empty()) return true;
    if (_encoder != nullptr && !_encoder->encode(_body)) {
        _body.clear();
        _close = true;
        return false;
    }
    bool ok = _headOnly || _body.empty() || _sink->sendBody(_body);
    _body.clear();
    return ok;
}

inline void HttpResponse::clearContent() noexcept
{
    _status = 200;
    recycleHeaders();
    _body.clear();
    _file.reset();
    _fileOffset = 0;
    _fileLength = 0;
    _contentLength = -1;
    _codingFinal = false;
}

bool HttpResponse::reset() noexcept
{
    if (_committed) return false;
    clearContent();
    return true;
}

void HttpResponse::clear() noexcept
{
    clearContent();
    _committed = false;
    _chunked = false;
    _headOnly = false;
    _close = false;
    _sink = nullptr;
    _encoder = nullptr;
}

} // namespace serval::http
