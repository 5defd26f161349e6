#include "app/NativeListener.h"

#include "util/Log.h"

#include <stdexcept>

namespace serval::app {

NativeListener::NativeListener(const serval_listener_class_t& listenerClass, void* instance,
                               std::string appName) noexcept
    : _class(listenerClass), _instance(instance), _appName(std::move(appName))
{
    _className.assign(listenerClass.name.ptr, listenerClass.name.len);
}

NativeListener::~NativeListener()
{
    if (_instance == nullptr || _class.on_destroy == nullptr) return;
    clearError();
    serval_status_t status = _class.on_destroy(_instance);
    if (status != SERVAL_OK) logFailure(status, "destroy");
}

std::string NativeListener::describeFailure(serval_status_t status) const
{
    return "app \"" + _appName + "\" listener \"" + _className + "\": " + failureMessage(status);
}

void NativeListener::logFailure(serval_status_t status, const char* where) const noexcept
{
    try {
        LOG_ERROR("app", describeFailure(status) + " (in " + where + ")");
    } catch (...) {
    }
}

void NativeListener::contextInitialized(core::ServletContext& context)
{
    _context = &context;
    if (_class.on_context_initialized == nullptr) return;
    clearError();
    serval_status_t status = _class.on_context_initialized(_instance, contextHandle(&context));
    if (status != SERVAL_OK) throw std::runtime_error(describeFailure(status));
}

void NativeListener::contextDestroyed(core::ServletContext& context) noexcept
{
    if (_class.on_context_destroyed == nullptr) return;
    clearError();
    serval_status_t status = _class.on_context_destroyed(_instance, contextHandle(&context));
    if (status != SERVAL_OK) logFailure(status, "contextDestroyed");
}

core::ServiceStatus NativeListener::requestInitialized(core::Request& request)
{
    if (_class.on_request_initialized == nullptr) return {};
    serval_request_t handle{&request, _context};
    clearError();
    serval_status_t status = _class.on_request_initialized(_instance, &handle);
    if (status != SERVAL_OK) return core::ServiceStatus::failed(describeFailure(status));
    return {};
}

void NativeListener::requestDestroyed(core::Request& request) noexcept
{
    if (_class.on_request_destroyed == nullptr) return;
    serval_request_t handle{&request, _context};
    clearError();
    serval_status_t status = _class.on_request_destroyed(_instance, &handle);
    if (status != SERVAL_OK) logFailure(status, "requestDestroyed");
}

void NativeListener::sessionCreated(core::HttpSession& session) noexcept
{
    if (!SERVAL_HAS_MEMBER(&_class, serval_listener_class_t, on_session_created) ||
        _class.on_session_created == nullptr) {
        return;
    }
    serval_session_t handle;
    handle.session = &session;
    clearError();
    serval_status_t status = _class.on_session_created(_instance, &handle);
    if (status != SERVAL_OK) logFailure(status, "sessionCreated");
}

void NativeListener::sessionDestroyed(core::HttpSession& session) noexcept
{
    if (!SERVAL_HAS_MEMBER(&_class, serval_listener_class_t, on_session_destroyed) ||
        _class.on_session_destroyed == nullptr) {
        return;
    }
    serval_session_t handle;
    handle.session = &session;
    clearError();
    serval_status_t status = _class.on_session_destroyed(_instance, &handle);
    if (status != SERVAL_OK) logFailure(status, "sessionDestroyed");
}

} // namespace serval::app
