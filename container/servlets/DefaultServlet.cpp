#include "servlets/DefaultServlet.h"

#include "compression/AcceptEncoding.h"
#include "compression/ResponseCompression.h"
#include "core/Request.h"
#include "core/Response.h"
#include "servlets/ByteRange.h"
#include "servlets/Preconditions.h"
#include "util/Log.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <cerrno>
#include <cstring>

namespace serval::servlets {

namespace {

constexpr std::string_view kAllow = "GET, HEAD, OPTIONS";

/// The request headers the DefaultServlet reads, found in one pass over the header list.
struct Validators
{
    std::string_view ifNoneMatch;
    std::string_view ifModifiedSince;
    std::string_view range;
    std::string_view ifRange;
    std::string_view acceptEncoding;
};

Validators collectValidators(const http::HttpRequest& request) noexcept
{
    Validators v;
    for (const http::Header& h : request.headers) {
        std::string_view name = h.name;
        switch (name.size()) {
        case 5:
            if (util::equalsIgnoreCase(name, "Range")) v.range = h.value;
            break;
        case 8:
            if (util::equalsIgnoreCase(name, "If-Range")) v.ifRange = h.value;
            break;
        case 13:
            if (util::equalsIgnoreCase(name, "If-None-Match")) v.ifNoneMatch = h.value;
            break;
        case 15:
            if (util::equalsIgnoreCase(name, "Accept-Encoding")) v.acceptEncoding = h.value;
            break;
        case 17:
            if (util::equalsIgnoreCase(name, "If-Modified-Since")) v.ifModifiedSince = h.value;
            break;
        default:
            break;
        }
    }
    return v;
}

/// "bytes a-b/size" without iostreams.
std::string contentRange(uint64_t first, uint64_t last, uint64_t size)
{
    std::string out;
    out.reserve(48);
    out.append("bytes ").append(std::to_string(first)).append("-").append(std::to_string(last));
    out.append("/").append(std::to_string(size));
    return out;
}

} // namespace

DefaultServlet::DefaultServlet(StaticConfig config)
    : _config(std::move(config)), _cache(_config.docBase, _config.mimeTypes, _config.cache),
      _variants(_config.variants)
{}

core::ServiceStatus DefaultServlet::service(core::Request& request, core::Response& response)
{
    // An error page is served whatever the failed request's method was, and without its
    // conditional or Range headers (Tomcat's DefaultServlet does the same for ERROR dispatches).
    const bool errorPage = request.dispatcherType() == core::DispatcherType::Error;
    // The cache is keyed by std::string: copy the view into a per-thread buffer that keeps its
    // capacity, so the steady state does not allocate.
    thread_local std::string path;
    path.assign(request.pathInContext());
    serve(request.http(), path, response, errorPage);
    return {};
}

int DefaultServlet::statusForErrno(int error) noexcept
{
    switch (error) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case EPERM:
        return 403;
    default:
        return 500;
    }
}

bool DefaultServlet::isServablePath(std::string_view path) noexcept
{
    if (path.empty() || path.front() != '/') return false;
    size_t start = 1;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view part = path.substr(start, end - start);
        if (part == "." || part == ".." || util::equalsIgnoreCase(part, "WEB-INF") ||
            util::equalsIgnoreCase(part, "META-INF")) {
            return false;
        }
        start = end + 1;
    }
    return path.find('\0') == std::string_view::npos && path.find('\\') == std::string_view::npos;
}

void DefaultServlet::sendFailure(int error, const std::string& path, core::Response& response)
{
    int status = statusForErrno(error);
    if (status == 500) {
        LOG_ERROR("static",
                  "cannot open " + util::joinPath(_cache.docBase(), path) + ": " + std::strerror(error));
    }
    response.sendError(status);
}

void DefaultServlet::serve(const http::HttpRequest& request, const std::string& path,
                           core::Response& response, bool errorPage)
{
    if (!errorPage && !request.isGetOrHead()) {
        if (request.method == "OPTIONS") {
            response.setStatus(200);
            response.setHeader("Allow", kAllow);
            return;
        }
        response.sendError(405);
        response.setHeader("Allow", kAllow);
        return;
    }
    static const std::string kRoot = "/";
    const std::string& relative = path.empty() ? kRoot : path;
    if (!isServablePath(relative)) {
        response.sendError(404);
        return;
    }
    int error = 0;
    std::shared_ptr<const CachedResource> resource = _cache.find(relative, error);
    if (!resource) {
        sendFailure(error, relative, response);
        return;
    }
    if (resource->kind == CachedResource::Kind::File) {
        serveFile(request, relative, resource, response, errorPage);
        return;
    }
    if (relative.back() != '/') {
        // Directory without its slash: relative links inside it would resolve wrongly.
        std::string location;
        location.reserve(request.path.size() + request.query.size() + 2);
        location.append(request.path).push_back('/');
        if (!request.query.empty()) location.append("?").append(request.query);
        response.sendRedirect(location, 302);
        return;
    }
    thread_local std::string welcomePath;
    for (const std::string& welcome : _config.welcomeFiles) {
        welcomePath.assign(relative).append(welcome);
        if (!isServablePath(welcomePath)) continue;
        int welcomeError = 0;
        std::shared_ptr<const CachedResource> page = _cache.find(welcomePath, welcomeError);
        if (page && page->kind == CachedResource::Kind::File) {
            serveFile(request, welcomePath, page, response, errorPage);
            return;
        }
        if (!page && statusForErrno(welcomeError) == 500) {
            sendFailure(welcomeError, welcomePath, response);
            return;
        }
    }
    response.sendError(404); // directory listings are off
}

