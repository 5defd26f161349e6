#pragma once

#include "util/FileDescriptor.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::util {

/// The one security-critical path helper. Every place that turns outside input (a request
/// path, an archive entry name, a web.xml location) into a file system path goes through here.

/// Normalises a decoded, '/'-separated relative or absolute URI path: collapses "//", removes
/// ".", resolves ".." against earlier components. Returns nullopt if ".." would climb above
/// the start, or if the path holds NUL or '\\'. The result starts with '/' and keeps a
/// trailing '/' if the input had one.
std::optional<std::string> normalizeUriPath(std::string_view path);

/// True if `candidate` is `root` or lies below it, compared component by component (so
/// "/srv/app-evil" is not within "/srv/app"). Both must be absolute and already normalised
/// (no ".", "..", or "//"); this function does not touch the file system.
bool isWithin(std::string_view root, std::string_view candidate) noexcept;

/// True if any component of the relative path equals `name` ignoring ASCII case
/// (used for WEB-INF / META-INF).
bool hasComponentIgnoreCase(std::string_view path, std::string_view name) noexcept;

/// Joins a root directory and a normalised URI path ("/a/b") into a file system path.
std::string joinPath(std::string_view root, std::string_view uriPath);

/// Resolves symlinks of an existing path (realpath) and checks it stays within `rootReal`
/// (itself a realpath). Returns the resolved path, or nullopt if it does not exist or escapes.
std::optional<std::string> resolveWithin(const std::string& rootReal, const std::string& path);

/// Opens `path` (absolute, normalised) only if it lies within one of `roots` (absolute, resolved
/// directories), without following a symbolic link at or below the root: the root is opened,
/// then each component with openat(O_NOFOLLOW), directories with O_DIRECTORY, the last with
/// O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY, so a FIFO or a device opens without blocking and the
/// caller decides from fstat() on the descriptor. Returns an invalid descriptor with errno set:
/// EACCES outside every root, ELOOP for a link, ENOENT, ENOTDIR, ...
FileDescriptor openWithin(const std::vector<std::string>& roots, std::string_view path);

/// mkdir -p (mode 0755). False with errno set if a component cannot be created.
bool makeDirectories(const std::string& path);

} // namespace serval::util
