#include "connector/tls/TlsTransport.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <cstring>
#include <openssl/err.h>
#include <unistd.h>

namespace serval::connector::tls {

TlsTransport::TlsTransport(SSL* ssl) noexcept : _ssl(ssl) {}

TlsTransport::~TlsTransport()
{
    if (_ssl == nullptr) return;
    // The Connection destroys its transport before it closes the socket: an idle connection
    // timed out, or a server stopping, still says goodbye properly. Never waits.
    if (!_fatal && !_shutdown && SSL_is_init_finished(_ssl)) SSL_shutdown(_ssl);
    ERR_clear_error();
    SSL_free(_ssl);
}

/// Maps a failed SSL_* call onto the Transport contract: EAGAIN to wait, 0 for the peer's
/// close, < 0 with errno for the rest. Leaves OpenSSL's per-thread error queue empty, so the
/// next connection's SSL_get_error() on this thread is not misled.
ssize_t TlsTransport::failed(int rc) noexcept
{
    switch (SSL_get_error(_ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        _socketMayHaveInput = false;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: // close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF)
        _shutdown = true;       // a peer that has left cannot hear ours
        return 0;
    case SSL_ERROR_SYSCALL: {
        int saved = errno != 0 ? errno : ECONNRESET;
        ERR_clear_error();
        _fatal = true;
        errno = saved;
        return -1;
    }
    default: // SSL_ERROR_SSL: garbage, a refused protocol or cipher, a bad record
        ERR_clear_error();
        _fatal = true;
        errno = EPROTO;
        return -1;
    }
}

ssize_t TlsTransport::read(char* buffer, size_t size) noexcept
{
    if (_ssl == nullptr || _fatal) {
        errno = EPROTO;
        return -1;
    }
    int n = SSL_read(_ssl, buffer, static_cast<int>(std::min<size_t>(size, INT_MAX)));
    if (n > 0) {
        _socketMayHaveInput = true;
        return n;
    }
    return failed(n);
}

namespace {

/// The loop thread's record buffer: every TLS connection driven by this thread gathers its
/// small writes and reads its file chunks here, so a connection between responses holds no
/// 16 KiB buffer of its own (an idle keep-alive connection costs what OpenSSL keeps, with
/// SSL_MODE_RELEASE_BUFFERS) and the bytes being encrypted sit in a buffer that stays in cache.
/// `holder`: the transport whose head is held here until its sendFile() (checked by assert).
struct Scratch
{
    std::unique_ptr<char[]> buffer;
    const void* holder = nullptr;
};

Scratch& scratch() noexcept
{
    thread_local Scratch s;
    return s;
}

} // namespace

char* TlsTransport::gatherBuffer() noexcept
{
    Scratch& s = scratch();
    assert(s.holder == nullptr || s.holder == this); // write(more) is followed by sendFile()
    if (!s.buffer) s.buffer.reset(new (std::nothrow) char[kRecordSize]);
    return s.buffer.get();
}

ssize_t TlsTransport::writePending(const char* data) noexcept
{
    int n = SSL_write(_ssl, data, static_cast<int>(_pendingLength));
    if (n > 0) {
        _pendingLength = 0; // _owned, if it held the record, is freed by the caller
        return n;
    }
    ssize_t rc = failed(n);
    if (rc < 0 && errno == EAGAIN && !_pendingDirect && data != _owned.get()) {
        // The record must be offered again, byte for byte, after the socket drains: it moves
        // out of the thread's buffer, which the next connection is about to use.
        _owned.reset(new (std::nothrow) char[_pendingLength]);
        if (!_owned) {
            _fatal = true;
            errno = ENOMEM;
            return -1;
        }
        std::memcpy(_owned.get(), data, _pendingLength);
        errno = EAGAIN;
    }
    return rc;
}

ssize_t TlsTransport::write(const iovec* buffers, int count, bool more) noexcept
{
    if (_ssl == nullptr || _fatal) {
        errno = EPIPE;
        return -1;
    }
    if (_pendingLength > 0) { // the same bytes again (the caller has not advanced)
        ssize_t n =
            writePending(_pendingDirect ? static_cast<const char*>(buffers[0].iov_base) : _owned.get());
        if (n > 0) _owned.reset(); // nothing of ours waits any more
        return n;
    }
    if (count == 0) return 0;
    if (more && _heldLength == 0) {
        // A head with a file body to follow (Connection::writeOut): held back, so that the
        // head and the file's first bytes leave as one record and one write (nginx's
        // ssl_buffer), instead of a short record of their own. Reported written: sendFile()
        // comes next, on this thread before any other connection writes, and sends it first.
        size_t length = 0;
        for (int i = 0; i < count; ++i)
            length += buffers[i].iov_len;
        if (length < kRecordSize / 2) {
            if (char* out = gatherBuffer()) {
                for (int i = 0; i < count; ++i) {
                    std::memcpy(out + _heldLength, buffers[i].iov_base, buffers[i].iov_len);
                    _heldLength += buffers[i].iov_len;
                }
                hold();
                return static_cast<ssize_t>(length);
            }
        }
    }
    if (buffers[0].iov_len >= kRecordSize || count == 1) {
        _pendingDirect = true;
        _pendingLength = std::min(buffers[0].iov_len, kRecordSize);
        return writePending(static_cast<const char*>(buffers[0].iov_base));
    }
    char* out = gatherBuffer();
    if (out == nullptr) {
        errno = ENOMEM;
        return -1;
    }
    size_t length = 0;
    for (int i = 0; i < count && length < kRecordSize; ++i) {
        size_t take = std::min(buffers[i].iov_len, kRecordSize - length);
        std::memcpy(out + length, buffers[i].iov_base, take);
        length += take;
    }
    _pendingDirect = false;
    _pendingLength = length;
    return writePending(out);
}

ssize_t TlsTransport::sendFile(int fileFd, off_t* offset, size_t count) noexcept
{
    if (_ssl == nullptr || _fatal) {
        errno = EPIPE;
        return -1;
    }
    char* out = _owned.get();
    if (_pendingLength == 0) {
        out = gatherBuffer(); // holds the head write(more) kept, if any
        if (out == nullptr) {
            errno = ENOMEM;
            return -1;
        }
        ssize_t got = ::pread(fileFd, out + _heldLength, std::min(count, kRecordSize - _heldLength), *offset);
        if (got <= 0) {
            releaseHold();
            return got;
        }
        _pendingDirect = false;
        _pendingLength = _heldLength + static_cast<size_t>(got);
    }
    ssize_t n = writePending(out);
    if (n <= 0) {
        releaseHold(); // on EAGAIN the record (head included) moved to _owned
        return n;
    }
    if (static_cast<size_t>(n) <= _heldLength) {
        // Records smaller than the head (a client's max_fragment_length): the rest of the
        // head moves to the front of the thread's buffer and goes out first in the next record.
        _heldLength -= static_cast<size_t>(n);
        std::memmove(gatherBuffer(), out + n, _heldLength);
        _owned.reset();
        hold();
        return sendFile(fileFd, offset, count);
    }
    // The held head went out with this record: the caller counted it already.
    n -= static_cast<ssize_t>(_heldLength);
    _heldLength = 0;
    _owned.reset();
    releaseHold();
    *offset += n;
    return n;
}

void TlsTransport::hold() noexcept
{
    scratch().holder = this;
}

void TlsTransport::releaseHold() noexcept
{
    if (scratch().holder == this) scratch().holder = nullptr;
}

void TlsTransport::shutdownWrite() noexcept
{
    if (_ssl == nullptr) return;
    if (!_fatal && !_shutdown && SSL_is_init_finished(_ssl)) {
        SSL_shutdown(_ssl); // close_notify; not waiting for the peer's
        ERR_clear_error();
    }
    _shutdown = true;
    ::shutdown(SSL_get_fd(_ssl), SHUT_WR);
}

bool TlsTransport::hasBufferedInput() const noexcept
{
    return _ssl != nullptr && !_fatal && (_socketMayHaveInput || SSL_has_pending(_ssl) == 1);
}

bool TlsTransport::established() const noexcept
{
    return _ssl != nullptr && SSL_is_init_finished(_ssl);
}

std::string_view TlsTransport::applicationProtocol() const noexcept
{
    const unsigned char* protocol = nullptr;
    unsigned int length = 0;
    if (_ssl != nullptr) SSL_get0_alpn_selected(_ssl, &protocol, &length);
    return protocol == nullptr ? std::string_view()
                               : std::string_view(reinterpret_cast<const char*>(protocol), length);
}

} // namespace serval::connector::tls
