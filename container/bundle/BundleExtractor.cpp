#include "bundle/BundleExtractor.h"

#include "bundle/Checksum.h"
#include "util/FileDescriptor.h"
#include "util/Strings.h"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace serval::bundle {

namespace {

using util::failure;
using util::FileDescriptor;

struct ArchiveDeleter
{
    void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

/// Only the formats and filters a bundle may use: no raw, no 7z/rar/cpio/iso, no compress
/// programs run as child processes.
ArchivePtr newReader()
{
    ArchivePtr a(archive_read_new());
    if (!a) return a;
    archive_read_support_format_zip(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_gzip(a.get());
    return a;
}

/// The bundle's bytes as libarchive asks for them (its read and seek callbacks), hashed on
/// the way: every byte is hashed once, in file order, while it is read for the extraction, so
/// the checksum costs no second pass. The zip reader reads the central directory at the end
/// first and then the entries from the front; what was read out of order (that directory) is
/// read again by finish(), which hashes whatever was not hashed yet: only the tail in practice.
/// A file (fd owned by the caller) or bytes in memory; reads never go past the size seen at
/// open, so the checksum and the extraction cover the same bytes.
class ArchiveSource
{
public:
    ArchiveSource(int fd, uint64_t size) : _fd(fd), _size(size), _buffer(kBlock) {}
    ArchiveSource(const void* data, size_t size) : _memory(static_cast<const char*>(data)), _size(size) {}
    ArchiveSource(const ArchiveSource&) = delete;
    ArchiveSource& operator=(const ArchiveSource&) = delete;

    /// archive_read_open1 with this source's callbacks; returns its status.
    int open(archive* a)
    {
        archive_read_set_read_callback(a, &ArchiveSource::readCallback);
        archive_read_set_seek_callback(a, &ArchiveSource::seekCallback);
        archive_read_set_callback_data(a, this);
        return archive_read_open1(a);
    }

    /// Hashes what the extraction did not read in order and returns the SHA-256 (hex), or
    /// nullopt if the rest of the file cannot be read.
    std::optional<std::string> finish()
    {
        while (_hashed < _size) {
            const char* data = nullptr;
            ssize_t n = readAt(_hashed, data);
            if (n <= 0) return std::nullopt;
            hash(_hashed, data, static_cast<size_t>(n));
        }
        return _sha.hex();
    }

private:
    static constexpr size_t kBlock = 64 * 1024;

    static la_ssize_t readCallback(archive* a, void* self, const void** block)
    {
        auto* source = static_cast<ArchiveSource*>(self);
        const char* data = nullptr;
        ssize_t n = source->readAt(source->_position, data);
        if (n < 0) {
            archive_set_error(a, errno, "read error: %s", std::strerror(errno));
            return ARCHIVE_FATAL;
        }
        source->hash(source->_position, data, static_cast<size_t>(n));
        source->_position += static_cast<uint64_t>(n);
        *block = data;
        return n;
    }

    static la_int64_t seekCallback(archive*, void* self, la_int64_t offset, int whence)
    {
        auto* source = static_cast<ArchiveSource*>(self);
        la_int64_t base = whence == SEEK_SET   ? 0
                          : whence == SEEK_CUR ? static_cast<la_int64_t>(source->_position)
                                               : static_cast<la_int64_t>(source->_size);
        la_int64_t target = base + offset;
        if (target < 0) return ARCHIVE_FATAL;
        source->_position = std::min(static_cast<uint64_t>(target), source->_size);
        return static_cast<la_int64_t>(source->_position);
    }

    /// Up to one block at `offset`; 0 at the end, -1 (errno set) on a read error.
    ssize_t readAt(uint64_t offset, const char*& data)
    {
        size_t want = static_cast<size_t>(std::min<uint64_t>(kBlock, _size - std::min(offset, _size)));
        if (_memory != nullptr) {
            data = _memory + offset;
            return static_cast<ssize_t>(want);
        }
        data = _buffer.data();
        while (true) {
            ssize_t n = ::pread(_fd, _buffer.data(), want, static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) continue;
            return n;
        }
    }

    /// Feeds the part of [offset, offset + size) that continues the hashed prefix.
    void hash(uint64_t offset, const char* data, size_t size)
    {
        if (offset > _hashed || offset + size <= _hashed) return;
        size_t skip = static_cast<size_t>(_hashed - offset);
        _sha.update(data + skip, size - skip);
        _hashed = offset + size;
    }

    int _fd = -1;
    const char* _memory = nullptr;
    uint64_t _size = 0;
    uint64_t _position = 0; ///< where the next read starts
    uint64_t _hashed = 0;   ///< bytes [0, _hashed) are in _sha
    std::vector<char> _buffer;
    Sha256 _sha;
};

/// Entry names are hostile: show them with control bytes escaped so a message stays one line.
std::string quoteName(std::string_view name)
{
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            out += "\\x";
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 15]);
        } else if (c == '"') {
            out += "\\\"";
        } else {
            out.push_back(c);
        }
        if (out.size() > 200) {
            out += "...";
            break;
        }
    }
    out.push_back('"');
    return out;
}

