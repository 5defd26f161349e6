#pragma once

#include "core/Servlet.h"
#include "manager/ManagerApi.h"

#include <memory>

namespace serval::manager {

/// The admin page and JSON API as a servlet: mounted (mapping "/") in a container-provided
/// Context at the manager path (default "/manager") on the default host, by container/startup
/// through Context::addServlet. Translates core::Request/Response to ManagerApi's
/// transport-independent request and response.
///
/// THREADS: service() on worker threads, concurrently (ManagerApi is thread-safe).
/// OWNERSHIP: shares the ManagerApi with MetricsServlet (MetricsServlet.h).
class ManagerServlet : public core::Servlet
{
public:
    explicit ManagerServlet(std::shared_ptr<ManagerApi> api) : _api(std::move(api)) {}
    core::ServiceStatus service(core::Request& request, core::Response& response) override;

    /// Shared by ManagerServlet and MetricsServlet.
    static AdminRequest toAdminRequest(core::Request& request);
    static void send(const AdminResponse& from, core::Response& to);

private:
    std::shared_ptr<ManagerApi> _api;
};

} // namespace serval::manager
