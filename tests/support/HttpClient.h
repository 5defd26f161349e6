#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct ssl_st;
struct ssl_ctx_st;

namespace serval::test {

/// How RawConnection::startTls() shakes hands (OpenSSL names: TLS1_2_VERSION, cipher lists).
struct TlsOptions
{
    std::string serverName; ///< SNI; "" = none
    std::string caFile;     ///< verify the server against this CA; "" = no verification
    int minVersion = 0;     ///< 0 = OpenSSL's default
    int maxVersion = 0;
    std::string ciphers;      ///< TLS 1.2 cipher list; "" = default
    std::string ciphersuites; ///< TLS 1.3; "" = default
    std::string sigalgs;      ///< e.g. "ECDSA+SHA256" to ask for an ECDSA certificate
    bool lowSecurity = false; ///< SECLEVEL 0, so that the client really offers TLS 1.0 / weak ciphers
    /// RFC 6066 max_fragment_length the client asks for (TLSEXT_max_fragment_length_512 ...); 0 = none
    uint8_t maxFragmentLength = 0;
};

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
    /// After connect(): a blocking TLS handshake (5 s at most); every later call goes through
    /// it. False with tlsError() if the server refused or the certificate does not verify.
    bool startTls(const TlsOptions& options = {});
    const std::string& tlsError() const noexcept { return _tlsError; }
    /// After startTls(): the server certificate's subject ("CN=a.example"), "TLSv1.3", the cipher.
    std::string peerSubject() const;
    std::string tlsVersion() const;
    std::string tlsCipher() const;
    bool send(const std::string& bytes);
    /// Sends one byte per write() (split-request tests).
    bool sendBytewise(const std::string& bytes);
    /// Reads one complete response (Content-Length, chunked, or until close). `headRequest`:
    /// the response has no body whatever its headers say. nullopt on timeout/close before a
    /// complete head.
    std::optional<HttpReply> readResponse(bool headRequest = false,
                                          std::chrono::milliseconds deadline = std::chrono::seconds(5));
    /// Reads exactly `size` bytes (after what is buffered); nullopt on timeout or close first.
    std::optional<std::string> readBytes(size_t size,
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
    ssl_ctx_st* _tlsContext = nullptr;
    ssl_st* _ssl = nullptr;
    std::string _tlsError;
};

/// One request on a fresh connection; returns the reply or a reply with status 0 when none came
/// within `deadline` (raise it for work that is slow by design under a sanitizer, e.g. PBKDF2).
HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& target,
                      const std::map<std::string, std::string>& headers = {}, const std::string& body = "",
                      const std::string& address = "127.0.0.1",
                      std::chrono::milliseconds deadline = std::chrono::seconds(5));
inline HttpReply httpGet(uint16_t port, const std::string& target,
                         const std::map<std::string, std::string>& headers = {})
{
    return httpRequest(port, "GET", target, headers);
}

} // namespace serval::test
