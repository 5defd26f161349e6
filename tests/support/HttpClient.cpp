#include "support/HttpClient.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace serval::test {
namespace {

bool iequals(const std::string& a, const std::string& b)
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

} // namespace

std::string HttpReply::header(const std::string& name) const
{
    for (const auto& [n, v] : headers) {
        if (iequals(n, name)) return v;
    }
    return {};
}

bool HttpReply::hasHeader(const std::string& name) const
{
    for (const auto& [n, v] : headers) {
        if (iequals(n, name)) return true;
    }
    return false;
}

RawConnection::~RawConnection()
{
    close();
}

bool RawConnection::connect(const std::string& address, uint16_t port)
{
    close();
    bool v6 = address.find(':') != std::string::npos;
    _fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (_fd < 0) return false;
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc;
    if (v6) {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(port);
        ::inet_pton(AF_INET6, address.c_str(), &sa.sin6_addr);
        rc = ::connect(_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
        rc = ::connect(_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    if (rc != 0) {
        close();
        return false;
    }
    _buffer.clear();
    _eof = false;
    return true;
}

bool RawConnection::startTls(const TlsOptions& options)
{
    auto fail = [this](const std::string& what) {
        unsigned long code = ERR_peek_error();
        const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
        _tlsError = what + (reason != nullptr ? std::string(": ") + reason : std::string());
        ERR_clear_error();
        return false;
    };
    _tlsContext = SSL_CTX_new(TLS_client_method());
    if (_tlsContext == nullptr) return fail("SSL_CTX_new");
    if (options.lowSecurity) SSL_CTX_set_security_level(_tlsContext, 0);
    if (options.maxFragmentLength != 0 &&
        SSL_CTX_set_tlsext_max_fragment_length(_tlsContext, options.maxFragmentLength) != 1)
        return fail("max_fragment_length");
    if (options.minVersion != 0) SSL_CTX_set_min_proto_version(_tlsContext, options.minVersion);
    if (options.maxVersion != 0) SSL_CTX_set_max_proto_version(_tlsContext, options.maxVersion);
    if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(_tlsContext, options.ciphers.c_str()) != 1)
        return fail("cipher list");
    if (!options.ciphersuites.empty() &&
        SSL_CTX_set_ciphersuites(_tlsContext, options.ciphersuites.c_str()) != 1)
        return fail("ciphersuites");
    if (!options.sigalgs.empty() && SSL_CTX_set1_sigalgs_list(_tlsContext, options.sigalgs.c_str()) != 1)
        return fail("sigalgs");
    if (!options.caFile.empty()) {
        if (SSL_CTX_load_verify_locations(_tlsContext, options.caFile.c_str(), nullptr) != 1)
            return fail("CA file");
        SSL_CTX_set_verify(_tlsContext, SSL_VERIFY_PEER, nullptr);
    }
    _ssl = SSL_new(_tlsContext);
    SSL_set_fd(_ssl, _fd);
    if (!options.serverName.empty()) {
        SSL_set_tlsext_host_name(_ssl, options.serverName.c_str());
        if (!options.caFile.empty()) SSL_set1_host(_ssl, options.serverName.c_str());
    }
    timeval timeout{5, 0}; // a server that never answers the ClientHello fails the test, not hangs it
    ::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (SSL_connect(_ssl) != 1) return fail("handshake");
    return true;
}

std::string RawConnection::peerSubject() const
{
    if (_ssl == nullptr) return "";
    X509* peer = SSL_get1_peer_certificate(_ssl);
    if (peer == nullptr) return "";
    char text[512] = "";
    X509_NAME_oneline(X509_get_subject_name(peer), text, sizeof text);
    X509_free(peer);
    return text;
}

std::string RawConnection::tlsVersion() const
{
    return _ssl != nullptr ? SSL_get_version(_ssl) : "";
}

std::string RawConnection::tlsCipher() const
{
    return _ssl != nullptr ? SSL_get_cipher_name(_ssl) : "";
}

bool RawConnection::send(const std::string& bytes)
{
    if (_ssl != nullptr) {
        int n = SSL_write(_ssl, bytes.data(), static_cast<int>(bytes.size()));
        ERR_clear_error();
        return n == static_cast<int>(bytes.size());
    }
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::send(_fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return true;
}

bool RawConnection::sendBytewise(const std::string& bytes)
{
    for (char c : bytes) {
        if (::send(_fd, &c, 1, MSG_NOSIGNAL) != 1) return false;
    }
    return true;
}

bool RawConnection::fill(std::chrono::steady_clock::time_point end)
{
    if (_eof || _fd < 0) return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    int timeout =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count()) + 1;
    char chunk[65536];
    if (_ssl != nullptr) {
        if (SSL_pending(_ssl) == 0) {
            pollfd p{_fd, POLLIN, 0};
            if (::poll(&p, 1, timeout) <= 0) return false;
        }
        int n = SSL_read(_ssl, chunk, sizeof chunk);
        ERR_clear_error();
        if (n <= 0) {
            _eof = true;
            return false;
        }
        _buffer.append(chunk, static_cast<size_t>(n));
        return true;
    }
    pollfd p{_fd, POLLIN, 0};
    int rc = ::poll(&p, 1, timeout);
    if (rc <= 0) return false;
    ssize_t n = ::recv(_fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
        _eof = true;
        return false;
    }
    _buffer.append(chunk, static_cast<size_t>(n));
    return true;
}

std::optional<HttpReply> RawConnection::readResponse(bool headRequest, std::chrono::milliseconds deadline)
{
    auto end = std::chrono::steady_clock::now() + deadline;
    size_t headEnd;
    while ((headEnd = _buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!fill(end)) return std::nullopt;
    }
    HttpReply reply;
    std::string head = _buffer.substr(0, headEnd + 2);
    size_t lineEnd = head.find("\r\n");
    std::string statusLine = head.substr(0, lineEnd);
    // "HTTP/1.1 200 OK"
    if (statusLine.size() < 12 || statusLine.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    reply.status = std::atoi(statusLine.substr(9, 3).c_str());
    reply.reason = statusLine.size() > 13 ? statusLine.substr(13) : "";
    size_t pos = lineEnd + 2;
    while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        std::string line = head.substr(pos, e - pos);
        pos = e + 2;
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.erase(0, 1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
            value.pop_back();
        reply.headers.emplace_back(line.substr(0, colon), value);
    }
    size_t bodyStart = headEnd + 4;
    bool noBody = headRequest || reply.status == 204 || reply.status == 304 ||
                  (reply.status >= 100 && reply.status < 200);
    if (noBody) {
        reply.raw = _buffer.substr(0, bodyStart);
        _buffer.erase(0, bodyStart);
        return reply;
    }
    if (iequals(reply.header("Transfer-Encoding"), "chunked")) {
        size_t p = bodyStart;
        std::string body;
        while (true) {
            size_t le;
            while ((le = _buffer.find("\r\n", p)) == std::string::npos) {
                if (!fill(end)) return std::nullopt;
            }
            size_t size = std::stoul(_buffer.substr(p, le - p), nullptr, 16);
            p = le + 2;
            if (size == 0) {
                // trailers until empty line
                size_t te;
                while ((te = _buffer.find("\r\n", p)) == std::string::npos) {
                    if (!fill(end)) return std::nullopt;
                }
                while (te != p) {
                    p = te + 2;
                    while ((te = _buffer.find("\r\n", p)) == std::string::npos) {
                        if (!fill(end)) return std::nullopt;
                    }
                }
                p += 2;
                break;
            }
            while (_buffer.size() < p + size + 2) {
                if (!fill(end)) return std::nullopt;
            }
            body.append(_buffer, p, size);
            p += size + 2;
        }
        reply.body = body;
        reply.raw = _buffer.substr(0, p);
        _buffer.erase(0, p);
        return reply;
    }
    if (reply.hasHeader("Content-Length")) {
        size_t length = std::stoul(reply.header("Content-Length"));
        while (_buffer.size() < bodyStart + length) {
            if (!fill(end)) return std::nullopt;
        }
        reply.body = _buffer.substr(bodyStart, length);
        reply.raw = _buffer.substr(0, bodyStart + length);
        _buffer.erase(0, bodyStart + length);
        return reply;
    }
    while (fill(end)) {
    }
    reply.body = _buffer.substr(bodyStart);
    reply.raw = _buffer;
    _buffer.clear();
    return reply;
}

std::optional<std::string> RawConnection::readBytes(size_t size, std::chrono::milliseconds deadline)
{
    auto end = std::chrono::steady_clock::now() + deadline;
    while (_buffer.size() < size) {
        if (!fill(end)) return std::nullopt;
    }
    std::string out = _buffer.substr(0, size);
    _buffer.erase(0, size);
    return out;
}

std::string RawConnection::readUntilClose(std::chrono::milliseconds deadline)
{
    auto end = std::chrono::steady_clock::now() + deadline;
    while (fill(end)) {
    }
    std::string out = std::move(_buffer);
    _buffer.clear();
    return out;
}

bool RawConnection::waitClosed(std::chrono::milliseconds deadline)
{
    auto end = std::chrono::steady_clock::now() + deadline;
    while (fill(end)) {
    }
    return _eof;
}

void RawConnection::close()
{
    if (_ssl != nullptr) SSL_free(_ssl);
    if (_tlsContext != nullptr) SSL_CTX_free(_tlsContext);
    _ssl = nullptr;
    _tlsContext = nullptr;
    if (_fd >= 0) ::close(_fd);
    _fd = -1;
}

HttpReply httpRequest(uint16_t port, const std::string& method, const std::string& target,
                      const std::map<std::string, std::string>& headers, const std::string& body,
                      const std::string& address, std::chrono::milliseconds deadline)
{
    RawConnection c;
    if (!c.connect(address, port)) return {};
    std::string req = method + " " + target + " HTTP/1.1\r\n";
    bool hasHost = false;
    for (const auto& [n, v] : headers) {
        if (iequals(n, "Host")) hasHost = true;
        req += n + ": " + v + "\r\n";
    }
    if (!hasHost) req += "Host: localhost\r\n";
    if (!body.empty() || method == "POST" || method == "PUT")
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "Connection: close\r\n\r\n" + body;
    if (!c.send(req)) return {};
    auto reply = c.readResponse(method == "HEAD", deadline);
    return reply ? *reply : HttpReply{};
}

} // namespace serval::test
