#include "util/Path.h"

#include "util/Strings.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <vector>

namespace serval::util {

std::optional<std::string> normalizeUriPath(std::string_view path)
{
    if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos) {
        return std::nullopt;
    }
    bool trailingSlash = !path.empty() && path.back() == '/';
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view part = path.substr(start, end - start);
        if (part.empty() || part == ".") {
            // skip
        } else if (part == "..") {
            if (parts.empty()) return std::nullopt;
            parts.pop_back();
        } else {
            parts.push_back(part);
        }
        start = end + 1;
    }
    std::string out;
    out.reserve(path.size() + 1);
    for (std::string_view part : parts) {
        out.push_back('/');
        out.append(part);
    }
    if (out.empty() || (trailingSlash && out.back() != '/')) out.push_back('/');
    // "/a/.." with a trailing "." component ("/a/.") still denotes a directory: keep the slash.
    if (!trailingSlash && !path.empty()) {
        std::string_view last = path.substr(path.rfind('/') + 1);
        if ((last == "." || last == "..") && out.back() != '/') out.push_back('/');
    }
    return out;
}

bool isWithin(std::string_view root, std::string_view candidate) noexcept
{
    while (root.size() > 1 && root.back() == '/')
        root.remove_suffix(1);
    if (root.empty() || root.front() != '/' || candidate.empty() || candidate.front() != '/') return false;
    if (root == "/") return true;
    if (candidate.size() < root.size()) return false;
    if (candidate.compare(0, root.size(), root) != 0) return false;
    return candidate.size() == root.size() || candidate[root.size()] == '/';
}

bool hasComponentIgnoreCase(std::string_view path, std::string_view name) noexcept
{
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        if (equalsIgnoreCase(path.substr(start, end - start), name)) return true;
        start = end + 1;
    }
    return false;
}

std::string joinPath(std::string_view root, std::string_view uriPath)
{
    std::string out(root);
    while (!out.empty() && out.back() == '/')
        out.pop_back();
    if (uriPath.empty() || uriPath.front() != '/') out.push_back('/');
    out.append(uriPath);
    return out;
}

std::optional<std::string> resolveWithin(const std::string& rootReal, const std::string& path)
{
    char buffer[PATH_MAX];
    if (::realpath(path.c_str(), buffer) == nullptr) return std::nullopt;
    std::string resolved(buffer);
    if (!isWithin(rootReal, resolved)) return std::nullopt;
    return resolved;
}

FileDescriptor openWithin(const std::vector<std::string>& roots, std::string_view path)
{
    auto normalized = normalizeUriPath(path);
    if (path.empty() || path.front() != '/' || !normalized || *normalized != path) {
        errno = EINVAL; // ".", "..", "//" or a trailing slash: the caller names files plainly
        return FileDescriptor();
    }
    const std::string* root = nullptr;
    for (const std::string& candidate : roots) {
        if (isWithin(candidate, path) && (root == nullptr || candidate.size() > root->size()))
            root = &candidate;
    }
    if (root == nullptr) {
        errno = EACCES;
        return FileDescriptor();
    }
    FileDescriptor current(::open(root->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::string_view rest = path.substr(root->size() == 1 ? 1 : root->size());
    while (current && !rest.empty()) {
        if (rest.front() == '/') rest.remove_prefix(1);
        size_t slash = rest.find('/');
        std::string name(rest.substr(0, slash));
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
        int flags = O_NOFOLLOW | O_CLOEXEC |
                    (rest.empty() ? O_RDONLY | O_NONBLOCK | O_NOCTTY : O_RDONLY | O_DIRECTORY);
        current.reset(::openat(current.get(), name.c_str(), flags));
    }
    return current;
}

bool makeDirectories(const std::string& path)
{
    for (size_t pos = 1; pos != std::string::npos;) {
        pos = path.find('/', pos + 1);
        std::string part = path.substr(0, pos);
        if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
    return true;
}

} // namespace serval::util
