#include "app/NativeFilter.h"

#include <stdexcept>

namespace serval::app {

NativeFilter::NativeFilter(const serval_filter_class_t& filterClass, void* instance,
                           std::string appName) noexcept
    : NativeInstance(filterClass, instance, std::move(appName), "filter")
{}

void NativeFilter::init(const core::FilterConfig& config)
{
    initInstance(config);
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
    destroyInstance();
}

} // namespace serval::app
