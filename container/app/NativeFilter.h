#pragma once

#include "app/HostApi.h"
#include "app/NativeInstance.h"
#include "core/Servlet.h"

#include <string>

namespace serval::app {

/// A filter implemented by an app through serval_filter_class_t.
/// OWNERSHIP, THREADS: as NativeServlet.
class NativeFilter : public core::Filter, private NativeInstance<serval_filter_class_t>
{
public:
    NativeFilter(const serval_filter_class_t& filterClass, void* instance, std::string appName) noexcept;

    void init(const core::FilterConfig& config) override;
    /// If the app's on_do_filter fails after a later filter or the servlet failed, returns that
    /// failure (its message names the real culprit); otherwise the failure
    /// `app "shop" filter "name": <message>`.
    core::ServiceStatus doFilter(core::Request& request, core::Response& response,
                                 core::FilterChain& chain) override;
    void destroy() noexcept override;
};

} // namespace serval::app
