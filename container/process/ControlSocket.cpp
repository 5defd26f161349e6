#include "process/ControlSocket.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <utility>

namespace serval::process {

std::pair<ControlSocket, ControlSocket> ControlSocket::pair()
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
        throw std::runtime_error(std::string("cannot create a worker control socket: ") +
                                 std::strerror(errno));
    return {ControlSocket(util::FileDescriptor(fds[0])), ControlSocket(util::FileDescriptor(fds[1]))};
}

bool ControlSocket::send(ControlType type, std::string_view payload, const std::vector<int>& fds) noexcept
{
    if (!_fd || payload.size() + sizeof(uint32_t) > kMaxMessage || fds.size() > kMaxFds) return false;
    uint32_t code = static_cast<uint32_t>(type);
    iovec iov[2] = {{&code, sizeof code}, {const_cast<char*>(payload.data()), payload.size()}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = payload.empty() ? 1 : 2;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
    }
    while (true) {
        ssize_t n = ::sendmsg(_fd.get(), &msg, MSG_NOSIGNAL);
        if (n >= 0) return true;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            pollfd p{_fd.get(), POLLOUT, 0};
            ::poll(&p, 1, 1000);
            continue;
        }
        return false;
    }
}

ControlSocket::Result ControlSocket::receive(Message& message) noexcept
{
    message.fds.clear();
    try {
        message.payload.resize(kMaxMessage);
    } catch (...) {
        return Result::WouldBlock;
    }
    uint32_t code = 0;
    iovec iov[2] = {{&code, sizeof code}, {message.payload.data(), message.payload.size()}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    bool reset = false;
    do {
        n = ::recvmsg(_fd.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        // A peer that closed with our messages unread (a worker that failed before it read its
        // channels) leaves ECONNRESET, reported once and ahead of what it sent before closing:
        // read on, so its last message (Failed and why) is not lost to the race.
    } while (n < 0 && (errno == EINTR || (errno == ECONNRESET && !std::exchange(reset, true))));
    // Descriptors first: they must be owned (and closed) whatever else is wrong.
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); n >= 0 && cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
            message.fds.emplace_back(fd);
        }
    }
    if (n < 0) {
        message.payload.clear();
        if (errno == EAGAIN) return Result::WouldBlock;
        return Result::Closed;
    }
    if (n == 0) return Result::Closed;
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || static_cast<size_t>(n) < sizeof code) {
        message.payload.clear();
        return Result::Malformed;
    }
    message.type = static_cast<ControlType>(code);
    message.payload.resize(static_cast<size_t>(n) - sizeof code);
    return Result::Message;
}

ControlSocket::Result ControlSocket::receive(Message& message, int timeoutMs) noexcept
{
    pollfd p{_fd.get(), POLLIN, 0};
    int ready;
    do {
        ready = ::poll(&p, 1, timeoutMs);
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) return Result::WouldBlock;
    return receive(message);
}

} // namespace serval::process
