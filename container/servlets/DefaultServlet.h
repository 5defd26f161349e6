#pragma once

#include "core/Context.h"
#include "core/Servlet.h"
#include "http/CompressionSettings.h"
#include "http/HttpRequest.h"
#include "servlets/CompressedVariantCache.h"
#include "servlets/MimeTypes.h"
#include "servlets/OpenFileCache.h"

#include <memory>
#include <string>
#include <vector>

namespace serval::core {
class Response;
}

namespace serval::servlets {

/// What a Context gives its DefaultServlet.
struct StaticConfig
{
    std::string docBase;                        ///< realpath of the Context's directory
    std::vector<std::string> welcomeFiles;      ///< "index.html", tried in order (no leading '/')
    std::shared_ptr<const MimeTypes> mimeTypes; ///< merged conf/web.xml + WEB-INF/web.xml table
    OpenFileCache::Options cache = {};          ///< tests shorten the revalidation interval
    CompressedVariantCache::Options variants = {};
};

/// Serves the Context's static files (Tomcat's DefaultServlet, nginx's static module), mapped
/// at "/" so it answers whatever no servlet claims.
///
/// Request path: servletPath + pathInfo, decoded once and normalised by the Engine, which has
/// already refused NUL, backslash, encoded '/', and climbing above the root. This class checks
/// again anyway (defence in depth) and adds what only it can know:
///   method       GET and HEAD; OPTIONS -> 200 with Allow; others -> 405 with Allow.
///   WEB-INF, META-INF (any case, any depth) -> 404.
///   file system  via OpenFileCache: O_NOFOLLOW, descriptor path within the docBase, only
///                regular files and directories; errno -> status in one place (statusForErrno).
///   directory    without a trailing '/': 302 to add it (query kept); with it: the first
///                welcome file that is a regular file, served in place; no listings (404).
///   validators   weak ETag W/"size-mtimeMillis" and Last-Modified; If-None-Match (weak
///                comparison, wins) or If-Modified-Since -> 304.
///   Range        one range -> 206 + Content-Range; unsatisfiable -> 416 + "bytes */size";
///                several ranges -> 200 with the whole body; If-Range that does not match
///                (a weak ETag never does) -> 200. See ByteRange.h and Preconditions.h.
///   precompressed "x.br" / "x.gz" next to "x" (and not older than it) is sent with its
///                Content-Encoding when Accept-Encoding admits it (br preferred, q-values
///                honoured); every answer for "x" then carries Vary: Accept-Encoding. Range and
///                conditionals apply to the variant sent.
///   compressed   otherwise, a file the Connector's compression settings call compressible
///                (type, compressionMinSize) is sent from CompressedVariantCache as br or gzip
///                (made once off the loop, at the best effort; until then identity), with
///                Vary and its own weak ETag; never for a Range request (identity then).
///                Responses from here are marked contentCodingFinal: the generic response
///                compression never recompresses them per request.
///   bodies       files up to 16 KiB are kept in memory by the cache and copied into the
///                response buffer (one writev for head and body beats writev + sendfile for
///                small files); larger ones go out with sendfile from a shared open fd.
///   HEAD         the same headers and Content-Length, no body.
/// Errors go through Response::sendError, so the Context renders its error page (the app's
/// <error-page> or the container's); headers that belong to the error (Allow, Content-Range)
/// are set after sendError, and the Context keeps them when it renders the page.
///
/// THREADS: service() runs concurrently on I/O threads (Dispatch::Inline: it never blocks on
/// anything but local file system calls on a cache miss) and on workers.
class DefaultServlet : public core::Servlet
{
public:
    explicit DefaultServlet(StaticConfig config);

    /// Never fails: every problem is an HTTP status (sendError), never a ServiceStatus.
    core::ServiceStatus service(core::Request& request, core::Response& response) override;

    /// The whole behaviour, for a docBase-relative path ("/a/b.css"); service() forwards here.
    /// Public so the Engine's tests and unit tests can drive it without a mapped Request.
    /// `errorPage`: an ERROR dispatch (any method, no conditional or Range handling).
    void serve(const http::HttpRequest& request, const std::string& path, core::Response& response,
               bool errorPage = false);

    OpenFileCache& cache() noexcept { return _cache; }
    CompressedVariantCache& variants() noexcept { return _variants; }

    /// errno from opening a file -> HTTP status (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG -> 404;
    /// EACCES, EPERM -> 403; anything else -> 500).
    static int statusForErrno(int error) noexcept;
    /// True if a relative path may name a servable file: starts with '/', holds no NUL or
    /// backslash, no "." or ".." component, and no WEB-INF or META-INF component in any case.
    static bool isServablePath(std::string_view path) noexcept;

private:
    void serveFile(const http::HttpRequest& request, const std::string& path,
                   const std::shared_ptr<const CachedResource>& resource, core::Response& response,
                   bool errorPage);
    void sendFailure(int error, const std::string& path, core::Response& response);
    static bool isEligible(const CachedResource& resource,
                           const http::CompressionSettings* settings) noexcept;

    StaticConfig _config;
    OpenFileCache _cache;
    CompressedVariantCache _variants;
};

/// The factory every Context is given (core::ContextServices::defaultServlet): a DefaultServlet
/// over the Context's docBase with its welcome files and MIME table. Used by the server and by
/// each worker process alike.
core::DefaultServletFactory defaultServletFactory();

} // namespace serval::servlets
