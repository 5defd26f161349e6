#pragma once

#include "http/Token.h"

#include <string_view>

/// Strict RFC 9110/9112 syntax checks the Connector adds where llhttp is lenient.
/// Pure functions, any thread.
namespace serval::connector::rfc9112 {

/// The token rule is RFC 9110's, defined once in http/Token.h.
using http::isToken;
using http::isTokenChar;
/// A field value: no CTL except HTAB (NUL, CR, LF, DEL all refused); obs-text allowed.
bool isFieldValue(std::string_view text) noexcept;
/// origin-form: starts with '/', visible ASCII only, no '#'.
bool isOriginForm(std::string_view target) noexcept;
using http::isHostValue;

/// How a request's Transfer-Encoding list reads (all Transfer-Encoding fields joined).
enum class TransferCoding
{
    Chunked,     ///< exactly one coding: chunked
    Unsupported, ///< well-formed, ends in chunked, but has other codings (gzip, ...) -> 501
    Invalid      ///< chunked missing, not last or repeated, or not a token list -> 400
};
TransferCoding classifyTransferEncoding(std::string_view joinedValues) noexcept;

/// True if the comma-separated list (a Connection field) contains `token` (case-insensitive).
bool listContains(std::string_view list, std::string_view token) noexcept;

} // namespace serval::connector::rfc9112
