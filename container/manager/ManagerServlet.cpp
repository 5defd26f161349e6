#include "manager/ManagerServlet.h"

#include "core/Request.h"
#include "core/Response.h"

namespace serval::manager {

AdminRequest ManagerServlet::toAdminRequest(core::Request& request)
{
    AdminRequest out;
    out.method = std::string(request.method());
    std::string_view uri = request.requestUri();
    std::string_view context = request.contextPath();
    // The raw URI starts with the context path (the mapper matched it); what follows is ours.
    out.path = std::string(uri.size() >= context.size() ? uri.substr(context.size()) : std::string_view());
    out.query = std::string(request.queryString());
    for (const auto& header : request.http().headers)
        out.headers.emplace_back(header.name, header.value);
    out.body = std::string(request.body());
    out.remoteAddress = request.http().remoteAddress;
    out.secure = request.http().secure;
    return out;
}

void ManagerServlet::send(const AdminResponse& from, core::Response& to)
{
    to.setStatus(from.status);
    for (const auto& [name, value] : from.headers) {
        if (name == "Set-Cookie")
            to.addHeader(name, value);
        else
            to.setHeader(name, value);
    }
    to.write(from.body);
}

core::ServiceStatus ManagerServlet::service(core::Request& request, core::Response& response)
{
    send(((*_api).*_entry)(toAdminRequest(request)), response);
    return {};
}

} // namespace serval::manager
