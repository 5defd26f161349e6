#pragma once

#include "core/HeadCheck.h"
#include "core/Servlet.h"
#include "manager/ManagerApi.h"

#include <memory>

namespace serval::manager {

/// The manager's entry points as servlets: the admin page and JSON API (ManagerApi::handle,
/// mapping "/" in a container-provided Context at the manager path, default "/manager") and
/// Prometheus metrics (ManagerApi::metrics, in its own Context at "/metrics"), both on the
/// default host, mounted by Manager::install through Context::addServlet. Translates
/// core::Request/Response to ManagerApi's transport-independent request and response.
///
/// THREADS: service() on worker threads, concurrently (ManagerApi is thread-safe).
/// OWNERSHIP: the two servlets share the ManagerApi.
class ManagerServlet : public core::Servlet
{
public:
    using Entry = AdminResponse (ManagerApi::*)(const AdminRequest& request);

    explicit ManagerServlet(std::shared_ptr<ManagerApi> api, Entry entry = &ManagerApi::handle)
        : _api(std::move(api)), _entry(entry)
    {}
    core::ServiceStatus service(core::Request& request, core::Response& response) override;

    /// Everything of the request but its body; `path` is what follows `contextPath` in the raw
    /// (still percent-encoded) request path, as the mapper matched it.
    static AdminRequest toAdminRequest(const http::HttpRequest& request, std::string_view contextPath);
    static void send(const AdminResponse& from, http::HttpResponse& to);

private:
    std::shared_ptr<ManagerApi> _api;
    Entry _entry;
};

/// The manager's decision on a request head (ManagerApi::checkHead, or checkMetricsHead for
/// /metrics), installed on its Contexts by Manager::install: a refusal (401, 403, 405) is sent
/// before one byte of the body is read, and each route's body cap is set there. With a
/// `stagingDir`, an accepted POST /api/deploy body streams to a StagedUpload there instead of
/// into memory.
///
/// THREADS: checkHead() on I/O threads, concurrently.
class ManagerHeadCheck : public core::HeadCheck
{
public:
    using Entry = std::optional<AdminResponse> (ManagerApi::*)(const AdminRequest& head, bool bodyAnnounced,
                                                               uint64_t& maxBody);

    explicit ManagerHeadCheck(std::shared_ptr<ManagerApi> api, Entry entry = &ManagerApi::checkHead,
                              std::string stagingDir = "")
        : _api(std::move(api)), _entry(entry), _stagingDir(std::move(stagingDir))
    {}
    void checkHead(const core::Context& context, http::HttpExchange& exchange, http::HeadDecision& decision,
                   std::unique_ptr<http::BodyConsumer>& bodyConsumer) noexcept override;

private:
    std::shared_ptr<ManagerApi> _api;
    Entry _entry;
    std::string _stagingDir;
};

} // namespace serval::manager
