#pragma once

// The host function table of serval/abi.h, implemented on top of core::Request, core::Response and
// core::ServletContext, and the host's definitions of the ABI's opaque handle types.
//
// Every host function is noexcept: a C++ exception never unwinds into app code. Handles are
// small structs built on the adapter's stack for the duration of one hook call (no allocation per
// request); they point at the container's objects.

#include "core/Request.h"
#include "core/Response.h"
#include "core/Servlet.h"
#include "serval/abi.h"

#include <exception>
#include <string>

/// serval_session_t (ABI 1.2): a request's session. Lives inside the serval_request_t handle of
/// the hook that asked (request_session), or on the stack of a listener's on_session_* call,
/// where `request` is nullptr (no invalidate, no change of id there). `id` keeps the id's bytes
/// for session_id's out view.
struct serval_session_t
{
    serval::core::HttpSession* session = nullptr;
    serval::core::Request* request = nullptr;
    std::string id;
};

/// serval_request_t: the request being served plus the context it runs in.
struct serval_request_t
{
    serval::core::Request* request;
    serval::core::ServletContext* context;
    serval_session_t session{}; ///< filled by request_session
};

/// serval_response_t: the response to that request.
struct serval_response_t
{
    serval::core::Response* response;
};

/// serval_chain_t: the rest of a filter chain. `failure` keeps what a later filter or the
/// servlet returned, so the filter's adapter can pass it on with its original message;
/// `exception` what container code behind the filter threw (std::bad_alloc), held back so it
/// never unwinds through the app and rethrown by the adapter once the app has returned.
struct serval_chain_t
{
    serval::core::FilterChain* chain;
    serval::core::ServiceStatus failure;
    std::exception_ptr exception;
};

/// serval_config_t: a servlet's or filter's configuration, copied and owned by its adapter.
struct serval_config_t
{
    serval::core::ComponentConfig config;
};

namespace serval::app {

/// The table handed to every app. Static, valid for the life of the process.
const serval_host_api_t& hostApi() noexcept;

/// serval_context_t is the container's ServletContext itself.
inline serval_context_t* contextHandle(core::ServletContext* context) noexcept
{
    return reinterpret_cast<serval_context_t*>(context);
}

/// The message an app hook left with set_error() on this thread. clearError() runs before each
/// hook; failureMessage() after a failed one ("failed with status N" if the app gave no message).
void clearError() noexcept;
std::string failureMessage(serval_status_t status);

} // namespace serval::app
