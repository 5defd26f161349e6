#include "manager/MetricsServlet.h"

#include "core/Request.h"
#include "core/Response.h"
#include "manager/ManagerServlet.h"

namespace serval::manager {

core::ServiceStatus MetricsServlet::service(core::Request& request, core::Response& response)
{
    auto adminRequest = ManagerServlet::toAdminRequest(request);
    if (adminRequest.method != "GET" && adminRequest.method != "HEAD") {
        response.setStatus(405);
        response.setHeader("Allow", "GET, HEAD");
        return {};
    }
    ManagerServlet::send(_api->metrics(adminRequest), response);
    return {};
}

} // namespace serval::manager
