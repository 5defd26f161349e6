#pragma once

#include <cstddef>
#include <string_view>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

namespace serval::connector {

/// How a Connection moves bytes over its socket: plain TCP (PlainTransport) today, TLS next
/// (issue 16: tls/TlsTransport over OpenSSL), so the parser and the state machine never see which.
/// The calls mirror the system calls they replace, errors included: a result < 0 sets errno,
/// and EAGAIN means "wait for the next epoll edge" (the Connection asks for both EPOLLIN and
/// EPOLLOUT, edge-triggered, for its whole life; with a Transport other than plain TCP it
/// retries reads and writes on either edge, so a TLS read that needs to write first can
/// return EAGAIN).
///
/// OWNERSHIP: owned by its Connection (one per connection, created at accept); the socket
/// stays the Connection's (it closes it, epoll watches it).
/// THREADS: called by whoever drives the connection: its loop, or the worker while the
/// exchange is dispatched (never both at once).
class Transport
{
public:
    virtual ~Transport() = default;
    /// recv(): bytes read, 0 when the peer has closed, < 0 with errno.
    virtual ssize_t read(char* buffer, size_t size) noexcept = 0;
    /// sendmsg() of `count` buffers: bytes written (possibly fewer), < 0 with errno. `more`:
    /// a sendFile() follows at once (MSG_MORE: a head and the start of a file share segments;
    /// TLS may hold the bytes back until that sendFile() and send them in its record).
    virtual ssize_t write(const iovec* buffers, int count, bool more) noexcept = 0;
    /// sendfile(): up to `count` bytes of `fileFd` from `*offset` (advanced by what was sent);
    /// 0 when the file ended early, < 0 with errno.
    virtual ssize_t sendFile(int fileFd, off_t* offset, size_t count) noexcept = 0;
    /// shutdown(SHUT_WR) (TLS: close_notify first): no more bytes go out.
    virtual void shutdownWrite() noexcept = 0;
    /// True if the transport holds input already taken from the socket (decrypted TLS records)
    /// that no epoll edge will announce: the Connection reads again before waiting.
    virtual bool hasBufferedInput() const noexcept = 0;
    /// False while a handshake is still running (TLS): the Connection keeps the handshake
    /// deadline until then, and the header deadline after.
    virtual bool established() const noexcept { return true; }
    /// Once established(): the protocol ALPN chose ("h2", "http/1.1"), empty for none (plain
    /// TCP, or a client that offered no ALPN). The Connection hands an "h2" connection to
    /// http2::Http2Session instead of the HTTP/1.1 parser.
    virtual std::string_view applicationProtocol() const noexcept { return {}; }
};

/// Plain TCP: each call is the system call. `final` and called on the object itself (not via
/// a Transport&) by the Connection, so the calls are inlined: the plain path costs no virtual
/// dispatch (Connection::transport()).
class PlainTransport final : public Transport
{
public:
    void setSocket(int fd) noexcept { _fd = fd; }

    ssize_t read(char* buffer, size_t size) noexcept override { return ::recv(_fd, buffer, size, 0); }
    ssize_t write(const iovec* buffers, int count, bool more) noexcept override
    {
        msghdr message{};
        message.msg_iov = const_cast<iovec*>(buffers);
        message.msg_iovlen = static_cast<size_t>(count);
        return ::sendmsg(_fd, &message, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    }
    ssize_t sendFile(int fileFd, off_t* offset, size_t count) noexcept override
    {
        return ::sendfile(_fd, fileFd, offset, count);
    }
    void shutdownWrite() noexcept override { ::shutdown(_fd, SHUT_WR); }
    bool hasBufferedInput() const noexcept override { return false; }

private:
    int _fd = -1;
};

} // namespace serval::connector
