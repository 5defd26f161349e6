#pragma once

#include "bundle/ExtractionLimits.h"
#include "util/Expected.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace serval::bundle {

/// What an extraction produced.
struct ExtractionResult
{
    uint64_t entries = 0;     ///< headers read
    uint64_t files = 0;       ///< regular files written
    uint64_t directories = 0; ///< directories created (explicit or implied)
    uint64_t bytes = 0;       ///< bytes written
    /// SHA-256 (hex) of the archive, computed while it was read (the registry's checksum); for
    /// copyDirectory(), of the tree's names and contents (checksumDirectory()'s value).
    std::string sha256;
};

/// Unpacks a bundle (zip, tar, tar.gz: detected by content) into a fresh staging directory.
///
/// A bundle is hostile input. Only libarchive's read side is used (its disk writer calls
/// umask(), a process-wide race in a threaded server). Every entry name is checked
/// (checkEntryName), only regular files and directories are accepted, duplicates (also
/// case-only ones) are refused, and files are created with openat(O_CREAT|O_EXCL|O_NOFOLLOW)
/// relative to directory descriptors this extractor created itself, so nothing is ever
/// written through a link or outside the staging directory. Modes are forced: 0755 for
/// directories, 0644 for files.
///
/// Called on the deployer's control thread (and by servalctl); holds no state between calls,
/// so one instance may be shared by threads that extract different bundles.
class BundleExtractor
{
public:
    explicit BundleExtractor(ExtractionLimits limits = {}) : _limits(limits) {}

    /// Extracts `archivePath` into `stagingDir`, which must not exist yet (its parent must),
    /// reading the archive once (the checksum comes from the same reads). `label` names the
    /// bundle in messages ("shop.sar"). A failure is one actionable line; `stagingDir` is
    /// removed again.
    util::Expected<ExtractionResult> extractFile(const std::string& archivePath,
                                                 const std::string& stagingDir, std::string_view label) const;

    /// The same for a bundle held in memory (an upload). `data` must stay valid for the call.
    util::Expected<ExtractionResult>
    extractMemory(const void* data, size_t size, const std::string& stagingDir, std::string_view label) const;

    /// Copies an exploded app directory into `stagingDir` (which must not exist yet) with the
    /// same rules: regular files and directories only (a symlink, device or FIFO is refused),
    /// the same caps, files created with O_EXCL|O_NOFOLLOW, modes forced. Used so that every
    /// version of an exploded app with libraries loads from its own path.
    util::Expected<ExtractionResult>
    copyDirectory(const std::string& sourceDir, const std::string& stagingDir, std::string_view label) const;
    /// The same from an open directory (a deploy by server path opened it without following links).
    util::Expected<ExtractionResult> copyDirectory(int sourceFd, const std::string& stagingDir,
                                                   std::string_view label) const;
    /// What copyDirectory() would put in ExtractionResult::sha256, read without copying (the
    /// start-up check that an exploded app is unchanged since its copy was made). Same rules and
    /// caps; a failure is one actionable line.
    util::Expected<std::string> checksumDirectory(const std::string& sourceDir, std::string_view label) const;

    /// Checks one entry name and returns it normalised: "./" components and a trailing '/'
    /// stripped. Refuses (the reason is a sentence fragment saying why and what to do) empty
    /// names, absolute paths, "..", backslashes, NUL and control characters.
    static util::Expected<std::string> checkEntryName(std::string_view name);

    const ExtractionLimits& limits() const noexcept { return _limits; }

private:
    ExtractionLimits _limits;
};

/// Removes a directory tree without following symlinks (unlinkat relative to opened
/// directory fds). Returns false if something could not be removed. Missing path = true.
bool removeTree(const std::string& path);

} // namespace serval::bundle
