#include "app/NativeServlet.h"

#include "util/Log.h"

#include <stdexcept>

namespace serval::app {

NativeServlet::NativeServlet(const serval_servlet_class_t& servletClass, void* instance,
                             std::string appName) noexcept
    : _class(servletClass), _instance(instance), _appName(std::move(appName)), _config{}
{
    _config.config.className.assign(servletClass.name.ptr, servletClass.name.len);
}

NativeServlet::~NativeServlet()
{
    destroy();
}

std::string NativeServlet::describeFailure(serval_status_t status) const
{
    const std::string& name = _config.config.name.empty() ? _config.config.className : _config.config.name;
    return "app \"" + _appName + "\" servlet \"" + name + "\": " + failureMessage(status);
}

void NativeServlet::init(const core::ServletConfig& config)
{
    _config.config = config;
    if (_class.on_init == nullptr) return;
    clearError();
    serval_status_t status = _class.on_init(_instance, &_config);
    if (status != SERVAL_OK) throw std::runtime_error(describeFailure(status));
}

void NativeServlet::service(core::Request& request, core::Response& response)
{
    serval_request_t requestHandle{&request, _config.config.context};
    serval_response_t responseHandle{&response};
    clearError();
    serval_status_t status = _class.on_service(_instance, &requestHandle, &responseHandle);
    if (status != SERVAL_OK) throw std::runtime_error(describeFailure(status));
}

void NativeServlet::destroy() noexcept
{
    if (_instance == nullptr) return;
    void* instance = _instance;
    _instance = nullptr;
    if (_class.on_destroy == nullptr) return;
    clearError();
    serval_status_t status = _class.on_destroy(instance);
    if (status != SERVAL_OK) {
        try {
            LOG_ERROR("app", describeFailure(status) + " (in destroy)");
        } catch (...) {
        }
    }
}

} // namespace serval::app
