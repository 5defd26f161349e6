#pragma once

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

    static AdminRequest toAdminRequest(core::Request& request);
    static void send(const AdminResponse& from, core::Response& to);

private:
    std::shared_ptr<ManagerApi> _api;
    Entry _entry;
};

} // namespace serval::manager
