#pragma once

#include "core/Servlet.h"
#include "http/HttpRequest.h"
#include "http/HttpResponse.h"

#include <string>
#include <string_view>

namespace serval::core {

/// The container's own error page, rendered by valves::renderErrorReport (when the app has no <error-page>
/// for the status, or for errors before any app is involved: 400, 404 without ROOT, 503 for a stopped app).
/// Replaces the body of `response` and sets the status; `message` is HTML-escaped. Other headers
/// are cleared too unless `keepHeaders` (the Context keeps those a servlet set after
/// sendError(), such as Allow with a 405 or Content-Range with a 416).
void writeErrorPage(http::HttpResponse& response, int status, std::string_view message,
                    bool keepHeaders = false);
/// The same for a request whose Accept asks for JSON and not HTML (an API client: `fetch` with
/// Accept: application/json, curl -H): `{"status":400,"error":"Bad Request","message":"..."}`
/// as application/json, as Spring Boot's error controller answers non-browser clients; HTML for
/// everyone else.
void writeErrorPage(const http::HttpRequest& request, http::HttpResponse& response, int status,
                    std::string_view message, bool keepHeaders = false);
/// True if `accept` names application/json (or a +json type) and no HTML.
bool prefersJson(std::string_view accept) noexcept;

/// The container's error page as the last step of an ERROR dispatch (Context::renderError), so
/// the filters mapped with <dispatcher>ERROR</dispatcher> run around it as they would around an
/// app's <error-page>. Lives on the request thread's stack for that one dispatch.
class ErrorReportServlet : public Servlet
{
public:
    ErrorReportServlet(int status, std::string message) : _status(status), _message(std::move(message)) {}
    ServiceStatus service(Request& request, Response& response) override;

private:
    int _status;
    std::string _message;
};

} // namespace serval::core
