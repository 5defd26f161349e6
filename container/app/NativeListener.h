#pragma once

#include "app/HostApi.h"
#include "core/Servlet.h"

#include <string>

namespace serval::app {

/// A listener implemented by an app through serval_listener_class_t.
/// OWNERSHIP: as NativeServlet. THREADS: context events on a control thread, request events on
/// request threads, concurrently.
class NativeListener : public core::Listener
{
public:
    NativeListener(const serval_listener_class_t& listenerClass, void* instance,
                   std::string appName) noexcept;
    ~NativeListener() override;

    /// Throws std::runtime_error(`app "shop" listener "cls": <message>`) on failure.
    void contextInitialized(core::ServletContext& context) override;
    void contextDestroyed(core::ServletContext& context) noexcept override;
    /// A failed on_request_initialized returns `app "shop" listener "cls": <message>`.
    core::ServiceStatus requestInitialized(core::Request& request) override;
    void requestDestroyed(core::Request& request) noexcept override;
    /// ABI 1.2 hooks; skipped when the app's listener struct predates them (built for 1.0).
    void sessionCreated(core::HttpSession& session) noexcept override;
    void sessionDestroyed(core::HttpSession& session) noexcept override;

private:
    std::string describeFailure(serval_status_t status) const;
    void logFailure(serval_status_t status, const char* where) const noexcept;

    const serval_listener_class_t& _class;
    void* _instance;
    std::string _appName;
    std::string _className;
    core::ServletContext* _context = nullptr; ///< set by contextInitialized, before any request
};

} // namespace serval::app
