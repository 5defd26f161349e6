#pragma once

#include <string>
#include <string_view>

namespace serval::valves {

/// The container's own error page (Tomcat's ErrorReportValve), used by the Context for a 4xx or
/// 5xx when the app declares no <error-page> for the status, and by the Engine for errors
/// before any Context is found.
///
/// Plain, self-contained HTML (inline style, no script, no external resources): the status line
/// as title and heading, and `message` as one paragraph if non-empty. The message is HTML-escaped
/// here; callers pass plain text. Never a stack trace, a path on disk, or a version string.
/// THREADS: pure function, any thread.
std::string renderErrorReport(int status, std::string_view message = {});

/// The Content-Type to send with renderErrorReport()'s output.
constexpr std::string_view kErrorReportContentType = "text/html; charset=utf-8";

} // namespace serval::valves
