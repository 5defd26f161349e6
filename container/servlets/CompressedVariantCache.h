#pragma once

#include "compression/ContentCoding.h"
#include "servlets/OpenFileCache.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace serval::servlets {

/// Compressed variants (br, gzip) of a Context's compressible static files, made once at the
/// best effort (brotli 11, gzip 9) and served from memory: never recompressed per request, and
/// never compressed on an I/O loop. A miss answers identity now and queues the file for the
/// cache's own background thread; the next request after the fill gets the variant.
///
/// Key: docBase-relative path, size, mtime (ns) and coding, so a changed file is a new key and
/// its old variants are never served (they leave when the byte budget needs room). A file whose
/// variant would not be smaller is remembered as such and served identity.
///
/// THREADS: find() and schedule() from any request thread (a short mutex); one background
/// thread at a time, started on demand and ending when its queue is empty; the destructor
/// stops it (a file being compressed finishes first).
/// OWNERSHIP: owned by one DefaultServlet; the variants it returns are shared with responses.
class CompressedVariantCache
{
public:
    struct Options
    {
        uint64_t maxBytes = 32 * 1024 * 1024;   ///< variant bytes held; over it, arbitrary ones leave
        uint64_t maxFileSize = 8 * 1024 * 1024; ///< larger files are served identity
        size_t maxQueue = 256;                  ///< files waiting; beyond, a miss is not queued
    };

    explicit CompressedVariantCache(Options options);
    ~CompressedVariantCache();
    CompressedVariantCache(const CompressedVariantCache&) = delete;
    CompressedVariantCache& operator=(const CompressedVariantCache&) = delete;

    enum class Lookup
    {
        Hit,     ///< `variant` is set
        Useless, ///< compressing does not pay for this file: serve identity
        Miss     ///< not there (yet): serve identity, schedule()
    };
    Lookup find(const std::string& path, const CachedFile& identity, compression::ContentCoding coding,
                std::shared_ptr<const CachedFile>& variant) const;
    /// Queues `resource` (kept alive until its job ran) for `coding`, unless queued already, too
    /// large, or the queue is full. Returns true if queued.
    bool schedule(const std::string& path, std::shared_ptr<const CachedResource> resource,
                  compression::ContentCoding coding);

    /// Blocks until the queue is empty and no file is being compressed. Tests.
    void waitIdle();

    uint64_t bytes() const;

private:
    struct Job
    {
        std::string key;
        std::string path;
        std::shared_ptr<const CachedResource> resource;
        compression::ContentCoding coding;
    };

    static void keyOf(const std::string& path, const CachedFile& identity, compression::ContentCoding coding,
                      std::string& key);
    void run();
    /// The variant for `job`, or nullptr when it does not pay (or reading failed).
    static std::shared_ptr<const CachedFile> make(const Job& job);
    void storeLocked(const std::string& key, std::shared_ptr<const CachedFile> variant);

    Options _options;
    mutable std::mutex _mutex;
    std::condition_variable _idle;
    std::unordered_map<std::string, std::shared_ptr<const CachedFile>> _variants; ///< null: useless
    std::unordered_set<std::string> _pending;                                     ///< queued or being made
    std::deque<Job> _queue;
    uint64_t _bytes = 0;
    bool _running = false; ///< the thread is draining the queue
    bool _stopping = false;
    std::thread _thread;
};

} // namespace serval::servlets
