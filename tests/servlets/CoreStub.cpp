// A minimal core::Response for the servlets unit tests, compiled only while serval_core does
// not exist yet (see CMakeLists.txt). It follows the contract in core/Response.h: sendError
// clears buffer and headers, sets the status and marks the error; sendRedirect sets Location.
#include "core/Response.h"

namespace serval::core {

bool Response::sendError(int status, std::string_view message)
{
    if (!_exchange.response.reset()) return false;
    _exchange.response.setStatus(status);
    _errorSent = true;
    _errorMessage.assign(message);
    return true;
}

bool Response::sendRedirect(std::string_view location, int status)
{
    if (!_exchange.response.reset()) return false;
    _exchange.response.setStatus(status);
    _exchange.response.setHeader("Location", location);
    return true;
}

} // namespace serval::core