std::string formatBytes(uint64_t bytes)
{
    if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
    if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
    return std::to_string(bytes) + " bytes";
}

/// One run over one archive into one staging directory.
class Extraction
{
public:
    Extraction(const ExtractionLimits& limits, std::string_view label, int rootFd)
        : _limits(limits), _label(label), _rootFd(rootFd)
    {}

    util::Expected<ExtractionResult> run(archive* a);

private:
    struct Node
    {
        std::string actual; ///< the name as the archive spelled it
        bool directory = false;
        bool explicitEntry = false; ///< named by an entry (not only implied by a file below it)
    };

    bool fail(std::string message)
    {
        _error = _label + ": " + std::move(message);
        return false;
    }
    bool failEntry(std::string_view name, std::string_view what)
    {
        return fail("entry " + quoteName(name) + " " + std::string(what));
    }

    /// Registers `path` (normalised) as a node; refuses duplicates and case-only duplicates.
    bool claim(const std::string& path, bool directory, bool explicitEntry, bool& existed);
    /// Creates (if needed) the directory `path` and every parent; returns its fd (borrowed from
    /// the cache) or -1 with _error set.
    int directoryFd(const std::string& path, bool explicitEntry);
    bool writeFile(archive* a, archive_entry* entry, const std::string& path);

    const ExtractionLimits& _limits;
    std::string _label;
    int _rootFd;
    std::string _error;
    std::unordered_map<std::string, Node> _nodes; ///< key: lower-case normalised path
    /// Open directories by path. Bounded: cleared when it grows past kMaxCachedDirs, so a
    /// bundle with thousands of directories does not exhaust file descriptors.
    std::unordered_map<std::string, FileDescriptor> _dirFds;
    static constexpr size_t kMaxCachedDirs = 64;
    ExtractionResult _result;
};

bool Extraction::claim(const std::string& path, bool directory, bool explicitEntry, bool& existed)
{
    existed = false;
    std::string key = util::toLower(path);
    auto it = _nodes.find(key);
    if (it == _nodes.end()) {
        _nodes.emplace(std::move(key), Node{path, directory, explicitEntry});
        return true;
    }
    Node& node = it->second;
    if (node.actual != path) {
        return failEntry(path, "differs from entry " + quoteName(node.actual) +
                                   " only in letter case; rename one of them so the bundle unpacks the "
                                   "same on every file system");
    }
    if (node.directory != directory) {
        return failEntry(path, directory ? "is a directory but the bundle also holds a file of that name; "
                                           "rebuild the bundle so each path appears once"
                                         : "is a file but the bundle also holds a directory of that name; "
                                           "rebuild the bundle so each path appears once");
    }
    if (explicitEntry && node.explicitEntry) {
        return failEntry(path, "appears twice; rebuild the bundle so each path appears once");
    }
    node.explicitEntry = node.explicitEntry || explicitEntry;
    existed = true;
    return true;
}

