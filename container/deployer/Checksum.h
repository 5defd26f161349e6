#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace serval::deployer {

/// SHA-256 of a file as lower-case hex (Poco::SHA2Engine), or nullopt if it cannot be read.
/// Used for the registry's bundle checksum and by servalctl inspect; control thread only.
std::optional<std::string> sha256File(const std::string& path);
std::string sha256Bytes(const void* data, size_t size);

} // namespace serval::deployer
