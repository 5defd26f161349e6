#include "app/NativeFilter.h"

#include "util/Log.h"

#include <stdexcept>

namespace serval::app {

NativeFilter::NativeFilter(const serval_filter_class_t& filterClass, void* instance,
                           std::string appName) noexcept
    : _class(filterClass), _instance(instance), _appName(std::move(appName)), _config{}
{
    _config.config.className.assign(filterClass.name.ptr, filterClass.name.len);
}

NativeFilter::~NativeFilter()
{
    destroy();
}

std::string NativeFilter::describeFailure(serval_status_t status) const
{
    const std::string& name = _config.config.name.empty() ? _config.config.className : _config.config.name;
    return "app \"" + _appName + "\" filter \"" + name + "\": " + failureMessage(status);
}

void NativeFilter::init(const core::FilterConfig& config)
{
    _config.config = config;
    if (_class.on_init == nullptr) return;
    clearError();
    serval_status_t status = _class.on_init(_instance, &_config);
    if (status != SERVAL_OK) throw std::runtime_error(describeFailure(status));
}

void NativeFilter::doFilter(core::Request& request, core::Response& response, core::FilterChain& chain)
{
    if (_class.on_do_filter == nullptr) {
        chain.doFilter(request, response);
        return;
    }
    serval_request_t requestHandle{&request, _config.config.context};
    serval_response_t responseHandle{&response};
    serval_chain_t chainHandle{&chain, nullptr};
    clearError();
    serval_status_t status = _class.on_do_filter(_instance, &requestHandle, &responseHandle, &chainHandle);
    if (status == SERVAL_OK) return; // including a later failure the filter chose to handle
    if (chainHandle.failure) std::rethrow_exception(chainHandle.failure);
    throw std::runtime_error(describeFailure(status));
}

void NativeFilter::destroy() noexcept
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
