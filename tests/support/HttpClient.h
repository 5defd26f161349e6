#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace serval::test {

/// A parsed HTTP/1.1 response.
struct HttpReply
{
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string raw; ///< bytes of this response as received (head + body)

    /// First header value by case-insensitive name, or "".
    std::string header(const std::string& name) const;
    bool hasHeader(const std::string& name) const;
};

/// A blocking TCP client that sends raw bytes and reads responses, with deadlines.
/// For tests only: nothing here is lenient on purpose, so framing bugs show up.
class RawConnection
{
public:
    RawConnection() = default;
    ~RawConnection();
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool connect(const std::string& address, uint16_t port);
    bool send(const std::string& bytes);
    /// Sends one byte per write() (split-request tests).
    bool sendBytewise(const std::string& bytes);
    /// Reads one complete response (Content-Length, chunked, or until close). `headRequest`:
    /// the response has no body whatever its headers say. nullopt on timeout/close before a
    /// complete head.
    std::optional<HttpReply> readResponse(bool headRequest = false,
                                          std::chrono::milliseconds deadline = std::chrono::seconds(5));
    /// Reads until the peer closes or the deadline; returns everything read (after buffered).
    std::string readUntilClose(std::chrono::milliseconds deadline = std::chrono::seconds(5));
    /// True if the peer closed the connection (read returns 0 or ECONNRESET) within the deadline.
    bool waitClosed(std::chrono::milliseconds deadline = std::chrono::seconds(5));
    void close();
    int fd() const noexcept { return _fd; }

private:
    bool fill(std::chrono::steady_clock::time_point end);
    int _fd = -1;
    std::string _buffer;
    bool _eof = false;
};

/// One request on a fresh connection; returns the reply or a reply with status 0.
HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& target,
                      const std::map<std::string, std::string>& headers = {}, const std::string& body = "",
                      const std::string& address = "127.0.0.1");
inline HttpReply httpGet(uint16_t port, const std::string& target,
                         const std::map<std::string, std::string>& headers = {})
{
    return httpRequest(port, "GET", target, headers);
}

} // namespace serval::test
