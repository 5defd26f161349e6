#include "bundle/ContextName.h"

#include "util/Strings.h"

namespace serval::bundle {

namespace {

constexpr std::string_view kExtensions[] = {".tar.gz", ".sar", ".zip", ".tar", ".tgz"};

std::string_view stripExtension(std::string_view name)
{
    for (std::string_view ext : kExtensions) {
        if (name.size() > ext.size() && util::endsWith(util::toLower(name), ext)) {
            return name.substr(0, name.size() - ext.size());
        }
    }
    return name;
}

} // namespace

bool ContextName::isBundleFileName(std::string_view fileName) noexcept
{
    std::string lower = util::toLower(fileName);
    for (std::string_view ext : kExtensions) {
        if (lower.size() > ext.size() && util::endsWith(lower, ext)) return true;
    }
    return false;
}

std::optional<ContextName> ContextName::fromFileName(std::string_view fileName)
{
    if (fileName.empty() || fileName.front() == '.') return std::nullopt;
    for (char c : fileName) {
        auto u = static_cast<unsigned char>(c);
        if (c == '/' || c == '\\' || c == '%' || c == '?' || c == ';' || u < 0x20 || u == 0x7f)
            return std::nullopt;
    }
    std::string_view base = stripExtension(fileName);
    ContextName out;
    out.baseName = std::string(base);

    std::string_view name = base;
    size_t versionMark = base.find("##");
    if (versionMark != std::string_view::npos) {
        out.version = std::string(base.substr(versionMark + 2));
        name = base.substr(0, versionMark);
        if (out.version.empty() || out.version.find("##") != std::string::npos) return std::nullopt;
    }
    if (name.empty()) return std::nullopt;
    if (name == "ROOT") {
        out.path.clear();
        return out;
    }
    // Each '#' is a '/' in the context path; empty segments ("a##b" handled above, "#a", "a#")
    // are refused so that two names never map to the same path.
    std::string path;
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = name.find('#', start);
        if (end == std::string_view::npos) end = name.size();
        std::string_view segment = name.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == "..") return std::nullopt;
        path.push_back('/');
        path.append(segment);
        start = end + 1;
    }
    out.path = std::move(path);
    return out;
}

int ContextName::compareVersions(std::string_view a, std::string_view b) noexcept
{
    auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (isDigit(a[i]) && isDigit(b[j])) {
            size_t si = i, sj = j;
            while (si < a.size() && a[si] == '0')
                ++si;
            while (sj < b.size() && b[sj] == '0')
                ++sj;
            size_t ei = si, ej = sj;
            while (ei < a.size() && isDigit(a[ei]))
                ++ei;
            while (ej < b.size() && isDigit(b[ej]))
                ++ej;
            if (ei - si != ej - sj) return ei - si < ej - sj ? -1 : 1;
            int c = a.substr(si, ei - si).compare(b.substr(sj, ej - sj));
            if (c != 0) return c;
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
        ++i;
        ++j;
    }
    if (i < a.size()) return 1;
    if (j < b.size()) return -1;
    return 0;
}

std::string ContextName::unversionedBaseName() const
{
    size_t versionMark = baseName.find("##");
    return versionMark == std::string::npos ? baseName : baseName.substr(0, versionMark);
}

std::string ContextName::describe() const
{
    return version.empty() ? displayPath() : displayPath() + "##" + version;
}

std::string ContextName::appName(std::string_view fileName)
{
    auto name = fromFileName(fileName);
    return name ? name->unversionedBaseName() : std::string(fileName);
}

} // namespace serval::bundle
