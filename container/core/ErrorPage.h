#pragma once

#include "http/HttpResponse.h"

#include <string_view>

namespace serval::core {

/// The container's own error page, rendered by valves::renderErrorReport (when the app has no <error-page>
/// for the status, or for errors before any app is involved: 400, 404 without ROOT, 503 for a stopped app).
/// Replaces headers and body of `response`; `message` is HTML-escaped.
void writeErrorPage(http::HttpResponse& response, int status, std::string_view message);

} // namespace serval::core