int Extraction::directoryFd(const std::string& path, bool explicitEntry)
{
    if (path.empty()) return _rootFd;
    auto cached = _dirFds.find(path);
    if (cached != _dirFds.end() && !explicitEntry) return cached->second.get();

    size_t slash = path.rfind('/');
    std::string parent = slash == std::string::npos ? std::string() : path.substr(0, slash);
    std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
    bool existed = false;
    if (!claim(path, true, explicitEntry, existed)) return -1;
    if (cached != _dirFds.end()) return cached->second.get();

    int parentFd = directoryFd(parent, false);
    if (parentFd < 0) return -1;
    if (!existed) {
        if (::mkdirat(parentFd, leaf.c_str(), 0755) != 0) {
            fail("cannot create directory " + quoteName(path) + ": " + std::strerror(errno) +
                 "; check free space and permissions of the work directory");
            return -1;
        }
        ++_result.directories;
    }
    FileDescriptor fd(::openat(parentFd, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        fail("cannot open directory " + quoteName(path) + ": " + std::strerror(errno));
        return -1;
    }
    if (!existed) ::fchmod(fd.get(), 0755); // mode forced regardless of umask or archive
    if (_dirFds.size() >= kMaxCachedDirs) {
        // Keep it simple: drop everything but what the caller still holds (parentFd is not used
        // after this point by our callers).
        _dirFds.clear();
    }
    int raw = fd.get();
    _dirFds[path] = std::move(fd);
    return raw;
}

bool Extraction::writeFile(archive* a, archive_entry* entry, const std::string& path)
{
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0 &&
        static_cast<uint64_t>(archive_entry_size(entry)) > _limits.maxFileBytes) {
        return failEntry(path, "is larger than " + formatBytes(_limits.maxFileBytes) +
                                   " (maxBundleFileSize); raise the limit on the Host or leave the file out");
    }
    bool existed = false;
    if (!claim(path, false, true, existed)) return false;

    size_t slash = path.rfind('/');
    std::string parent = slash == std::string::npos ? std::string() : path.substr(0, slash);
    std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
    int parentFd = directoryFd(parent, false);
    if (parentFd < 0) return false;

    FileDescriptor fd(
        ::openat(parentFd, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) {
        return fail("cannot create " + quoteName(path) + ": " + std::strerror(errno) +
                    "; check free space and permissions of the work directory");
    }
    ::fchmod(fd.get(), 0644);
    ++_result.files;

    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    while (true) {
        int rc = archive_read_data_block(a, &block, &size, &offset);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN) {
            return failEntry(path, std::string("cannot be read: ") + archive_error_string(a) +
                                       "; the archive is damaged or truncated: rebuild or re-upload it");
        }
        if (offset < 0) return failEntry(path, "has a negative data offset; rebuild the bundle");
        uint64_t start = static_cast<uint64_t>(offset);
        if (start > _limits.maxFileBytes || size > _limits.maxFileBytes - start) {
            return failEntry(path,
                             "is larger than " + formatBytes(_limits.maxFileBytes) +
                                 " (maxBundleFileSize); raise the limit on the Host or leave the file out");
        }
        if (size > _limits.maxTotalBytes - _result.bytes) {
            return fail("unpacks to more than " + formatBytes(_limits.maxTotalBytes) +
                        " (maxBundleBytes); raise the limit on the Host or make the bundle smaller");
        }
        // pwrite at the block's offset: sparse tar entries leave holes instead of zeros.
        const char* p = static_cast<const char*>(block);
        size_t left = size;
        while (left > 0) {
            ssize_t n = ::pwrite(fd.get(), p, left, static_cast<off_t>(start));
            if (n < 0) {
                if (errno == EINTR) continue;
                return fail("cannot write " + quoteName(path) + ": " + std::strerror(errno) +
                            "; check free space in the work directory");
            }
            p += n;
            left -= static_cast<size_t>(n);
            start += static_cast<uint64_t>(n);
        }
        _result.bytes += size;
    }
    return true;
}

