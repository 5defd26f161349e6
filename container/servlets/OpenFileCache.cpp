#include "servlets/OpenFileCache.h"

#include "http/HttpDate.h"
#include "util/FileDescriptor.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <functional>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::servlets {

namespace {

int64_t nanosOf(const struct stat& st) noexcept
{
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

bool sameFile(const struct stat& st, const CachedFile& file) noexcept
{
    return st.st_dev == file.device && st.st_ino == file.inode && nanosOf(st) == file.mtimeNanos &&
           static_cast<uint64_t>(st.st_size) == file.size;
}

/// True if the open descriptor's actual path lies within `root`. Reads /proc/self/fd, which
/// names the file that was opened, so there is no window between check and use. Falls back to
/// realpath() of `fullPath` where /proc is not mounted.
bool openedWithin(int fd, const std::string& root, const std::string& fullPath)
{
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    char target[PATH_MAX];
    ssize_t n = ::readlink(link, target, sizeof target - 1);
    if (n > 0) return util::isWithin(root, std::string_view(target, static_cast<size_t>(n)));
    return util::resolveWithin(root, fullPath).has_value();
}

bool readAll(int fd, std::string& out, uint64_t size)
{
    out.resize(size);
    uint64_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false; // error, or truncated while reading: caller treats it as changed
        done += static_cast<uint64_t>(n);
    }
    return true;
}

} // namespace

int64_t OpenFileCache::monotonicSeconds() noexcept
{
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ts.tv_sec;
}

OpenFileCache::OpenFileCache(std::string docBase, std::shared_ptr<const MimeTypes> mimeTypes, Options options)
    : _docBase(std::move(docBase)), _mimeTypes(std::move(mimeTypes)), _options(options),
      _maxPerShard(std::max<size_t>(1, options.maxEntries / 16))
{
    // The configuration passes a realpath already; resolving again costs nothing here and
    // keeps the containment check correct if it did not.
    char buffer[PATH_MAX];
    if (::realpath(_docBase.c_str(), buffer) != nullptr) _docBase = buffer;
    while (_docBase.size() > 1 && _docBase.back() == '/')
        _docBase.pop_back();
    if (!_mimeTypes) _mimeTypes = std::make_shared<MimeTypes>();
}

OpenFileCache::~OpenFileCache()
{
    for (Shard& shard : _shards) {
        for (const auto& entry : shard.entries)
            release(*entry.second);
    }
}

std::shared_ptr<const CachedResource> OpenFileCache::find(const std::string& relativePath, int& error)
{
    Shard& shard = _shards[std::hash<std::string>{}(relativePath) % _shards.size()];
    std::shared_ptr<const CachedResource> cached;
    {
        std::lock_guard<std::mutex> lock(shard.mutex);
        auto it = shard.entries.find(relativePath);
        if (it != shard.entries.end()) cached = it->second;
    }
    int64_t now = _options.clock();
    if (cached) {
        int64_t checkedAt = cached->checkedAt.load(std::memory_order_relaxed);
        if (now - checkedAt < _options.validSeconds) return cached;
        if (stillValid(relativePath, *cached)) {
            cached->checkedAt.store(now, std::memory_order_relaxed);
            return cached;
        }
    }
    std::shared_ptr<const CachedResource> fresh = load(relativePath, error);
    if (fresh) {
        fresh->checkedAt.store(now, std::memory_order_relaxed);
        if (!store(shard, relativePath, fresh)) {
            // Over the process-wide descriptor budget: serve it this once, keep nothing.
            _memoryBytes.fetch_sub(memoryOf(*fresh), std::memory_order_relaxed);
        }
    } else if (cached) {
        std::lock_guard<std::mutex> lock(shard.mutex);
        auto it = shard.entries.find(relativePath);
        if (it != shard.entries.end() && it->second == cached) {
            release(*it->second);
            shard.entries.erase(it);
        }
    }
    return fresh;
}

size_t OpenFileCache::entryCount() const
{
    size_t count = 0;
    for (const Shard& shard : _shards) {
        std::lock_guard<std::mutex> lock(shard.mutex);
        count += shard.entries.size();
    }
    return count;
}

bool OpenFileCache::stillValid(const std::string& relativePath, const CachedResource& resource) const
{
    std::string fullPath = util::joinPath(_docBase, relativePath);
    struct stat st;
    if (::stat(fullPath.c_str(), &st) != 0 || !sameFile(st, resource.identity)) return false;
    if (resource.kind == CachedResource::Kind::Directory) return S_ISDIR(st.st_mode);
    for (const auto& [suffix, sibling] :
         {std::pair{".gz", resource.gzip.get()}, std::pair{".br", resource.brotli.get()}}) {
        const std::string siblingPath = fullPath + suffix;
        const bool exists = ::stat(siblingPath.c_str(), &st) == 0 && S_ISREG(st.st_mode);
        if (exists != (sibling != nullptr)) return false;
        if (exists && !sameFile(st, *sibling)) return false;
    }
    return true;
}

