#include "app/NativeFilter.h"

#include <exception>

namespace serval::app {

NativeFilter::NativeFilter(const serval_filter_class_t& filterClass, void* instance,
                           std::string appName) noexcept
    : NativeInstance(filterClass, instance, std::move(appName), "filter")
{}

void NativeFilter::init(const core::FilterConfig& config)
{
    initInstance(config);
}

core::ServiceStatus NativeFilter::doFilter(core::Request& request, core::Response& response,
                                           core::FilterChain& chain)
{
    if (_class.on_do_filter == nullptr) return chain.doFilter(request, response);
    serval_request_t requestHandle{&request, _config.config.context};
    serval_response_t responseHandle{&response};
    serval_chain_t chainHandle{&chain, {}, nullptr};
    clearError();
    serval_status_t status = _class.on_do_filter(_instance, &requestHandle, &responseHandle, &chainHandle);
    if (status == SERVAL_OK) return {}; // including a later failure the filter chose to handle
    if (chainHandle.exception) std::rethrow_exception(chainHandle.exception);
    if (!chainHandle.failure.ok()) return std::move(chainHandle.failure);
    return core::ServiceStatus::failed(describeFailure(status));
}

void NativeFilter::destroy() noexcept
{
    destroyInstance();
}

} // namespace serval::app
