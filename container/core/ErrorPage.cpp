#include "core/ErrorPage.h"

#include "core/Response.h"
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

ServiceStatus ErrorReportServlet::service(Request& request, Response& response)
{
    (void)request;
    writeErrorPage(response.http(), _status, _message, true);
    return {};
}

} // namespace serval::core
