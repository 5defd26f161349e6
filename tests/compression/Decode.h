#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace serval::test {

/// The decoded body of a gzip (RFC 1952) stream with zlib's own inflate; nullopt if it is not
/// one complete, valid stream.
std::optional<std::string> gunzip(std::string_view encoded);
/// Likewise for brotli with libbrotlidec.
std::optional<std::string> unbrotli(std::string_view encoded);

} // namespace serval::test