util::Expected<ExtractionResult> Extraction::run(archive* a)
{
    bool ok = true;
    bool sawHeader = false;
    while (ok) {
        archive_entry* entry = nullptr;
        int rc = archive_read_next_header(a, &entry);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN) {
            const char* why = archive_error_string(a);
            std::string detail = why ? why : "unknown error";
            if (!sawHeader) {
                ok = fail("not a zip or tar archive, or damaged at its start (" + detail +
                          "); build the bundle with `servalctl pack` or serval_add_bundle()");
            } else {
                ok = fail("archive is damaged or truncated after " + std::to_string(_result.entries) +
                          " entries (" + detail + "); rebuild or re-upload the bundle");
            }
            break;
        }
        sawHeader = true;
        if (++_result.entries > _limits.maxEntries) {
            ok = fail("holds more than " + std::to_string(_limits.maxEntries) +
                      " entries (maxBundleEntries); raise the limit on the Host or make the bundle smaller");
            break;
        }

        const char* rawName = archive_entry_pathname(entry);
        if (rawName == nullptr) rawName = archive_entry_pathname_utf8(entry);
        if (rawName == nullptr) {
            ok = fail("entry " + std::to_string(_result.entries) +
                      " has a name that cannot be read; rebuild the bundle with UTF-8 names");
            break;
        }
        std::string_view name(rawName);
        util::Expected<std::string> checked = BundleExtractor::checkEntryName(name);
        if (!checked) {
            ok = failEntry(name, checked.error());
            break;
        }
        const std::string& path = *checked;
        if (archive_entry_is_encrypted(entry)) {
            ok = failEntry(name, "is encrypted; bundles cannot be encrypted: rebuild it without a password");
            break;
        }
        if (archive_entry_hardlink(entry) != nullptr) {
            ok = failEntry(name, "is a hard link; bundles may hold only regular files and directories: "
                                 "store the file itself");
            break;
        }
        if (archive_entry_symlink(entry) != nullptr) {
            ok = failEntry(name, "is a symbolic link; bundles may hold only regular files and directories: "
                                 "replace the link with a copy of its target");
            break;
        }
        switch (archive_entry_filetype(entry)) {
        case AE_IFDIR:
            ok = directoryFd(path, true) >= 0;
            break;
        case AE_IFREG:
            ok = writeFile(a, entry, path);
            break;
        case AE_IFLNK:
            ok = failEntry(name, "is a symbolic link; bundles may hold only regular files and directories: "
                                 "replace the link with a copy of its target");
            break;
        case AE_IFCHR:
        case AE_IFBLK:
            ok = failEntry(name, "is a device node; remove it from the bundle");
            break;
        case AE_IFIFO:
            ok = failEntry(name, "is a FIFO; remove it from the bundle");
            break;
        case AE_IFSOCK:
            ok = failEntry(name, "is a socket; remove it from the bundle");
            break;
        default:
            ok = failEntry(name, "has an unknown file type; bundles may hold only regular files and "
                                 "directories");
            break;
        }
    }
    if (!ok) return failure(_error);
    if (::fchmod(_rootFd, 0755) != 0)
        return failure(_label + ": cannot set the mode of the staging directory: " + std::strerror(errno));
    return _result;
}

