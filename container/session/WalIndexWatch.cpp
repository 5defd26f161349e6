#include "session/WalIndexWatch.h"

#include <chrono>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::session {
namespace {

constexpr size_t kHeaderWords = 12;    // one WalIndexHdr: 48 bytes
constexpr size_t kMappedBytes = 4096;  // the header's page (SQLite maps 32 KiB regions)
constexpr off_t kNeededBytes = 2 * 48; // both copies

int64_t steadyMillis() noexcept
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace

WalIndexWatch::WalIndexWatch(std::string databasePath) : _shmPath(std::move(databasePath) + "-shm") {}

WalIndexWatch::~WalIndexWatch()
{
    if (const uint32_t* mapped = _header.load()) ::munmap(const_cast<uint32_t*>(mapped), kMappedBytes);
}

const uint32_t* WalIndexWatch::map() noexcept
{
    int64_t now = steadyMillis();
    if (now < _nextAttemptMs.load(std::memory_order_relaxed)) return nullptr;
    std::lock_guard<std::mutex> lock(_mapMutex);
    if (const uint32_t* mapped = _header.load(std::memory_order_acquire)) return mapped;
    _nextAttemptMs.store(now + 1000, std::memory_order_relaxed);
    int fd = ::open(_shmPath.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    struct stat st;
    void* mapping = MAP_FAILED;
    if (::fstat(fd, &st) == 0 && st.st_size >= kNeededBytes)
        mapping = ::mmap(nullptr, kMappedBytes, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (mapping == MAP_FAILED) return nullptr;
    auto* header = static_cast<const uint32_t*>(mapping);
    _header.store(header, std::memory_order_release);
    return header;
}

WalIndexWatch::Header WalIndexWatch::current() noexcept
{
    Header result;
    const uint32_t* shm = _header.load(std::memory_order_acquire);
    if (shm == nullptr && (shm = map()) == nullptr) return result;
    // The order of SQLite's readers (walIndexTryHdr): the first copy, a barrier, the second.
    std::array<uint32_t, kHeaderWords> second{};
    for (size_t i = 0; i < kHeaderWords; ++i)
        result.words[i] = __atomic_load_n(shm + i, __ATOMIC_RELAXED);
    std::atomic_thread_fence(std::memory_order_acquire);
    for (size_t i = 0; i < kHeaderWords; ++i)
        second[i] = __atomic_load_n(shm + kHeaderWords + i, __ATOMIC_RELAXED);
    std::atomic_thread_fence(std::memory_order_acquire);
    // isInit is the byte at offset 12 (word 3): 0 while no connection has built the index.
    bool initialised = (reinterpret_cast<const unsigned char*>(result.words.data())[12]) != 0;
    result.valid = initialised && result.words == second;
    return result;
}

} // namespace serval::session
