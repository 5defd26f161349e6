#pragma once

#include "connector/websocket/FrameParser.h"
#include "connector/websocket/WebSocketConfig.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct z_stream_s;

namespace serval::websocket {

/// The permessage-deflate parameters both sides agreed on (RFC 7692 7.1).
struct DeflateParams
{
    bool serverNoContextTakeover = false;
    bool clientNoContextTakeover = false;
    int serverMaxWindowBits = 15;         ///< the window the server compresses with
    bool serverMaxWindowBitsSent = false; ///< the client limited it: the answer repeats the value
    bool clientMaxWindowBitsSent = false;
    int clientMaxWindowBits = 15;
};

/// Picks the first acceptable permessage-deflate offer among the client's
/// Sec-WebSocket-Extensions values (each a comma list of offers). An offer with an unknown,
/// repeated or out-of-range parameter is declined (RFC 7692 5.1), so is one asking the server
/// for a window below 9 (zlib cannot make raw deflate streams with a 256-byte window).
std::optional<DeflateParams> negotiateDeflate(const std::vector<std::string_view>& extensionHeaders,
                                              const WebSocketConfig& config);
/// The Sec-WebSocket-Extensions value that answers the accepted offer.
std::string deflateResponseHeader(const DeflateParams& params);

/// Decompresses incoming messages into bounded pieces: however small the input, at most 64 KiB
/// of output exists at a time, and the Sink's Failure (a message over its limit: 1009) stops it
/// at once, so a compression bomb costs one piece of memory. The window is always 15 bits (a
/// larger window reads streams made with any smaller one).
/// THREADS: one owner (the session's loop thread).
class Inflater
{
public:
    class Sink
    {
    public:
        virtual Failure onInflated(std::string_view bytes) noexcept = 0;

    protected:
        ~Sink() = default;
    };

    /// `noContextTakeover`: the client resets its compressor per message (client_no_context_takeover).
    explicit Inflater(bool noContextTakeover);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    /// The next compressed bytes of the current message.
    Failure feed(std::string_view compressed, Sink& sink) noexcept;
    /// The message ended: flushes the tail (RFC 7692 7.2.2 appends 00 00 FF FF).
    Failure finish(Sink& sink) noexcept;

private:
    Failure run(std::string_view input, Sink& sink) noexcept;

    z_stream_s* _stream;
    bool _noContextTakeover;
    std::string _piece;
};

/// Compresses outgoing messages (RFC 7692 7.2.1: a raw deflate stream flushed with
/// Z_SYNC_FLUSH, the trailing 00 00 FF FF removed). zlib's memory is taken at the first
/// message, not at the handshake, so idle connections cost none.
/// THREADS: one owner (the session's loop thread).
class Deflater
{
public:
    Deflater(int windowBits, int memLevel, bool noContextTakeover) noexcept
        : _windowBits(windowBits), _memLevel(memLevel), _noContextTakeover(noContextTakeover)
    {}
    ~Deflater();
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    /// Appends the compressed form of one whole message to `out`. False if zlib failed (out
    /// of memory): send the message uncompressed instead.
    bool compress(std::string_view message, std::string& out);

private:
    z_stream_s* _stream = nullptr;
    int _windowBits;
    int _memLevel;
    bool _noContextTakeover;
};

} // namespace serval::websocket
