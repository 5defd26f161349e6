#pragma once

#include "connector/Transport.h"

#include <memory>
#include <openssl/ssl.h>

namespace serval::connector::tls {

/// TLS on the Transport seam: non-blocking SSL_read/SSL_write over the connection's socket.
/// OpenSSL's "want read" and "want write" both become EAGAIN: a TLS Connection retries reads
/// and writes on either epoll edge (Connection::onEvents), so the handshake, which writes from
/// inside a read, needs no interest changes. The handshake runs inside the first read().
///
/// Writes go out one TLS record (16 KiB) per call: small pieces (a head and a short body) are
/// gathered into one record in a buffer of the driving thread's, shared by its connections; a
/// record that meets EAGAIN moves to the connection's own buffer, so the retry re-offers the
/// same bytes, as OpenSSL requires. sendFile() reads the file into the thread's buffer too; a
/// head written with `more` (a file body follows) waits there for it, so head and file start
/// share one record. No
/// kTLS: the kernel here has no TLS ULP to measure it with (docs/tls.md, issue 16).
///
/// OWNERSHIP: owns its SSL (which holds a reference to its SSL_CTX, so a certificate reload
/// never pulls a context from under a live connection); the socket stays the Connection's.
/// THREADS: as Transport: whoever drives the connection, one thread at a time.
class TlsTransport final : public Transport
{
public:
    /// Adopts `ssl` (SSL_new'd from the connector's TlsContext, fd set, accept state).
    explicit TlsTransport(SSL* ssl) noexcept;
    ~TlsTransport() override; ///< best-effort close_notify if the socket is still open
    TlsTransport(const TlsTransport&) = delete;
    TlsTransport& operator=(const TlsTransport&) = delete;

    ssize_t read(char* buffer, size_t size) noexcept override;
    ssize_t write(const iovec* buffers, int count, bool more) noexcept override;
    ssize_t sendFile(int fileFd, off_t* offset, size_t count) noexcept override;
    void shutdownWrite() noexcept override;
    /// Bytes wait in OpenSSL (decrypted, or records read ahead: SSL_has_pending), or the last
    /// read did not reach EAGAIN on the socket (a read returns one record, so "fewer bytes
    /// than asked" does not mean "drained").
    bool hasBufferedInput() const noexcept override;
    bool established() const noexcept override;
    std::string_view applicationProtocol() const noexcept override;

    SSL* ssl() const noexcept { return _ssl; }

    static constexpr size_t kRecordSize = 16384; ///< TLS's largest plaintext record

private:
    ssize_t failed(int rc) noexcept;
    /// SSL_write of the _pendingLength bytes at `data`; on EAGAIN a record gathered in the
    /// thread's buffer is copied to _owned (OpenSSL wants the same bytes again).
    ssize_t writePending(const char* data) noexcept;
    /// The thread's record buffer (kRecordSize), or nullptr when out of memory.
    char* gatherBuffer() noexcept;
    /// The thread's buffer holds this transport's head until its sendFile() (assert's record).
    void hold() noexcept;
    void releaseHold() noexcept;

    SSL* _ssl;
    bool _socketMayHaveInput = false;
    bool _fatal = false;    ///< a protocol error or a dead socket: no close_notify any more
    bool _shutdown = false; ///< close_notify sent
    /// A write that returned EAGAIN: its length, re-offered unchanged on the next call.
    /// _pendingDirect: from the caller's first buffer (big bodies, no copy), else from the
    /// thread's buffer or, after an EAGAIN, _owned.
    size_t _pendingLength = 0;
    bool _pendingDirect = false;
    /// Head bytes at the start of the thread's buffer that write(more) reported written;
    /// sendFile(), which the caller runs next on the same thread, sends them in front of the
    /// file's first bytes.
    size_t _heldLength = 0;
    /// A gathered record that met EAGAIN, until it is written: the only buffer a connection
    /// keeps between calls (none while its writes go through).
    std::unique_ptr<char[]> _owned;
};

} // namespace serval::connector::tls
