#pragma once

#include "compression/ContentCoding.h"
#include "compression/Encoder.h"
#include "http/CompressionSettings.h"
#include "http/Header.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace serval::http {
class HttpRequest;
class HttpResponse;
struct HttpExchange;
} // namespace serval::http

namespace serval::compression {

/// What response compression needs of a request, read in one pass over its headers.
struct RequestTraits
{
    ContentCoding accepted = ContentCoding::Identity; ///< negotiateContentCoding(Accept-Encoding)
    bool head = false;                                ///< HEAD: same headers as the GET, no body
    bool range = false;                               ///< a Range header: never compressed
};
RequestTraits requestTraits(const http::HttpRequest& request) noexcept;

/// The verdict on one response, and the header changes it takes.
struct Decision
{
    /// The response is eligible (compressible type, large enough, not already encoded): it
    /// carries Vary: Accept-Encoding whatever the client accepted, so caches keep variants apart.
    bool vary = false;
    ContentCoding coding = ContentCoding::Identity; ///< Identity: sent as it is
    /// The app's opt-out marker "Content-Encoding: identity" is there: remove it before sending.
    bool dropIdentityMarker = false;
};

/// The rules (docs/compression.md), in order: settings null or Off -> no; the app's
/// Content-Encoding: identity (the per-response opt-out) or any other Content-Encoding -> no;
/// status 1xx, 204, 206, 304 -> no; Cache-Control: no-transform -> no; mode On: a media type
/// outside settings.mimeTypes, or a known `length` below minSize -> no (Force skips both checks);
/// then eligible (Vary); a Range request, or a client that accepts neither br nor gzip -> the
/// body goes out as it is; else the accepted coding. `length` -1: not known (a streamed body).
/// THREADS: pure.
Decision decide(const http::CompressionSettings* settings, const RequestTraits& request, int status,
                const std::vector<http::Header>& headers, int64_t length) noexcept;

/// The size and type half of decide(): true if a `length`-byte (-1: unknown) body of
/// `contentType` would be compressed under `settings` (Off -> false; Force -> true).
bool isEligible(const http::CompressionSettings* settings, std::string_view contentType,
                int64_t length) noexcept;

/// True if `contentType`'s media type ("text/html; charset=utf-8" -> "text/html") is in
/// `settings.mimeTypes` ("text/*" matches every text type). Case-insensitive.
bool isCompressibleType(const http::CompressionSettings& settings, std::string_view contentType) noexcept;

/// The ETag a compressed variant carries: the weak form of the identity's (W/"x"), since the
/// bytes differ but the content is the same (nginx's rule). Empty stays empty.
std::string weakEtag(std::string_view etag);
/// `vary` with Accept-Encoding added unless it is there already (or "*").
std::string varyWithAcceptEncoding(std::string_view vary);

/// One more response compressed per request (CompressionStats), by coding.
void countCompressed(ContentCoding coding) noexcept;

/// The buffered path (exchange.compression null: nothing at all, the marker included: a
/// worker process's exchanges, which its server compresses): when a response is complete in exchange.response
/// (not committed, no file body, not marked contentCodingFinal), applies decide() to it: Vary,
/// Content-Encoding, a weak ETag, and the body replaced by its compressed form (Fast effort) with the
/// Content-Length the connector then writes. A HEAD with a body is compressed as the GET would
/// be (its Content-Length is exact); a HEAD with only a declared length keeps the headers and
/// sends no Content-Length (setLengthUnknown). On an encoder failure the body goes out as it is.
/// Called by Engine::service on the thread that ran service() (a worker, or the I/O thread for
/// inline apps) and by the process room's forwarded HEAD before it resumes the exchange.
void compressBuffered(http::HttpExchange& exchange) noexcept;

} // namespace serval::compression