/// compression::isEligible for `resource` under `settings`, memoised in the resource (its type
/// and size never change; a changed file is a new CachedResource): the type check scans the
/// settings' media types, which a static hit otherwise pays on every request.
bool DefaultServlet::isEligible(const CachedResource& resource,
                                const http::CompressionSettings* settings) noexcept
{
    if (settings == nullptr) return false;
    const auto key = reinterpret_cast<uintptr_t>(settings); // aligned: bit 0 is free
    const uintptr_t memo = resource.eligibleUnder.load(std::memory_order_relaxed);
    if ((memo & ~uintptr_t{1}) == key) return (memo & 1) != 0;
    const bool eligible =
        compression::isEligible(settings, resource.contentType, static_cast<int64_t>(resource.identity.size));
    resource.eligibleUnder.store(key | (eligible ? 1 : 0), std::memory_order_relaxed);
    return eligible;
}

void DefaultServlet::serveFile(const http::HttpRequest& request, const std::string& path,
                               const std::shared_ptr<const CachedResource>& found, core::Response& response,
                               bool errorPage)
{
    const CachedResource& resource = *found;
    Validators v = collectValidators(request);
    if (errorPage) v.ifNoneMatch = v.ifModifiedSince = v.range = v.ifRange = {};
    const CachedFile* variant = &resource.identity;
    compression::ContentCoding coding = compression::ContentCoding::Identity;
    std::shared_ptr<const CachedFile> made; // a cached variant, held while the response sends it

    // A precompressed sibling counts only when it is not older than the file it stands for.
    auto upToDate = [&resource](const std::shared_ptr<const CachedFile>& sibling) {
        return sibling && sibling->mtimeNanos >= resource.identity.mtimeNanos;
    };
    const bool brotliFile = upToDate(resource.brotli);
    const bool gzipFile = upToDate(resource.gzip);
    bool vary = resource.gzip || resource.brotli;
    if (brotliFile || gzipFile) {
        coding = compression::negotiateContentCoding(v.acceptEncoding, brotliFile, gzipFile);
        if (coding == compression::ContentCoding::Brotli) variant = resource.brotli.get();
        if (coding == compression::ContentCoding::Gzip) variant = resource.gzip.get();
    } else if (isEligible(resource, response.compression())) {
        vary = true; // whatever this client accepts: caches keep the variants apart
        const compression::ContentCoding wanted = v.acceptEncoding.empty()
                                                      ? compression::ContentCoding::Identity
                                                      : compression::negotiateContentCoding(v.acceptEncoding);
        if (v.range.empty() && wanted != compression::ContentCoding::Identity) {
            switch (_variants.find(path, resource.identity, wanted, made)) {
            case CompressedVariantCache::Lookup::Hit:
                variant = made.get();
                coding = wanted;
                break;
            case CompressedVariantCache::Lookup::Miss:
                _variants.schedule(path, found, wanted); // identity this time
                break;
            case CompressedVariantCache::Lookup::Useless:
                break;
            }
        }
    }

    http::HttpResponse& out = response.http();
    // Usually nothing ran before (no filter): the headers go in as they come, without each
    // setHeader() scanning the ones already there. The names below are all distinct.
    const bool fresh = out.headers().empty();
    auto set = [&out, fresh](std::string_view name, std::string_view value) {
        if (fresh) {
            out.addHeader(name, value);
        } else {
            out.setHeader(name, value);
        }
    };
    out.setContentCodingFinal(true);
    if (vary) out.addHeader("Vary", "Accept-Encoding");
    set("ETag", variant->etag);
    set("Last-Modified", variant->lastModified);
    if (isNotModified(v.ifNoneMatch, v.ifModifiedSince, variant->etag, variant->lastModified,
                      variant->mtime)) {
        out.setStatus(304);
        return;
    }
    set("Content-Type", resource.contentType);
    if (coding != compression::ContentCoding::Identity)
        set("Content-Encoding", compression::codingName(coding));
    set("Accept-Ranges", "bytes");

    uint64_t offset = 0;
    uint64_t length = variant->size;
    if (!v.range.empty() &&
        ifRangeAllowsPartial(v.ifRange, variant->etag, variant->lastModified, variant->mtime)) {
        ByteRange range;
        switch (evaluateRange(v.range, variant->size, range)) {
        case RangeOutcome::Unsatisfiable:
            response.sendError(416);
            response.setHeader("Content-Range", "bytes */" + std::to_string(variant->size));
            return;
        case RangeOutcome::Partial:
            out.setStatus(206);
            out.setHeader("Content-Range", contentRange(range.first, range.last, variant->size));
            offset = range.first;
            length = range.length();
            break;
        case RangeOutcome::Full:
            break;
        }
    }
    if (request.isHead()) {
        out.setContentLength(static_cast<int64_t>(length));
        return;
    }
    if (variant->inMemory) {
        out.resetBuffer();
        out.write(std::string_view(variant->bytes).substr(offset, length));
    } else {
        out.setFileBody(variant->file, offset, length);
    }
}

core::DefaultServletFactory defaultServletFactory()
{
    return [](const core::Context& context) -> std::unique_ptr<core::Servlet> {
        StaticConfig config;
        config.docBase = context.docBase();
        config.welcomeFiles = context.webXml().welcomeFiles;
        config.mimeTypes = mimeTypesFromMap(context.webXml().mimeMappings);
        return std::make_unique<DefaultServlet>(std::move(config));
    };
}

} // namespace serval::servlets