/// Creates `stagingDir` (which must not exist yet), runs `fill` on its descriptor, and removes
/// it again if `fill` fails: the one way bundles and exploded directories are staged.
template <typename Fill>
util::Expected<ExtractionResult> intoStaging(const std::string& stagingDir, std::string_view label, Fill fill)
{
    std::string name(label);
    if (::mkdir(stagingDir.c_str(), 0700) != 0) {
        return failure(name + ": cannot create staging directory " + stagingDir + ": " +
                       std::strerror(errno) + "; check that the work directory exists and is writable");
    }
    util::Expected<ExtractionResult> result = failure(name + ": cannot open staging directory " + stagingDir);
    {
        FileDescriptor root(::open(stagingDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!root) {
            result =
                failure(name + ": cannot open staging directory " + stagingDir + ": " + std::strerror(errno));
        } else {
            result = fill(root.get());
        }
    }
    if (!result) removeTree(stagingDir);
    return result;
}

util::Expected<ExtractionResult> extractFrom(const ExtractionLimits& limits, ArchiveSource& source,
                                             const std::string& stagingDir, std::string_view label)
{
    std::string name(label);
    ArchivePtr a = newReader();
    if (!a) return failure(name + ": out of memory");
    if (source.open(a.get()) != ARCHIVE_OK) {
        const char* why = archive_error_string(a.get());
        std::string detail = why ? why : "unknown error";
        // libarchive reports an unknown format as EILSEQ (its ARCHIVE_ERRNO_FILE_FORMAT).
        if (archive_errno(a.get()) == EILSEQ ||
            detail.find("Unrecognized archive format") != std::string::npos) {
            return failure(name + ": not a zip or tar archive (" + detail +
                           "); build the bundle with `servalctl pack` or serval_add_bundle()");
        }
        return failure(name + ": cannot open the bundle (" + detail +
                       "); check that the file exists and is readable");
    }
    return intoStaging(stagingDir, label, [&](int rootFd) -> util::Expected<ExtractionResult> {
        Extraction extraction(limits, label, rootFd);
        util::Expected<ExtractionResult> result = extraction.run(a.get());
        if (!result) return result;
        std::optional<std::string> sha256 = source.finish();
        if (!sha256) {
            return failure(name + ": cannot be read (" + std::strerror(errno) + "); check its permissions");
        }
        result->sha256 = std::move(*sha256);
        return result;
    });
}

/// Removes everything inside the directory `dirFd` (which it takes ownership of).
bool removeContents(int dirFd)
{
    DIR* dir = ::fdopendir(dirFd);
    if (dir == nullptr) {
        ::close(dirFd);
        return false;
    }
    bool ok = true;
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        names.emplace_back(e->d_name);
    }
    int fd = ::dirfd(dir);
    for (const std::string& n : names) {
        if (::unlinkat(fd, n.c_str(), 0) == 0) continue;
        if (errno != EISDIR && errno != EPERM) {
            if (errno != ENOENT) ok = false;
            continue;
        }
        int child = ::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0) {
            ok = false;
            continue;
        }
        if (!removeContents(child)) ok = false;
        if (::unlinkat(fd, n.c_str(), AT_REMOVEDIR) != 0) ok = false;
    }
    ::closedir(dir);
    return ok;
}

/// Recursive copy for copyDirectory() (both sides are directory fds; nothing is followed) and
/// the walk of checksumDirectory() (no target: targetFd < 0). Names are visited in sorted order
/// and hashed with what they hold, so the checksum names one tree whatever order readdir() gives.
class DirectoryCopy
{
public:
    DirectoryCopy(const ExtractionLimits& limits, std::string_view label) : _limits(limits), _label(label) {}