std::shared_ptr<CachedFile> OpenFileCache::loadFile(const std::string& fullPath, bool allowDirectory,
                                                    bool& isDirectory, int& error)
{
    isDirectory = false;
    constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    util::FileDescriptor fd(::open(fullPath.c_str(), kFlags | O_NOFOLLOW));
    if (!fd && errno == ELOOP) fd.reset(::open(fullPath.c_str(), kFlags)); // a link: checked below
    if (!fd) {
        error = errno;
        return nullptr;
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) {
        error = errno;
        return nullptr;
    }
    bool directory = S_ISDIR(st.st_mode);
    if ((!S_ISREG(st.st_mode) && !directory) || (directory && !allowDirectory) ||
        !openedWithin(fd.get(), _docBase, fullPath)) {
        error = ENOENT;
        return nullptr;
    }
    auto file = std::make_shared<CachedFile>();
    file->size = static_cast<uint64_t>(st.st_size);
    file->mtime = st.st_mtim.tv_sec;
    file->mtimeNanos = nanosOf(st);
    file->device = st.st_dev;
    file->inode = st.st_ino;
    isDirectory = directory;
    if (directory) return file;

    int64_t millis = file->mtimeNanos / 1000000;
    file->etag.reserve(48);
    file->etag.append("W/\"")
        .append(std::to_string(file->size))
        .append("-")
        .append(std::to_string(millis))
        .append("\"");
    file->lastModified = http::formatHttpDate(file->mtime);

    uint64_t used = _memoryBytes.load(std::memory_order_relaxed);
    if (file->size <= _options.smallFileLimit && used + file->size <= _options.maxMemoryBytes) {
        if (!readAll(fd.get(), file->bytes, file->size)) {
            error = EIO;
            return nullptr;
        }
        file->inMemory = true;
        _memoryBytes.fetch_add(file->size, std::memory_order_relaxed);
    } else {
        file->file = std::make_shared<http::FileBody>(fd.release());
    }
    return file;
}

std::shared_ptr<const CachedResource> OpenFileCache::load(const std::string& relativePath, int& error)
{
    std::string fullPath = util::joinPath(_docBase, relativePath);
    bool isDirectory = false;
    std::shared_ptr<CachedFile> file = loadFile(fullPath, true, isDirectory, error);
    if (!file) return nullptr;
    auto resource = std::make_shared<CachedResource>();
    resource->identity = std::move(*file);
    if (isDirectory) {
        resource->kind = CachedResource::Kind::Directory;
        return resource;
    }
    resource->contentType = _mimeTypes->lookup(relativePath);
    if (!util::endsWith(relativePath, ".gz") && !util::endsWith(relativePath, ".br")) {
        bool siblingIsDirectory = false;
        int siblingError = 0;
        resource->gzip = loadFile(fullPath + ".gz", false, siblingIsDirectory, siblingError);
        resource->brotli = loadFile(fullPath + ".br", false, siblingIsDirectory, siblingError);
    }
    return resource;
}

bool OpenFileCache::store(Shard& shard, const std::string& relativePath,
                          std::shared_ptr<const CachedResource> resource)
{
    int64_t fds = descriptorsOf(*resource);
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.entries.find(relativePath);
    if (it != shard.entries.end()) {
        release(*it->second);
        shard.entries.erase(it);
    } else if (shard.entries.size() >= _maxPerShard) {
        // Bounded, not LRU: a hot entry dropped here comes back on its next request.
        release(*shard.entries.begin()->second);
        shard.entries.erase(shard.entries.begin());
    }
    if (fds > 0 && cachedDescriptors().fetch_add(fds, std::memory_order_relaxed) + fds > descriptorBudget()) {
        cachedDescriptors().fetch_sub(fds, std::memory_order_relaxed);
        return false;
    }
    shard.entries.emplace(relativePath, std::move(resource));
    return true;
}

uint64_t OpenFileCache::memoryOf(const CachedResource& resource) noexcept
{
    uint64_t bytes = resource.identity.inMemory ? resource.identity.size : 0;
    if (resource.gzip && resource.gzip->inMemory) bytes += resource.gzip->size;
    if (resource.brotli && resource.brotli->inMemory) bytes += resource.brotli->size;
    return bytes;
}

int64_t OpenFileCache::descriptorsOf(const CachedResource& resource) noexcept
{
    return (resource.identity.file ? 1 : 0) + (resource.gzip && resource.gzip->file ? 1 : 0) +
           (resource.brotli && resource.brotli->file ? 1 : 0);
}

void OpenFileCache::release(const CachedResource& resource) noexcept
{
    _memoryBytes.fetch_sub(memoryOf(resource), std::memory_order_relaxed);
    cachedDescriptors().fetch_sub(descriptorsOf(resource), std::memory_order_relaxed);
}

std::atomic<int64_t>& OpenFileCache::cachedDescriptors() noexcept
{
    static std::atomic<int64_t> count{0};
    return count;
}

int64_t OpenFileCache::descriptorBudget() noexcept
{
    // A quarter of the descriptor limit, so cached files can never starve accept(): with
    // Debian's default soft limit of 1024 that is 256 open files across every Context.
    static const int64_t budget = [] {
        struct rlimit limit;
        if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return int64_t{256};
        if (limit.rlim_cur == RLIM_INFINITY) return int64_t{16384};
        return std::max<int64_t>(16, static_cast<int64_t>(limit.rlim_cur / 4));
    }();
    return budget;
}

} // namespace serval::servlets
