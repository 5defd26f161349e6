#pragma once

#include "http/CompressionSettings.h"

#include <cstdint>
#include <string>
#include <vector>

namespace serval::config {

/// One <Certificate> of a TLS <Connector>: a certificate/key pair in PEM files and the server
/// names (SNI) it answers for. Read by ServerXml.cpp; loaded and checked by the connector's
/// TlsContext (connector/tls/), which reports file problems with `where`.
struct CertificateConfig
{
    /// Server names from host="a.example, *.example.org"; empty = the default certificate
    /// (clients without SNI or with an unknown name). A name that is a <Host name> also
    /// answers for that Host's aliases (startup adds them: the connector knows no Hosts).
    std::vector<std::string> hostNames;
    std::string certificateFile; ///< PEM: the certificate, optionally followed by its chain
    std::string keyFile;         ///< PEM private key (RSA or EC); empty = in certificateFile
    std::string chainFile;       ///< PEM intermediates; empty = none besides certificateFile's
    /// ocspStaple="path.der": a DER OCSP response for the certificate (from `openssl ocsp
    /// -respout` or a cron job that fetches it), stapled to handshakes that ask for status;
    /// re-read with the certificate. Empty = no stapling. Serval never fetches it itself.
    std::string ocspStaple;
    std::string where; ///< "conf/server.xml:12", for error messages
};

/// One <Connector> from conf/server.xml, validated by the config reader (ServerXml.cpp). Plain
/// data: it lives in config/ so that serval_config needs nothing of the connector; the
/// connector names it connector::ConnectorConfig (connector/Connector.h).
struct ConnectorConfig
{
    std::string address = "127.0.0.1"; ///< loopback by default; "0.0.0.0" / "::" to listen everywhere
    uint16_t port = 8080;              ///< 0 = pick a free port (tests)
    uint32_t maxConnections = 16384;   ///< beyond this, new connections are accepted and closed at once
    /// Requests per connection before "Connection: close"; 0 = unlimited.
    uint32_t maxKeepAliveRequests = 10000;
    uint32_t keepAliveTimeoutMs = 20000;     ///< idle time between requests before the connection is closed
    uint32_t headerTimeoutMs = 10000;        ///< from first byte of a request to its complete head
    uint32_t bodyTimeoutMs = 30000;          ///< max gap between body bytes, and total for small bodies
    uint32_t sendTimeoutMs = 30000;          ///< a client that reads nothing for this long is dropped
    uint32_t maxRequestLineSize = 8 * 1024;  ///< -> 414
    uint32_t maxHeaderSize = 16 * 1024;      ///< whole head -> 431
    uint32_t maxHeaderCount = 100;           ///< -> 431
    uint64_t maxBodySize = 10 * 1024 * 1024; ///< default when the handler sets none -> 413
    /// All request bodies this connector holds in memory at once (http::MemoryBudget): a body
    /// that would pass it gets 503 and its connection closes. 0 = no limit.
    uint64_t maxBufferedBodySize = 256 * 1024 * 1024;
    uint32_t ioThreads = 0;              ///< event-loop threads; 0 = one per core
    uint32_t workerThreads = 16;         ///< pool for handlers that may block
    uint32_t workerQueue = 4096;         ///< queued exchanges beyond which new ones get 503
    std::string serverHeader = "Serval"; ///< empty = no Server header
    uint32_t drainTimeoutMs = 10000;     ///< graceful shutdown: wait this long for in-flight requests
    /// Requests on this connector are reported secure (scheme https), Tomcat's meaning: implied
    /// by <Certificate> children; secure="true" on a plain Connector says every request came
    /// through a TLS-terminating proxy the operator trusts (apps see https, session cookies get
    /// Secure), only for a Connector no client reaches directly.
    bool secure = false;
    /// TLS is on when this is not empty (issue 16): the certificates SNI chooses from.
    std::vector<CertificateConfig> certificates;
    uint32_t handshakeTimeoutMs = 10000; ///< TLS: from accept to the end of the handshake
    /// TLS: how often the certificate files are checked for changes (reload without restart);
    /// 0 = never.
    uint32_t certificateCheckIntervalMs = 5000;
    /// TLS: how often the session-ticket key is replaced (ticketKeyRotationInterval=, ms). The
    /// key before it still decrypts tickets for one more interval, so a ticket is accepted for
    /// one to two intervals after it was issued (and within the session timeout).
    uint32_t ticketKeyRotationIntervalMs = 12 * 3600 * 1000;
    /// TLS: hsts="max-age=31536000; includeSubDomains" sends Strict-Transport-Security with that
    /// value on every response over TLS (HTTP/1.1 and h2); never on a plain connector. Empty = off.
    std::string hsts;
    /// Plain connector: redirectPort= is the port of the TLS connector (Tomcat's attribute);
    /// with redirect="https" every request is answered 301 (GET/HEAD) or 308 (other methods)
    /// with https://host:redirectPort/path?query, host being a configured Host name or alias
    /// (other Host headers get 400: no open redirect). 0 = no redirect.
    uint16_t redirectPort = 0;
    bool redirectAll = false; ///< redirect="https"
    /// compression=, compressionMinSize=, compressibleMimeType= (issue 16; docs/compression.md).
    http::CompressionSettings compression;

    // HTTP/2 (issue 16; connector/http2). Every exchange goes to the same HttpHandler as over
    // HTTP/1.1; the limits above (header size and count, body size, timeouts) apply per stream.
    /// protocols="h2,http/1.1": offered by ALPN on a TLS connector (h2 on by default, like
    /// nginx's `http2 on`); protocols="http/1.1" switches h2 off.
    bool http2 = true;
    /// h2c="true": HTTP/2 with prior knowledge (RFC 9113 3.3) on a plain connector, for a proxy
    /// in front that speaks h2c; off by default. A connection that starts with the client
    /// preface speaks h2, any other speaks HTTP/1.1.
    bool h2c = false;
    uint32_t http2MaxConcurrentStreams = 100;     ///< SETTINGS_MAX_CONCURRENT_STREAMS
    uint32_t http2StreamWindow = 1024 * 1024;     ///< SETTINGS_INITIAL_WINDOW_SIZE (request bodies)
    uint32_t http2ConnectionWindow = 1024 * 1024; ///< the connection's receive window
    /// The per-connection budget of protocol "glitches" (client resets, empty DATA, needless
    /// SETTINGS / PING / WINDOW_UPDATE, PRIORITY frames, rejected header blocks): a bucket that
    /// refills at http2GlitchRate per second; GOAWAY(ENHANCE_YOUR_CALM) when it is empty.
    uint32_t http2GlitchBudget = 500;
    uint32_t http2GlitchRate = 50;
};

} // namespace serval::config
