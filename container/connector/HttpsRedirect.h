#pragma once

#include "http/HttpHandler.h"

#include <cstdint>
#include <functional>
#include <string>

namespace serval::connector {

/// A plain connector's redirect="https" (issue 16): answers every request with a redirect to
/// the same path and query on https://host:redirectPort, 301 for GET and HEAD (what browsers
/// and crawlers cache), 308 for other methods (RFC 9110 15.4.9: the method and body are kept).
/// The Connector puts it in front of the Engine when ConnectorConfig::redirectAll is set.
///
/// The host comes from the Host header only when it names a configured Host or alias
/// (isKnownHost, given by startup: the connector knows no Hosts); any other Host, an IP
/// literal or a malformed one gets 400, so the redirect can never send a client elsewhere.
///
/// OWNERSHIP: owned by the Connector; the Engine behind it is borrowed and outlives it.
/// THREADS: onHead() on the loop threads; the rest as the inner handler's (HttpHandler).
class HttpsRedirect : public http::HttpHandler
{
public:
    /// Whether a lower-case host name (no port) is a Host's name or alias.
    using KnownHost = std::function<bool(const std::string& host)>;

    HttpsRedirect(http::HttpHandler& inner, uint16_t redirectPort, KnownHost isKnownHost);

    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override;
    void service(http::HttpExchange& exchange) noexcept override;
    void complete(http::HttpExchange& exchange, uint64_t bytesSent) noexcept override;

    /// The lower-case host name of a Host header value ("Example.com:8080" -> "example.com"),
    /// or "" if it is not a DNS name with an optional numeric port.
    static std::string hostName(std::string_view hostHeader);

private:
    http::HttpHandler& _inner;
    uint16_t _redirectPort;
    KnownHost _isKnownHost;
};

} // namespace serval::connector
