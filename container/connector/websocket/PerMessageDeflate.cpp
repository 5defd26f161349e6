#include "connector/websocket/PerMessageDeflate.h"

#include "util/Strings.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <zlib.h>

namespace serval::websocket {
namespace {

constexpr size_t kPieceSize = 64 * 1024;
constexpr char kTail[4] = {0x00, 0x00, static_cast<char>(0xFF), static_cast<char>(0xFF)};

/// A window-bits value 8..15, quoted or not (RFC 7692 7.1.2: a quoted-string is allowed).
std::optional<int> windowBits(std::string_view value)
{
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
    if (value.empty() || value.size() > 2 || value[0] == '0') return std::nullopt;
    auto n = util::parseUnsigned(value);
    if (!n || *n < 8 || *n > 15) return std::nullopt;
    return static_cast<int>(*n);
}

/// One offer ("permessage-deflate; client_max_window_bits; server_no_context_takeover").
std::optional<DeflateParams> acceptOffer(std::string_view offer, const WebSocketConfig& config)
{
    auto parts = util::splitList(offer, ';');
    if (parts.empty() || !util::equalsIgnoreCase(parts[0], "permessage-deflate")) return std::nullopt;
    DeflateParams p;
    bool seenServerBits = false, seenServerTakeover = false, seenClientTakeover = false;
    int serverBits = 15;
    for (size_t i = 1; i < parts.size(); ++i) {
        std::string_view name = parts[i], value;
        bool hasValue = false;
        if (size_t eq = name.find('='); eq != std::string_view::npos) {
            value = util::trim(name.substr(eq + 1));
            name = util::trim(name.substr(0, eq));
            hasValue = true;
        }
        if (util::equalsIgnoreCase(name, "server_no_context_takeover")) {
            if (hasValue || seenServerTakeover) return std::nullopt;
            seenServerTakeover = p.serverNoContextTakeover = true;
        } else if (util::equalsIgnoreCase(name, "client_no_context_takeover")) {
            if (hasValue || seenClientTakeover) return std::nullopt;
            seenClientTakeover = p.clientNoContextTakeover = true;
        } else if (util::equalsIgnoreCase(name, "server_max_window_bits")) {
            auto bits = hasValue ? windowBits(value) : std::nullopt;
            if (!bits || seenServerBits) return std::nullopt;
            seenServerBits = true;
            serverBits = *bits;
        } else if (util::equalsIgnoreCase(name, "client_max_window_bits")) {
            if (p.clientMaxWindowBitsSent) return std::nullopt;
            if (hasValue) {
                auto bits = windowBits(value);
                if (!bits) return std::nullopt;
                p.clientMaxWindowBits = *bits;
            }
            p.clientMaxWindowBitsSent = true;
        } else {
            return std::nullopt;
        }
    }
    // A smaller window than the client allows needs no word: any inflater reads it.
    if (serverBits < 9) return std::nullopt;
    p.serverMaxWindowBits = std::min(serverBits, config.deflateWindowBits);
    p.serverMaxWindowBitsSent = seenServerBits;
    if (config.serverNoContextTakeover) p.serverNoContextTakeover = true;
    return p;
}

} // namespace

std::optional<DeflateParams> negotiateDeflate(const std::vector<std::string_view>& extensionHeaders,
                                              const WebSocketConfig& config)
{
    if (!config.permessageDeflate) return std::nullopt;
    for (std::string_view header : extensionHeaders)
        for (std::string_view offer : util::splitList(header, ','))
            if (auto params = acceptOffer(offer, config)) return params;
    return std::nullopt;
}

std::string deflateResponseHeader(const DeflateParams& params)
{
    std::string value = "permessage-deflate";
    if (params.serverNoContextTakeover) value += "; server_no_context_takeover";
    if (params.clientNoContextTakeover) value += "; client_no_context_takeover";
    if (params.serverMaxWindowBitsSent)
        value += "; server_max_window_bits=" + std::to_string(params.serverMaxWindowBits);
    return value;
}

Inflater::Inflater(bool noContextTakeover) : _stream(new z_stream{}), _noContextTakeover(noContextTakeover)
{
    if (inflateInit2(_stream, -15) != Z_OK) {
        delete _stream;
        throw std::bad_alloc();
    }
}

Inflater::~Inflater()
{
    inflateEnd(_stream);
    delete _stream;
}

Failure Inflater::run(std::string_view input, Sink& sink) noexcept
{
    _stream->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    _stream->avail_in = static_cast<uInt>(input.size());
    if (_piece.size() != kPieceSize) _piece.resize(kPieceSize);
    do {
        _stream->next_out = reinterpret_cast<Bytef*>(_piece.data());
        _stream->avail_out = static_cast<uInt>(kPieceSize);
        int rc = inflate(_stream, Z_SYNC_FLUSH);
        size_t produced = kPieceSize - _stream->avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
            return {CloseCode::InvalidPayload, "invalid deflate data"};
        if (produced > 0)
            if (Failure f = sink.onInflated(std::string_view(_piece.data(), produced))) return f;
        if (rc == Z_STREAM_END) {
            // A final block inside a message: the next message starts a new stream.
            inflateReset(_stream);
            if (_stream->avail_in > 0) continue;
        }
        if (rc == Z_BUF_ERROR && produced == 0) break;
    } while (_stream->avail_in > 0 || _stream->avail_out == 0);
    return {};
}

Failure Inflater::feed(std::string_view compressed, Sink& sink) noexcept
{
    return run(compressed, sink);
}

Failure Inflater::finish(Sink& sink) noexcept
{
    Failure f = run(std::string_view(kTail, sizeof kTail), sink);
    if (_noContextTakeover) inflateReset(_stream);
    return f;
}

Deflater::~Deflater()
{
    if (_stream == nullptr) return;
    deflateEnd(_stream);
    delete _stream;
}

bool Deflater::compress(std::string_view message, std::string& out)
{
    if (_stream == nullptr) {
        auto* stream = new (std::nothrow) z_stream{};
        if (stream == nullptr) return false;
        if (deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -_windowBits, _memLevel,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            delete stream;
            return false;
        }
        _stream = stream;
    }
    const size_t start = out.size();
    _stream->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
    _stream->avail_in = static_cast<uInt>(message.size());
    do {
        size_t at = out.size();
        size_t room = deflateBound(_stream, static_cast<uLong>(_stream->avail_in)) + 16;
        out.resize(at + room);
        _stream->next_out = reinterpret_cast<Bytef*>(out.data() + at);
        _stream->avail_out = static_cast<uInt>(room);
        int rc = deflate(_stream, Z_SYNC_FLUSH);
        out.resize(at + room - _stream->avail_out);
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            out.resize(start);
            deflateReset(_stream);
            return false;
        }
    } while (_stream->avail_in > 0 || _stream->avail_out == 0);
    // Z_SYNC_FLUSH ends with an empty stored block: 00 00 FF FF, which the receiver adds back.
    if (out.size() - start >= 4 && std::memcmp(out.data() + out.size() - 4, kTail, 4) == 0)
        out.resize(out.size() - 4);
    if (_noContextTakeover) deflateReset(_stream);
    return true;
}

} // namespace serval::websocket
