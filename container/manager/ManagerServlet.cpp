#include "manager/ManagerServlet.h"

#include "core/Context.h"
#include "core/Request.h"
#include "core/Response.h"
#include "manager/StagedUpload.h"
#include "util/Log.h"

#include <algorithm>

namespace serval::manager {

AdminRequest ManagerServlet::toAdminRequest(const http::HttpRequest& request, std::string_view contextPath)
{
    AdminRequest out;
    out.method = request.method;
    std::string_view uri = request.path;
    // The raw URI starts with the context path (the mapper matched it); what follows is ours.
    out.path =
        std::string(uri.size() >= contextPath.size() ? uri.substr(contextPath.size()) : std::string_view());
    out.query = request.query;
    for (const auto& header : request.headers)
        out.headers.emplace_back(header.name, header.value);
    out.remoteAddress = request.remoteAddress;
    out.secure = request.secure;
    return out;
}

void ManagerServlet::send(const AdminResponse& from, http::HttpResponse& to)
{
    to.setStatus(from.status);
    for (const auto& [name, value] : from.headers) {
        if (name == "Set-Cookie")
            to.addHeader(name, value);
        else
            to.setHeader(name, value);
    }
    if (from.file) {
        to.setFileBody(from.file, 0, from.fileLength);
        return;
    }
    to.write(from.body);
}

core::ServiceStatus ManagerServlet::service(core::Request& request, core::Response& response)
{
    AdminRequest admin = toAdminRequest(request.http(), request.contextPath());
    if (auto* staged = dynamic_cast<StagedUpload*>(request.bodyConsumer())) {
        admin.stagedBody = staged->descriptor();
        admin.stagedSize = staged->size();
    } else {
        admin.body = std::string(request.body());
    }
    send(((*_api).*_entry)(admin), response.http());
    return {};
}

void ManagerHeadCheck::checkHead(const core::Context& context, http::HttpExchange& exchange,
                                 http::HeadDecision& decision,
                                 std::unique_ptr<http::BodyConsumer>& bodyConsumer) noexcept
{
    try {
        const http::HttpRequest& request = exchange.request;
        std::string_view length = request.header("Content-Length");
        bool bodyAnnounced = request.hasHeader("Transfer-Encoding") || (!length.empty() && length != "0");
        uint64_t maxBody = decision.maxBodySize;
        AdminRequest head = ManagerServlet::toAdminRequest(request, context.contextPath());
        auto refused = ((*_api).*_entry)(head, bodyAnnounced, maxBody);
        decision.maxBodySize = decision.maxBodySize == 0 ? maxBody : std::min(decision.maxBodySize, maxBody);
        if (!refused) {
            // Authorised: a bundle upload goes to disk as it arrives (a deploy by server path
            // ignores the body, so it is not staged).
            if (bodyAnnounced && !_stagingDir.empty() && head.method == "POST" &&
                head.path == "/api/deploy" && head.query.find("serverPath=") == std::string::npos) {
                bodyConsumer = std::make_unique<StagedUpload>(_stagingDir, decision.maxBodySize);
            }
            return;
        }
        ManagerServlet::send(*refused, exchange.response);
        decision.rejectStatus = refused->status;
    } catch (const std::exception& e) {
        // The control plane may throw (a broken token table): refuse rather than read the body.
        LOG_ERROR("manager", std::string("cannot check a request head: ") + e.what());
        exchange.response.reset();
        decision.rejectStatus = 500;
    } catch (...) {
        exchange.response.reset();
        decision.rejectStatus = 500;
    }
}

} // namespace serval::manager
