#pragma once

#include "process/Ring.h"
#include "util/FileDescriptor.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace serval::process {

/// The shared memory of one channel (one worker process and one server I/O loop): a header
/// page with the two rings' indices and each side's wait flags, then the request ring (server
/// -> worker) and the response ring (worker -> server).
///
/// The wait flags carry the wake-up protocol. A side with nothing to read sets its
/// `dataWaiting`, looks at its incoming ring once more, and only then sleeps on its eventfd; a
/// side whose outgoing ring is full sets its `spaceWaiting` and looks at the free space once
/// more. The peer, after publishing records (or after consuming some), clears the matching flag
/// and writes the eventfd only if the flag was set. Under load neither side sleeps and no
/// system call is made per request.
struct ChannelHeader
{
    static constexpr uint32_t kMagic = 0x53564348; ///< "SVCH"
    static constexpr uint32_t kVersion = 1;

    /// One side's flags, on their own cache line.
    struct alignas(64) Waiting
    {
        std::atomic<uint32_t> data{0};  ///< sleeping until a record arrives
        std::atomic<uint32_t> space{0}; ///< waiting for the peer to consume
    };

    uint32_t magic = kMagic;
    uint32_t version = kVersion;
    uint32_t capacity = 0; ///< of each ring; informational (each side uses what it was told)
    uint32_t reserved = 0;
    Waiting server;
    Waiting worker;
    RingControl requests;  ///< produced by the server
    RingControl responses; ///< produced by the worker
};

/// Which end of a channel this process holds.
enum class Side
{
    Server,
    Worker
};

/// One end of a channel: the mapping, its writer and reader, the two eventfds.
///
/// The server creates the channel (create()): a sealed memfd (its size can never change, so
/// the worker cannot make the server's accesses fault by shrinking it) and two eventfds, all
/// passed to the worker over the control socket, which maps them with attach().
///
/// OWNERSHIP: owns the mapping and its descriptors. THREADS: the reader and the writer may each
/// be used by one thread at a time (the server's loop thread uses both; in a worker its
/// channel thread reads and the threads sending responses write under a mutex).
class Channel
{
public:
    /// Bytes of each ring by default (a power of two) and the largest record payload.
    static constexpr uint32_t kDefaultCapacity = 256 * 1024;

    Channel() = default;
    ~Channel();
    Channel(Channel&&) = delete;
    Channel& operator=(Channel&&) = delete;

    /// Server side: a new channel with rings of `capacity` bytes (a power of two, >= 4 KiB).
    /// Throws std::runtime_error (memfd, mmap or eventfd failed: out of memory or descriptors).
    void create(uint32_t capacity = kDefaultCapacity);
    /// Worker side: maps the memfd the server sent. Throws std::runtime_error if it does not
    /// look like a channel of that capacity.
    void attach(util::FileDescriptor memory, util::FileDescriptor serverWake, util::FileDescriptor workerWake,
                uint32_t capacity);

    Side side() const noexcept { return _side; }
    uint32_t capacity() const noexcept { return _capacity; }
    /// The largest payload of one record.
    uint32_t maxPayload() const noexcept { return _writer.maxPayload(); }
    int memoryFd() const noexcept { return _memory.get(); }
    int serverWakeFd() const noexcept { return _serverWake.get(); }
    int workerWakeFd() const noexcept { return _workerWake.get(); }
    /// The eventfd this side sleeps on (the server's loop watches it).
    int wakeFd() const noexcept { return _side == Side::Server ? _serverWake.get() : _workerWake.get(); }

    /// What this side sends and receives.
    RingWriter& writer() noexcept { return _writer; }
    RingReader& reader() noexcept { return _reader; }

    /// Publishes what the writer staged and wakes the peer if it waits for data.
    void publish() noexcept;
    /// After reading records: wakes the peer if it waits for ring space.
    void consumed() noexcept;
    /// Before sleeping for records: sets this side's data flag, then looks again. False (flag
    /// cleared) if a record arrived meanwhile: read instead of sleeping. One reader thread only.
    bool prepareToSleep() noexcept;
    /// Before waiting for `bytes` of free space in the outgoing ring: sets this side's space
    /// flag, then looks again. True if the space is there now (no need to wait); false: wait for
    /// this side's eventfd (the peer writes it once it consumed something). Any writer thread.
    bool prepareToWaitForSpace(uint64_t bytes) noexcept;
    /// Reads this side's eventfd (non-blocking) to rearm it.
    void drainWake() noexcept;

private:
    void map(uint32_t capacity);
    ChannelHeader::Waiting& own() noexcept
    {
        return _side == Side::Server ? _header->server : _header->worker;
    }
    ChannelHeader::Waiting& peer() noexcept
    {
        return _side == Side::Server ? _header->worker : _header->server;
    }
    /// Writes the peer's eventfd if `flag` was set, clearing it.
    void signalIf(std::atomic<uint32_t>& flag) noexcept;

    Side _side = Side::Server;
    uint32_t _capacity = 0;
    size_t _size = 0;
    void* _base = nullptr;
    ChannelHeader* _header = nullptr;
    util::FileDescriptor _memory;
    util::FileDescriptor _serverWake;
    util::FileDescriptor _workerWake;
    RingWriter _writer;
    RingReader _reader;
};

} // namespace serval::process
