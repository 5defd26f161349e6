#pragma once

#include <string>
#include <vector>

namespace serval::test {

/// Builds archives for the hostile-bundle corpus with libarchive's write side (tests only).
struct ArchiveEntry
{
    enum class Kind
    {
        File,
        Directory,
        Symlink,
        Hardlink,
        Fifo,
        CharDevice
    };
    std::string name;
    std::string content; ///< file content, or the link target
    Kind kind = Kind::File;
    long long declaredSize = -1; ///< -1: content.size()
};

enum class ArchiveFormat
{
    Zip,
    Tar,
    TarGz
};

/// Writes `entries` to `path` in `format`. Throws std::runtime_error on failure.
void writeArchive(const std::string& path, const std::vector<ArchiveEntry>& entries,
                  ArchiveFormat format = ArchiveFormat::Zip);

/// A file entry of `size` zero bytes (compresses to almost nothing: zip-bomb material).
ArchiveEntry zeros(const std::string& name, size_t size);
/// `size` pseudo-random bytes (xorshift, the same every run): content no compressor shrinks.
std::string incompressible(size_t size);

/// The smallest valid descriptor.
std::string minimalWebXml(const std::string& displayName = "test");

} // namespace serval::test