    bool copy(int sourceFd, int targetFd, const std::string& relative)
    {
        DIR* dir = ::fdopendir(::dup(sourceFd));
        if (dir == nullptr) return fail("cannot read " + quoteName(relative) + ": " + std::strerror(errno));
        std::vector<std::string> names;
        while (dirent* e = ::readdir(dir)) {
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                names.emplace_back(e->d_name);
        }
        ::closedir(dir);
        std::sort(names.begin(), names.end());
        for (const std::string& name : names) {
            std::string rel = relative.empty() ? name : relative + "/" + name;
            if (++_result.entries > _limits.maxEntries) {
                return fail(
                    "holds more than " + std::to_string(_limits.maxEntries) +
                    " entries (maxBundleEntries); raise the limit on the Host or make the app smaller");
            }
            util::Expected<std::string> checked = BundleExtractor::checkEntryName(rel);
            if (!checked) return fail("entry " + quoteName(rel) + " " + checked.error());
            struct stat st;
            if (::fstatat(sourceFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                return fail("cannot read " + quoteName(rel) + ": " + std::strerror(errno));
            }
            if (S_ISLNK(st.st_mode)) {
                return fail(
                    "entry " + quoteName(rel) +
                    " is a symbolic link; apps may hold only regular files and directories: replace the "
                    "link with a copy of its target");
            }
            if (S_ISDIR(st.st_mode)) {
                _sha.update("D", 1);
                _sha.update(rel.c_str(), rel.size() + 1);
                if (targetFd >= 0 && ::mkdirat(targetFd, name.c_str(), 0755) != 0) {
                    return fail("cannot create directory " + quoteName(rel) + ": " + std::strerror(errno));
                }
                FileDescriptor src(
                    ::openat(sourceFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                FileDescriptor dst(targetFd < 0 ? -1
                                                : ::openat(targetFd, name.c_str(),
                                                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!src || (targetFd >= 0 && !dst))
                    return fail("cannot open directory " + quoteName(rel) + ": " + std::strerror(errno));
                if (dst) ::fchmod(dst.get(), 0755);
                ++_result.directories;
                if (!copy(src.get(), dst.get(), rel)) return false;
                continue;
            }
            if (!S_ISREG(st.st_mode)) return notRegular(rel);
            if (static_cast<uint64_t>(st.st_size) > _limits.maxFileBytes) return tooLarge(rel);
            if (!copyFile(sourceFd, targetFd, name, rel)) return false;
        }
        return true;
    }

    /// The digest of everything copy() visited; call once, after it.
    std::string checksum() { return _sha.hex(); }

    ExtractionResult _result;
    std::string _error;

private:
    bool fail(std::string message)
    {
        _error = _label + ": " + std::move(message);
        return false;
    }
    bool notRegular(const std::string& rel)
    {
        return fail("entry " + quoteName(rel) +
                    " is not a regular file or directory; remove it from the app");
    }
    bool tooLarge(const std::string& rel)
    {
        return fail("entry " + quoteName(rel) + " is larger than " + formatBytes(_limits.maxFileBytes) +
                    " (maxBundleFileSize); raise the limit on the Host or leave the file out");
    }

    bool copyFile(int sourceFd, int targetFd, const std::string& name, const std::string& rel)
    {
        // O_NONBLOCK and the fstat(): a file swapped for a FIFO or device since fstatat() is
        // refused instead of blocking the deploy.
        FileDescriptor src(::openat(sourceFd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        if (!src) return fail("cannot read " + quoteName(rel) + ": " + std::strerror(errno));
        struct stat st;
        if (::fstat(src.get(), &st) != 0 || !S_ISREG(st.st_mode)) return notRegular(rel);
        FileDescriptor dst;
        if (targetFd >= 0) {
            dst.reset(
                ::openat(targetFd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
            if (!dst) return fail("cannot create " + quoteName(rel) + ": " + std::strerror(errno));
            ::fchmod(dst.get(), 0644);
        }
        ++_result.files;
        _sha.update("F", 1);
        _sha.update(rel.c_str(), rel.size() + 1);
        uint64_t written = 0;
        char buffer[64 * 1024];
        while (true) {
            ssize_t n = ::read(src.get(), buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail("cannot read " + quoteName(rel) + ": " + std::strerror(errno));
            if (n == 0) break;
            written += static_cast<uint64_t>(n);
            if (written > _limits.maxFileBytes) return tooLarge(rel);
            if (static_cast<uint64_t>(n) > _limits.maxTotalBytes - _result.bytes) {
                return fail("holds more than " + formatBytes(_limits.maxTotalBytes) +
                            " (maxBundleBytes); raise the limit on the Host or make the app smaller");
            }
            _result.bytes += static_cast<uint64_t>(n);
            _sha.update(buffer, static_cast<size_t>(n));
            const char* p = buffer;
            while (dst && n > 0) {
                ssize_t w = ::write(dst.get(), p, static_cast<size_t>(n));
                if (w < 0 && errno == EINTR) continue;
                if (w < 0) return fail("cannot write " + quoteName(rel) + ": " + std::strerror(errno));
                p += w;
                n -= w;
            }
        }
        // The length ends the file's part of the digest: "ab"+"c" and "a"+"bc" differ.
        std::string length = ":" + std::to_string(written) + "\n";
        _sha.update(length.data(), length.size());
        return true;
    }

    const ExtractionLimits& _limits;
    std::string _label;
    Sha256 _sha;
};

} // namespace

util::Expected<ExtractionResult> BundleExtractor::copyDirectory(const std::string& sourceDir,
                                                                const std::string& stagingDir,
                                                                std::string_view label) const
{
    FileDescriptor source(::open(sourceDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!source)
        return failure(std::string(label) + ": cannot read the app directory (" + std::strerror(errno) + ")");
    return copyDirectory(source.get(), stagingDir, label);
}

util::Expected<ExtractionResult> BundleExtractor::copyDirectory(int sourceFd, const std::string& stagingDir,
                                                                std::string_view label) const
{
    return intoStaging(stagingDir, label, [&](int targetFd) -> util::Expected<ExtractionResult> {
        DirectoryCopy copy(_limits, label);
        if (!copy.copy(sourceFd, targetFd, "")) return failure(copy._error);
        ::fchmod(targetFd, 0755);
        copy._result.sha256 = copy.checksum();
        return copy._result;
    });
}

util::Expected<std::string> BundleExtractor::checksumDirectory(const std::string& sourceDir,
                                                               std::string_view label) const
{
    FileDescriptor source(::open(sourceDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!source)
        return failure(std::string(label) + ": cannot read the app directory (" + std::strerror(errno) + ")");
    DirectoryCopy walk(_limits, label);
    if (!walk.copy(source.get(), -1, "")) return failure(walk._error);
    return walk.checksum();
}

util::Expected<std::string> BundleExtractor::checkEntryName(std::string_view name)
{
    if (name.empty()) return failure("has an empty name; rebuild the bundle");
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (c == '\0' || u < 0x20 || u == 0x7f)
            return failure("holds a NUL or control character in its name; rename the file");
        if (c == '\\') return failure("holds a backslash; rebuild the bundle with '/' as the path separator");
    }
    if (name.front() == '/')
        return failure("is an absolute path; rebuild the bundle with paths relative to its root");
    std::string normalised;
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = name.find('/', start);
        if (end == std::string_view::npos) end = name.size();
        std::string_view part = name.substr(start, end - start);
        if (part == "..")
            return failure("leaves the bundle; rebuild the bundle without parent-directory entries");
        if (!part.empty() && part != ".") {
            if (!normalised.empty()) normalised.push_back('/');
            normalised.append(part);
        }
        start = end + 1;
    }
    if (normalised.empty()) return failure("names the bundle root itself; rebuild the bundle");
    return normalised;
}

util::Expected<ExtractionResult> BundleExtractor::extractFile(const std::string& archivePath,
                                                              const std::string& stagingDir,
                                                              std::string_view label) const
{
    FileDescriptor fd(::open(archivePath.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0) {
        return failure(std::string(label) + ": cannot open the bundle (" + std::strerror(errno) +
                       "); check that the file exists and is readable");
    }
    ArchiveSource source(fd.get(), static_cast<uint64_t>(st.st_size));
    return extractFrom(_limits, source, stagingDir, label);
}

util::Expected<ExtractionResult> BundleExtractor::extractMemory(const void* data, size_t size,
                                                                const std::string& stagingDir,
                                                                std::string_view label) const
{
    ArchiveSource source(data, size);
    return extractFrom(_limits, source, stagingDir, label);
}

bool removeTree(const std::string& path)
{
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return true;
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = removeContents(fd);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) ok = false;
    return ok;
}

} // namespace serval::bundle
