#pragma once

#include "process/Messages.h"
#include "util/FileDescriptor.h"

#include <string>
#include <string_view>
#include <vector>

namespace serval::process {

/// One end of the control connection between the server and a worker: a SOCK_SEQPACKET unix
/// socketpair, so each message keeps its boundaries and descriptors travel with it
/// (SCM_RIGHTS). The worker's end is its only inherited descriptor; when either process dies
/// the other reads EOF.
///
/// Messages are `u32 ControlType` followed by the payload, at most kMaxMessage bytes and kMaxFds
/// descriptors. OWNERSHIP: owns its descriptor. THREADS: one sender and one receiver at a time.
class ControlSocket
{
public:
    static constexpr size_t kMaxMessage = 64 * 1024;
    static constexpr size_t kMaxFds = 4;

    struct Message
    {
        ControlType type{};
        std::string payload;
        std::vector<util::FileDescriptor> fds;
    };
    enum class Result
    {
        Message,
        WouldBlock, ///< non-blocking socket, nothing there
        Closed,     ///< the peer is gone (EOF or a connection error)
        Malformed   ///< truncated, too large, too many descriptors, or shorter than a type
    };

    ControlSocket() = default;
    explicit ControlSocket(util::FileDescriptor fd) noexcept : _fd(std::move(fd)) {}

    /// A connected pair (both ends close-on-exec). Throws std::runtime_error.
    static std::pair<ControlSocket, ControlSocket> pair();

    /// Sends one message; false if the peer is gone (or the message is too large). Blocks only
    /// if the socket buffer is full (the peer reads promptly; messages are rare).
    bool send(ControlType type, std::string_view payload, const std::vector<int>& fds = {}) noexcept;
    /// Receives one message. Descriptors arrive close-on-exec.
    Result receive(Message& message) noexcept;
    /// Waits up to `timeoutMs` (-1: forever) for a message; WouldBlock on timeout.
    Result receive(Message& message, int timeoutMs) noexcept;

    int fd() const noexcept { return _fd.get(); }
    bool valid() const noexcept { return _fd.valid(); }
    util::FileDescriptor release() noexcept { return util::FileDescriptor(_fd.release()); }
    void close() noexcept { _fd.reset(); }

private:
    util::FileDescriptor _fd;
};

} // namespace serval::process
