#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace serval::session {

/// Tells, without a read transaction, whether any connection of any process may have committed
/// to a WAL-mode SQLite database since an earlier look: the wal-index header at the start of the
/// database's "-shm" file (https://sqlite.org/walformat.html, "The WAL-Index Header") is
/// rewritten by every commit (mxFrame grows, or the WAL restarts with new salts; its checksum
/// covers both). A writer stores the header's second copy, then the first; a reader that finds
/// the two copies equal has read a whole one, as SQLite's own readers do before they lock.
///
/// PRAGMA data_version answers the same question, but it opens a read transaction: the file
/// locks of one (fcntl on the database and on the -shm, four system calls) per request cost more
/// than the session lookup it guards. The watch is only ever a fast path in front of it: an
/// unreadable, unmapped or changing header answers "changed" and the caller asks SQLite.
///
/// The -shm is mapped read-only on first use (again at most once a second until it exists).
/// SQLite truncates that file only when it opens it with no other connection of any process
/// attached; the store that owns this watch keeps its connections open while it exists.
///
/// THREADS: current() from any thread. LIFETIME: owned by its SqliteSessionStore.
class WalIndexWatch
{
public:
    /// The first copy of the header (48 bytes); `valid` false when it could not be read whole.
    struct Header
    {
        std::array<uint32_t, 12> words{};
        bool valid = false;
        /// Equal and both valid: nothing was committed between the two looks.
        bool sameAs(const Header& other) const noexcept
        {
            return valid && other.valid && words == other.words;
        }
    };

    explicit WalIndexWatch(std::string databasePath);
    ~WalIndexWatch();
    WalIndexWatch(const WalIndexWatch&) = delete;
    WalIndexWatch& operator=(const WalIndexWatch&) = delete;

    Header current() noexcept;

private:
    const uint32_t* map() noexcept;

    std::string _shmPath;
    std::atomic<const uint32_t*> _header{nullptr};
    std::mutex _mapMutex;
    std::atomic<int64_t> _nextAttemptMs{0};
};

} // namespace serval::session
