#pragma once

#include <string_view>

/// The RFC 9110 token rule (5.6.2), the one definition for every name that must be a token:
/// request and response header names and trailers (connector/Connection.cpp through
/// connector/Rfc9112.h), header names an app sets through the host table (app/HostApi.cpp),
/// cookie names (RFC 6265 cookie-name is a token: core/Response.cpp, app/HostApi.cpp); and the
/// Host value both protocols check.
/// Pure functions, any thread.
namespace serval::http {

/// tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
bool isTokenChar(unsigned char c) noexcept;
/// Non-empty and only tchar.
bool isToken(std::string_view text) noexcept;
/// A Host field value or an h2 :authority: uri-host [ ":" port ] characters only (may be
/// empty). No userinfo ('@'), no path: RFC 9110 7.2, RFC 9113 8.3.1.
bool isHostValue(std::string_view host) noexcept;

} // namespace serval::http
