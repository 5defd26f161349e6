#include "servlets/CompressedVariantCache.h"

#include "compression/CompressionStats.h"
#include "compression/Encoder.h"
#include "util/Log.h"

#include <cerrno>
#include <charconv>
#include <unistd.h>

namespace serval::servlets {
namespace {

/// pread() the whole file: the job holds the resource, so its descriptor stays open.
bool readFile(int fd, uint64_t size, std::string& out)
{
    out.resize(size);
    uint64_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, &out[done], size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<uint64_t>(n);
    }
    return true;
}

/// W/"size-mtime" -> W/"size-mtime-br": a variant's own validator, so a cache never answers a
/// request for one coding with the bytes of another.
std::string variantEtag(const std::string& etag, compression::ContentCoding coding)
{
    std::string out = etag;
    if (!out.empty() && out.back() == '"') {
        out.pop_back();
        out.append("-").append(compression::codingName(coding)).append("\"");
    }
    return out;
}

/// Entries, counting the files remembered as not worth compressing (they hold no bytes).
constexpr size_t kMaxEntries = 16384;

} // namespace

CompressedVariantCache::CompressedVariantCache(Options options) : _options(options) {}

CompressedVariantCache::~CompressedVariantCache()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
        _queue.clear();
    }
    if (_thread.joinable()) _thread.join();
}

void CompressedVariantCache::keyOf(const std::string& path, const CachedFile& identity,
                                   compression::ContentCoding coding, std::string& key)
{
    key.clear();
    key.append(path).push_back('\0');
    char number[24];
    key.append(number, std::to_chars(number, number + sizeof number, identity.size).ptr).push_back('-');
    key.append(number, std::to_chars(number, number + sizeof number, identity.mtimeNanos).ptr).push_back('-');
    key.append(compression::codingName(coding));
}

CompressedVariantCache::Lookup CompressedVariantCache::find(const std::string& path,
                                                            const CachedFile& identity,
                                                            compression::ContentCoding coding,
                                                            std::shared_ptr<const CachedFile>& variant) const
{
    thread_local std::string key; // keeps its capacity: a hit does not allocate
    keyOf(path, identity, coding, key);
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _variants.find(key);
    if (it == _variants.end()) return Lookup::Miss;
    if (!it->second) return Lookup::Useless;
    variant = it->second;
    compression::CompressionStats::instance().staticHits.fetch_add(1, std::memory_order_relaxed);
    return Lookup::Hit;
}

bool CompressedVariantCache::schedule(const std::string& path, std::shared_ptr<const CachedResource> resource,
                                      compression::ContentCoding coding)
{
    if (resource->identity.size > _options.maxFileSize) return false;
    std::string key;
    keyOf(path, resource->identity, coding, key);
    std::lock_guard<std::mutex> lock(_mutex);
    if (_stopping || _queue.size() >= _options.maxQueue || _pending.count(key) != 0) return false;
    _pending.insert(key);
    _queue.push_back(Job{std::move(key), path, std::move(resource), coding});
    if (!_running) {
        if (_thread.joinable()) _thread.join(); // the previous drain has ended (it cleared _running)
        _running = true;
        try {
            _thread = std::thread([this] { run(); });
        } catch (...) {
            _running = false;
            _pending.erase(_queue.back().key);
            _queue.pop_back();
            return false;
        }
    }
    return true;
}

void CompressedVariantCache::run()
{
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_stopping && !_queue.empty()) {
        Job job = std::move(_queue.front());
        _queue.pop_front();
        lock.unlock();
        std::shared_ptr<const CachedFile> variant;
        try {
            variant = make(job);
        } catch (...) {
            variant = nullptr; // out of memory: served identity
        }
        lock.lock();
        _pending.erase(job.key);
        storeLocked(job.key, std::move(variant));
    }
    _running = false;
    _idle.notify_all();
}

std::shared_ptr<const CachedFile> CompressedVariantCache::make(const Job& job)
{
    const CachedFile& identity = job.resource->identity;
    std::string plain;
    std::string_view input = identity.bytes;
    if (!identity.inMemory) {
        if (!identity.file || !readFile(identity.file->fd(), identity.size, plain)) return nullptr;
        input = plain;
    }
    auto variant = std::make_shared<CachedFile>();
    if (!compression::compressWhole(job.coding, compression::Effort::Best, input, variant->bytes))
        return nullptr;
    if (variant->bytes.size() >= input.size()) return nullptr; // does not pay
    variant->bytes.shrink_to_fit();
    variant->inMemory = true;
    variant->size = variant->bytes.size();
    variant->mtime = identity.mtime;
    variant->mtimeNanos = identity.mtimeNanos;
    variant->etag = variantEtag(identity.etag, job.coding);
    variant->lastModified = identity.lastModified;
    compression::CompressionStats::instance().staticFills.fetch_add(1, std::memory_order_relaxed);
    LOG_DEBUG("static", "compressed variant cached: " + job.path + " (" +
                            std::string(compression::codingName(job.coding)) + ", " +
                            std::to_string(input.size()) + " -> " + std::to_string(variant->size) +
                            " bytes)");
    return variant;
}

void CompressedVariantCache::storeLocked(const std::string& key, std::shared_ptr<const CachedFile> variant)
{
    const uint64_t size = variant ? variant->size : 0;
    while (!_variants.empty() && (_bytes + size > _options.maxBytes || _variants.size() >= kMaxEntries)) {
        auto victim = _variants.begin(); // bounded, not LRU (as the open-file cache)
        _bytes -= victim->second ? victim->second->size : 0;
        _variants.erase(victim);
    }
    if (size > _options.maxBytes) return;
    auto [it, inserted] = _variants.emplace(key, variant);
    if (!inserted) {
        _bytes -= it->second ? it->second->size : 0;
        it->second = std::move(variant);
    }
    _bytes += size;
}

void CompressedVariantCache::waitIdle()
{
    std::unique_lock<std::mutex> lock(_mutex);
    _idle.wait(lock, [this] { return !_running && _queue.empty(); });
}

uint64_t CompressedVariantCache::bytes() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _bytes;
}

} // namespace serval::servlets
