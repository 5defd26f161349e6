#pragma once

#include <string_view>

namespace serval::compression {

/// The content codings Serval produces (RFC 9110 section 8.4.1).
enum class ContentCoding
{
    Identity,
    Gzip,
    Brotli
};

/// The token for Content-Encoding ("gzip", "br"); "identity" for Identity.
constexpr std::string_view codingName(ContentCoding coding) noexcept
{
    switch (coding) {
    case ContentCoding::Gzip:
        return "gzip";
    case ContentCoding::Brotli:
        return "br";
    case ContentCoding::Identity:
        break;
    }
    return "identity";
}

} // namespace serval::compression
