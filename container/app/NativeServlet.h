#pragma once

#include "app/HostApi.h"
#include "app/NativeInstance.h"
#include "core/Servlet.h"

#include <string>

namespace serval::app {

/// A servlet implemented by an app through serval_servlet_class_t (the Tomcat Wrapper's servlet
/// instance, native edition).
///
/// OWNERSHIP: created by NativeAppModule::createServlet, owned by the Context, which destroys it
/// before the module (and so before dlclose). Owns the app's instance: on_destroy runs in
/// destroy() or, if the Context never called it, in the destructor.
/// THREADS: init/destroy on a control thread; service on request threads, concurrently.
class NativeServlet : public core::Servlet, private NativeInstance<serval_servlet_class_t>
{
public:
    NativeServlet(const serval_servlet_class_t& servletClass, void* instance, std::string appName) noexcept;

    /// Throws std::runtime_error(`app "shop" servlet "hello": <message>`) if on_init fails.
    void init(const core::ServletConfig& config) override;
    /// If on_service fails, returns the failure `app "shop" servlet "hello": <message>`: the
    /// Context answers 500 (unless committed) and logs that line.
    core::ServiceStatus service(core::Request& request, core::Response& response) override;
    void destroy() noexcept override;
};

} // namespace serval::app
