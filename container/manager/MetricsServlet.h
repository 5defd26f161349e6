#pragma once

#include "core/Servlet.h"
#include "manager/ManagerApi.h"

#include <memory>

namespace serval::manager {

/// GET /metrics in Prometheus text format, in its own container-provided Context ("/metrics").
/// THREADS: service() on worker threads, concurrently.
class MetricsServlet : public core::Servlet
{
public:
    explicit MetricsServlet(std::shared_ptr<ManagerApi> api) : _api(std::move(api)) {}
    core::ServiceStatus service(core::Request& request, core::Response& response) override;

private:
    std::shared_ptr<ManagerApi> _api;
};

} // namespace serval::manager
