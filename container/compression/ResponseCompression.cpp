#include "compression/ResponseCompression.h"

#include "compression/AcceptEncoding.h"
#include "compression/CompressionStats.h"
#include "http/HttpHandler.h"
#include "util/Strings.h"

namespace serval::compression {
namespace {

/// True if the comma-separated `list` holds `token` (case-insensitive, OWS trimmed).
bool listHas(std::string_view list, std::string_view token) noexcept
{
    while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = util::trim(list.substr(0, comma));
        size_t eq = item.find('=');
        if (util::equalsIgnoreCase(util::trim(item.substr(0, eq)), token)) return true;
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    return false;
}

} // namespace

void countCompressed(ContentCoding coding) noexcept
{
    CompressionStats& stats = CompressionStats::instance();
    (coding == ContentCoding::Brotli ? stats.dynamicBrotli : stats.dynamicGzip)
        .fetch_add(1, std::memory_order_relaxed);
}

RequestTraits requestTraits(const http::HttpRequest& request) noexcept
{
    RequestTraits traits;
    traits.head = request.isHead();
    for (const http::Header& h : request.headers) {
        if (h.name.size() == 15 && util::equalsIgnoreCase(h.name, "Accept-Encoding"))
            traits.accepted = negotiateContentCoding(h.value);
        else if (h.name.size() == 5 && util::equalsIgnoreCase(h.name, "Range"))
            traits.range = true;
    }
    return traits;
}

bool isCompressibleType(const http::CompressionSettings& settings, std::string_view contentType) noexcept
{
    std::string_view media = util::trim(contentType.substr(0, contentType.find(';')));
    size_t slash = media.find('/');
    if (slash == std::string_view::npos || slash == 0) return false;
    for (const std::string& type : settings.mimeTypes) {
        if (type.size() >= 2 && type.compare(type.size() - 2, 2, "/*") == 0) {
            if (util::equalsIgnoreCase(media.substr(0, slash + 1),
                                       std::string_view(type).substr(0, type.size() - 1)))
                return true;
        } else if (util::equalsIgnoreCase(media, type)) {
            return true;
        }
    }
    return false;
}

bool isEligible(const http::CompressionSettings* settings, std::string_view contentType,
                int64_t length) noexcept
{
    if (settings == nullptr || settings->mode == http::CompressionSettings::Mode::Off) return false;
    if (settings->mode == http::CompressionSettings::Mode::Force) return true;
    if (length >= 0 && static_cast<uint64_t>(length) < settings->minSize) return false;
    return isCompressibleType(*settings, contentType);
}

Decision decide(const http::CompressionSettings* settings, const RequestTraits& request, int status,
                const std::vector<http::Header>& headers, int64_t length) noexcept
{
    Decision decision;
    std::string_view contentType;
    bool encoded = false;
    bool noTransform = false;
    for (const http::Header& h : headers) {
        if (util::equalsIgnoreCase(h.name, "Content-Encoding")) {
            if (util::equalsIgnoreCase(util::trim(h.value), "identity"))
                decision.dropIdentityMarker = true;
            else
                encoded = true;
        } else if (util::equalsIgnoreCase(h.name, "Content-Type")) {
            contentType = h.value;
        } else if (util::equalsIgnoreCase(h.name, "Cache-Control")) {
            noTransform = noTransform || listHas(h.value, "no-transform");
        }
    }
    if (settings == nullptr || settings->mode == http::CompressionSettings::Mode::Off) return decision;
    if (encoded || decision.dropIdentityMarker || noTransform) return decision;
    if (status < 200 || status == 204 || status == 206 || status == 304) return decision;
    if (!isEligible(settings, contentType, length)) return decision;
    decision.vary = true;
    if (request.range) return decision;
    decision.coding = request.accepted;
    return decision;
}

std::string weakEtag(std::string_view etag)
{
    etag = util::trim(etag);
    if (etag.empty() || etag.substr(0, 2) == "W/") return std::string(etag);
    return "W/" + std::string(etag);
}

std::string varyWithAcceptEncoding(std::string_view vary)
{
    if (util::trim(vary).empty()) return "Accept-Encoding";
    if (listHas(vary, "accept-encoding") || listHas(vary, "*")) return std::string(vary);
    return std::string(vary) + ", Accept-Encoding";
}

void compressBuffered(http::HttpExchange& exchange) noexcept
{
    http::HttpResponse& response = exchange.response;
    if (response.isCommitted() || response.contentCodingFinal() || response.fileBody()) return;
    // The hot path: a small body of a response that has no opt-out marker leaves at once.
    const http::CompressionSettings* settings = exchange.compression;
    if (settings == nullptr) return; // not this server's to decide (a worker process: its server does)
    const int64_t declared = response.declaredContentLength();
    const bool headWithoutBody = response.headOnly() && response.body().empty() && declared >= 0;
    const int64_t length = headWithoutBody ? declared : static_cast<int64_t>(response.body().size());
    if (settings->mode == http::CompressionSettings::Mode::On &&
        static_cast<uint64_t>(length) < settings->minSize && !response.hasHeader("Content-Encoding"))
        return;
    try {
        Decision decision =
            decide(settings, requestTraits(exchange.request), response.status(), response.headers(), length);
        if (decision.dropIdentityMarker) response.removeHeader("Content-Encoding");
        if (!decision.vary) return;
        response.setHeader("Vary", varyWithAcceptEncoding(response.header("Vary")));
        if (decision.coding == ContentCoding::Identity) return;
        std::string_view etag = response.header("ETag");
        if (headWithoutBody) {
            response.setHeader("Content-Encoding", codingName(decision.coding));
            if (!etag.empty()) response.setHeader("ETag", weakEtag(etag));
            response.setLengthUnknown();
            return;
        }
        thread_local std::string compressed;
        if (!compressWhole(decision.coding, Effort::Fast, response.body(), compressed)) return;
        // Headers first (they may throw), the body swap last (it cannot): never a compressed body
        // without its Content-Encoding.
        if (!etag.empty()) response.setHeader("ETag", weakEtag(etag));
        response.setHeader("Content-Encoding", codingName(decision.coding));
        response.body().swap(compressed);
        countCompressed(decision.coding);
        // A HEAD keeps the exact length the GET sends; a GET is framed by its body.
        response.setContentLength(response.headOnly() ? static_cast<int64_t>(response.body().size()) : -1);
        // The per-thread buffer now holds the old body's capacity: a one-off huge page must not stay.
        if (compressed.capacity() > 1024 * 1024) std::string().swap(compressed);
    } catch (...) {
        // std::bad_alloc while editing headers: the body is still the identity one; at worst a
        // Vary or a weak ETag more than needed.
    }
}

} // namespace serval::compression
