#pragma once

#include "http/Header.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace serval::http {

/// A parsed HTTP/1.x request as the Connector hands it to the pipeline.
///
/// OWNERSHIP: owned by the Connector's per-connection exchange and reused for every request on
/// that connection (clear() keeps string capacity, so steady-state parsing does not allocate).
/// LIFETIME: valid from HttpHandler::onHead() until service() returns.
/// THREADS: written by the I/O thread while parsing; read by exactly one thread at a time
/// afterwards (the I/O thread or the worker that runs service()).
///
/// Everything here has passed the Connector's strict RFC 9112 checks: method is a token,
/// target is origin-form (or "*" for OPTIONS), exactly one Host, framing is unambiguous.
class HttpRequest
{
public:
    std::string method; ///< "GET", case-sensitive as sent
    std::string target; ///< raw request-target as sent: "/a%20b/c?x=1"
    std::string path;   ///< raw (still percent-encoded) path part of target: "/a%20b/c"
    std::string query;  ///< raw query without '?', empty if none
    int versionMajor = 1;
    int versionMinor = 1;
    std::vector<Header> headers; ///< in arrival order
    std::string body;            ///< complete request body (de-chunked), within the size limit

    std::string remoteAddress; ///< peer IP as text ("127.0.0.1", "::1")
    uint16_t remotePort = 0;
    std::string localAddress;
    uint16_t localPort = 0;
    bool secure = false; ///< true behind TLS (scheme "https")

    /// First header with this name (ASCII case-insensitive), or empty view if absent.
    std::string_view header(std::string_view name) const noexcept;
    bool hasHeader(std::string_view name) const noexcept;
    /// The Host header without port, lower-cased by the caller if needed.
    std::string_view host() const noexcept { return header("Host"); }

    bool isHead() const noexcept { return method == "HEAD"; }
    bool isGetOrHead() const noexcept { return method == "GET" || method == "HEAD"; }
    bool isHttp10() const noexcept { return versionMajor == 1 && versionMinor == 0; }
    std::string_view scheme() const noexcept { return secure ? "https" : "http"; }

    /// Resets for the next request on the connection; keeps capacity.
    void clear() noexcept;
    /// A new empty header at the end of `headers`, reusing one of `spare` (from its back: an
    /// earlier request's, its strings' capacity kept) when there is one.
    Header& newHeader(std::vector<Header>& spare)
    {
        if (spare.empty()) return headers.emplace_back();
        Header& h = headers.emplace_back(std::move(spare.back()));
        spare.pop_back();
        return h;
    }
};

} // namespace serval::http
