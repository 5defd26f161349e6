#include "app/NativeServlet.h"

namespace serval::app {

NativeServlet::NativeServlet(const serval_servlet_class_t& servletClass, void* instance,
                             std::string appName) noexcept
    : NativeInstance(servletClass, instance, std::move(appName), "servlet")
{}

void NativeServlet::init(const core::ServletConfig& config)
{
    initInstance(config);
}

core::ServiceStatus NativeServlet::service(core::Request& request, core::Response& response)
{
    serval_request_t requestHandle{&request, _config.config.context};
    serval_response_t responseHandle{&response};
    clearError();
    serval_status_t status = _class.on_service(_instance, &requestHandle, &responseHandle);
    if (status != SERVAL_OK) return core::ServiceStatus::failed(describeFailure(status));
    return {};
}

void NativeServlet::destroy() noexcept
{
    destroyInstance();
}

} // namespace serval::app
