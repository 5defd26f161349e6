#pragma once

#include "http/Header.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace serval::http {

class HttpResponse;

/// An open file whose bytes form (part of) a response body, sent with sendfile().
/// OWNERSHIP: shared by whoever caches the open file and the response that sends it; the fd is
/// closed when the last owner lets go.
class FileBody
{
public:
    explicit FileBody(int fd) noexcept : _fd(fd) {}
    ~FileBody();
    FileBody(const FileBody&) = delete;
    FileBody& operator=(const FileBody&) = delete;
    int fd() const noexcept { return _fd; }

private:
    int _fd;
};

/// Where a response's bytes go. Implemented by the Connector.
/// THREADS: called only by the thread currently running the exchange (I/O thread or worker).
class ResponseSink
{
public:
    virtual ~ResponseSink() = default;
    /// Sends the status line and headers. `chunked` is true when the body follows in chunks
    /// (no Content-Length known). Returns false if the client is gone.
    virtual bool sendHead(const HttpResponse& response, bool chunked) noexcept = 0;
    /// Sends body bytes (framed as one chunk if the head said chunked). False if the client is gone.
    virtual bool sendBody(std::string_view data) noexcept = 0;
};

/// Transforms a streamed body on its way to the sink (response compression: the handler of the
/// exchange installs one, compression/StreamingCompressor). Called by HttpResponse::flush() on
/// the thread running the exchange.
class BodyEncoder
{
public:
    virtual ~BodyEncoder() = default;
    /// Once, before the head is committed: may change headers and the declared length.
    virtual void beforeCommit(HttpResponse& response) noexcept = 0;
    /// Replaces `body` (the bytes about to be sent) by their encoded form. False: the body
    /// cannot be encoded (the caller cuts the connection).
    virtual bool encode(std::string& body) noexcept = 0;
};

/// The response being built for one request.
///
/// OWNERSHIP: owned by the Connector's per-connection exchange, reused across requests.
/// THREADS: used by the one thread running the exchange.
///
/// The usual path is fully buffered: the handler sets status, headers and body() (or a file),
/// returns, and the Connector serialises it once with Content-Length, Date and Server.
/// flush() streams instead: it commits the head (chunked unless a Content-Length was set) and
/// sends what is buffered; later writes go out on the next flush() or at the end.
class HttpResponse
{
public:
    int status() const noexcept { return _status; }
    void setStatus(int status) noexcept { _status = status; }

    /// Replaces every header of that name (case-insensitive), or adds it.
    void setHeader(std::string_view name, std::string_view value);
    /// Adds a header even if one of that name exists (Set-Cookie).
    void addHeader(std::string_view name, std::string_view value);
    void removeHeader(std::string_view name) noexcept;
    std::string_view header(std::string_view name) const noexcept;
    bool hasHeader(std::string_view name) const noexcept;
    const std::vector<Header>& headers() const noexcept { return _headers; }

    void setContentType(std::string_view type) { setHeader("Content-Type", type); }

    /// Buffered body. Appending after commit is fine: it is sent on the next flush() or at the end.
    std::string& body() noexcept { return _body; }
    void write(std::string_view data) { _body.append(data); }

    /// Sends `length` bytes of `file` from `offset` as the body (replaces any buffered body).
    void setFileBody(std::shared_ptr<FileBody> file, uint64_t offset, uint64_t length) noexcept;
    const std::shared_ptr<FileBody>& fileBody() const noexcept { return _file; }
    uint64_t fileOffset() const noexcept { return _fileOffset; }
    uint64_t fileLength() const noexcept { return _fileLength; }

    /// Declares the body length without providing bytes: used for HEAD answers that must carry
    /// the Content-Length the GET would have had. -1 = derive from body/file.
    void setContentLength(int64_t length) noexcept { _contentLength = length; }
    int64_t declaredContentLength() const noexcept { return _contentLength; }
    /// A HEAD answer whose GET length is not known without producing the body (a compressed
    /// variant): no Content-Length is sent at all, rather than the empty body's 0.
    void setLengthUnknown() noexcept { _contentLength = kLengthUnknown; }
    bool lengthUnknown() const noexcept { return _contentLength == kLengthUnknown; }
    /// The length that will be sent in Content-Length: declared, file, or buffered body size.
    uint64_t contentLength() const noexcept;

    /// The body's content coding is final: response compression (compression/ResponseCompression)
    /// leaves this response alone. Set by the DefaultServlet, which serves its own variants.
    void setContentCodingFinal(bool final) noexcept { _codingFinal = final; }
    bool contentCodingFinal() const noexcept { return _codingFinal; }

    /// True once the head has been sent (flush() was called): status and headers are final.
    bool isCommitted() const noexcept { return _committed; }
    /// True if the head said chunked (streaming started without a known length).
    bool isChunked() const noexcept { return _chunked; }

    /// Commits the head if not yet committed and sends the buffered body through the sink.
    /// Returns false if the client is gone (the handler may stop producing output).
    bool flush() noexcept;

    /// Clears status, headers and body. Returns false (and changes nothing) once committed.
    bool reset() noexcept;
    /// Clears the buffered body only.
    void resetBuffer() noexcept { _body.clear(); }

    /// Set by the Connector for HEAD requests: bytes are never sent, lengths still are.
    void setHeadOnly(bool headOnly) noexcept { _headOnly = headOnly; }
    bool headOnly() const noexcept { return _headOnly; }

    /// Ask the Connector to close the connection after this response.
    void setCloseConnection(bool close) noexcept { _close = close; }
    bool closeConnection() const noexcept { return _close; }

    /// The handler's encoder for a body streamed with flush() (nullptr: sent as written);
    /// cleared with the response.
    void setBodyEncoder(BodyEncoder* encoder) noexcept { _encoder = encoder; }

    /// Connector plumbing.
    void setSink(ResponseSink* sink) noexcept { _sink = sink; }
    /// Marks the head as sent by the Connector itself (the buffered path).
    void markCommitted(bool chunked) noexcept
    {
        _committed = true;
        _chunked = chunked;
    }
    /// Resets everything for the next request on the connection; keeps capacity.
    void clear() noexcept;

private:
    /// Moves the headers to _spare (clear() and reset()): their strings keep their capacity.
    void recycleHeaders() noexcept;
    /// Status, headers, body and file back to a fresh 200 (reset() and clear(); inline: clear()
    /// runs for every request on the connection).
    inline void clearContent() noexcept;

    int _status = 200;
    std::vector<Header> _headers;
    /// Cleared headers whose strings are reused by the next addHeader(), so a steady stream of
    /// responses (ETag, Last-Modified, Content-Type longer than the small-string buffer) does
    /// not allocate. Bounded by the most headers one response had; long strings are not kept.
    std::vector<Header> _spare;
    std::string _body;
    std::shared_ptr<FileBody> _file;
    uint64_t _fileOffset = 0;
    uint64_t _fileLength = 0;
    static constexpr int64_t kLengthUnknown = -2;
    int64_t _contentLength = -1;
    bool _codingFinal = false;
    bool _committed = false;
    bool _chunked = false;
    bool _headOnly = false;
    bool _close = false;
    ResponseSink* _sink = nullptr;
    BodyEncoder* _encoder = nullptr;
};

} // namespace serval::http
