#include "core/ErrorPage.h"

#include "core/Request.h"
#include "core/Response.h"
#include "http/HttpStatus.h"
#include "util/Strings.h"
#include "valves/ErrorReport.h"

namespace serval::core {

void writeErrorPage(http::HttpResponse& response, int status, std::string_view message, bool keepHeaders)
{
    if (keepHeaders) {
        response.resetBuffer();
        response.setContentLength(-1);
    } else {
        response.reset();
    }
    response.setStatus(status);
    response.setContentType(valves::kErrorReportContentType);
    response.setHeader("Cache-Control", "no-store");
    response.body() = valves::renderErrorReport(status, message);
}

bool prefersJson(std::string_view accept) noexcept
{
    if (accept.empty() || accept.find("html") != std::string_view::npos) return false;
    return accept.find("application/json") != std::string_view::npos ||
           accept.find("+json") != std::string_view::npos;
}

void writeErrorPage(const http::HttpRequest& request, http::HttpResponse& response, int status,
                    std::string_view message, bool keepHeaders)
{
    writeErrorPage(response, status, message, keepHeaders);
    if (!prefersJson(request.header("Accept"))) return;
    const int shown = response.status();
    response.setContentType("application/json; charset=utf-8");
    response.body() = "{\"status\":" + std::to_string(shown) + ",\"error\":\"" +
                      util::jsonEscape(http::reasonPhrase(shown)) + "\",\"message\":\"" +
                      util::jsonEscape(message) + "\"}\n";
}

ServiceStatus ErrorReportServlet::service(Request& request, Response& response)
{
    writeErrorPage(request.http(), response.http(), _status, _message, true);
    return {};
}

} // namespace serval::core
