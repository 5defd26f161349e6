#pragma once

#include "http/HttpResponse.h"
#include "servlets/MimeTypes.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <unordered_map>

namespace serval::servlets {

/// One regular file of the docBase, opened, checked to lie within the docBase, and described
/// by everything a response needs, computed once (validators, sizes, the bytes of small files).
/// OWNERSHIP: immutable once built; shared by the cache and by responses still sending it.
struct CachedFile
{
    std::shared_ptr<http::FileBody> file; ///< open fd for sendfile; null when inMemory
    std::string bytes;                    ///< the whole content when inMemory
    bool inMemory = false;
    uint64_t size = 0;
    std::time_t mtime = 0;    ///< seconds, for If-Modified-Since / If-Range dates
    std::string etag;         ///< W/"size-mtimeMillis" (Tomcat's weak form)
    std::string lastModified; ///< IMF-fixdate of mtime
    dev_t device = 0;         ///< identity, compared on revalidation (like nginx's uniq + mtime + size)
    ino_t inode = 0;
    int64_t mtimeNanos = 0;
};

/// What a docBase-relative path names: a file (with an optional precompressed sibling) or a
/// directory. Immutable except for the revalidation timestamp.
struct CachedResource
{
    enum class Kind
    {
        File,
        Directory
    };
    Kind kind = Kind::File;
    CachedFile identity;                       ///< the file itself (for a Directory: identity only)
    std::shared_ptr<const CachedFile> gzip;    ///< "x.gz" next to "x", if it is a regular file within docBase
    std::shared_ptr<const CachedFile> brotli;  ///< "x.br" next to "x", likewise
    std::string_view contentType;              ///< from MimeTypes (the cache holds the table alive)
    mutable std::atomic<int64_t> checkedAt{0}; ///< clock second of the last validation
    /// DefaultServlet's memo of compression::isEligible(settings, contentType, size) for the
    /// last connector's settings that asked: their address, bit 0 the verdict; 0 = none yet.
    /// Any thread (relaxed: a lost race only recomputes). Settings live as long as their
    /// Connector, longer than any request that reads this memo.
    mutable std::atomic<uintptr_t> eligibleUnder{0};
};

/// The DefaultServlet's open-file cache (nginx open_file_cache, with the validators and small
/// bodies of Tomcat's resource cache): relative path -> CachedResource, revalidated with one
/// stat() at most once per `validSeconds`, so the hot path is a hash lookup under a shard lock.
///
/// Safety: every path is opened with O_NOFOLLOW first. A symlink as the last component is then
/// followed only to be checked like everything else: the path of the *opened* descriptor
/// (/proc/self/fd) must lie within the docBase, compared component-wise (util::isWithin), so
/// symlinks (anywhere in the path) that lead out of the docBase are refused with no
/// check-then-open race, and links that stay inside work (as nginx's default). Only regular
/// files and directories are ever served; FIFOs, sockets and devices count as absent (opened
/// O_NONBLOCK so a FIFO cannot stall the I/O thread).
///
/// THREADS: find() from any thread (I/O threads and workers); 16 shards, each a mutex around an
/// unordered_map, held only for the lookup or the insert (file system calls happen outside).
/// OWNERSHIP: owned by one DefaultServlet (one per Context).
class OpenFileCache
{
public:
    struct Options
    {
        int validSeconds = 1;                ///< revalidate an entry at most this often; 0 = every time
        size_t maxEntries = 4096;            ///< over this, a shard drops an arbitrary entry
        uint64_t smallFileLimit = 16 * 1024; ///< files up to this size are kept in memory
        uint64_t maxMemoryBytes = 32 * 1024 * 1024; ///< total in-memory bytes; beyond, sendfile only
        int64_t (*clock)() = &OpenFileCache::monotonicSeconds; ///< injectable for tests
    };

    OpenFileCache(std::string docBase, std::shared_ptr<const MimeTypes> mimeTypes, Options options);
    ~OpenFileCache();
    OpenFileCache(const OpenFileCache&) = delete;
    OpenFileCache& operator=(const OpenFileCache&) = delete;

    /// `relativePath` is "/a/b.css", already checked by the caller (no "..", NUL, backslash,
    /// WEB-INF...). Returns the resource, or nullptr with `error` set to an errno value
    /// (ENOENT for anything that must look absent, such as a link out of the docBase).
    std::shared_ptr<const CachedResource> find(const std::string& relativePath, int& error);

    const std::string& docBase() const noexcept { return _docBase; }
    size_t entryCount() const;
    uint64_t memoryBytes() const noexcept { return _memoryBytes.load(std::memory_order_relaxed); }

    static int64_t monotonicSeconds() noexcept;

    /// Descriptors held open by every OpenFileCache of the process (files above the in-memory
    /// limit), and the most they may hold: a quarter of RLIMIT_NOFILE. A file that does not fit
    /// is served with a fresh descriptor and not cached, so the cache never starves accept().
    static std::atomic<int64_t>& cachedDescriptors() noexcept;
    static int64_t descriptorBudget() noexcept;

private:
    struct Shard
    {
        mutable std::mutex mutex;
        std::unordered_map<std::string, std::shared_ptr<const CachedResource>> entries;
    };

    std::shared_ptr<const CachedResource> load(const std::string& relativePath, int& error);
    std::shared_ptr<CachedFile> loadFile(const std::string& fullPath, bool allowDirectory, bool& isDirectory,
                                         int& error);
    bool stillValid(const std::string& relativePath, const CachedResource& resource) const;
    /// Inserts or replaces; false (nothing stored) if it would exceed the descriptor budget.
    bool store(Shard& shard, const std::string& relativePath, std::shared_ptr<const CachedResource> resource);
    /// Takes a removed entry out of the memory and descriptor accounting.
    void release(const CachedResource& resource) noexcept;
    static uint64_t memoryOf(const CachedResource& resource) noexcept;
    static int64_t descriptorsOf(const CachedResource& resource) noexcept;

    std::string _docBase; ///< realpath, no trailing slash
    std::shared_ptr<const MimeTypes> _mimeTypes;
    Options _options;
    size_t _maxPerShard;
    std::atomic<uint64_t> _memoryBytes{0};
    std::array<Shard, 16> _shards;
};

} // namespace serval::servlets
