#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace serval::process {

/// The two indices of one single-producer single-consumer ring, in shared memory. Each counts
/// the bytes ever written (head, stored by the producer) or consumed (tail, stored by the
/// consumer) and never wraps in practice (2^64 bytes); the position in the data is the count
/// modulo the capacity. Each sits on its own cache line so the two processes do not share one.
struct RingControl
{
    alignas(64) std::atomic<uint64_t> head{0};
    alignas(64) std::atomic<uint64_t> tail{0};
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "ring indices must be address-free atomics");

/// One record in a ring: a 16-byte header, then `length` payload bytes, padded to 8 bytes.
/// A record is published whole (the producer moves head past it in one store), so a reader
/// never sees half of one; one that claims more bytes than were published is corrupt.
struct RecordHeader
{
    uint32_t length = 0; ///< payload bytes (without padding)
    uint16_t type = 0;   ///< a RecordType (Messages.h); the ring does not interpret it
    uint16_t flags = 0;  ///< kEndStream, ...
    uint32_t stream = 0; ///< which request/response pair; 0 for channel-wide records
    uint32_t check = 0;  ///< checkOf(length, type, stream): catches a reader out of step early
};
static_assert(sizeof(RecordHeader) == 16);

constexpr uint32_t recordCheck(uint32_t length, uint16_t type, uint32_t stream) noexcept
{
    return (length * 2654435761u) ^ (uint32_t(type) << 16) ^ stream ^ 0x5e7a1u;
}
/// Bytes a record with `length` payload bytes takes in the ring.
constexpr uint64_t recordSize(uint32_t length) noexcept
{
    return sizeof(RecordHeader) + ((uint64_t(length) + 7) & ~uint64_t(7));
}

/// The producer end of a ring. It keeps its own copy of head (the peer could overwrite the
/// shared one) and reads the shared tail only to learn about free space, checking that the
/// value is possible: a tail beyond head, or further behind it than the capacity, means the
/// peer wrote garbage and the ring is corrupt.
///
/// write() stages records; publish() makes everything staged visible with one store (records
/// of one response, head and body, go out together). THREADS: one producer thread at a time.
class RingWriter
{
public:
    enum class Result
    {
        Written,
        Full, ///< not enough free space now: try again after the consumer moved on
        TooLarge,
        Corrupt ///< the shared tail is impossible
    };

    RingWriter() = default;
    /// `capacity`: a power of two; `maxPayload` caps one record (at most capacity / 2).
    RingWriter(RingControl* control, char* data, uint32_t capacity, uint32_t maxPayload) noexcept;

    /// Stages one record: `first` then `second` form its payload.
    Result write(uint16_t type, uint16_t flags, uint32_t stream, std::string_view first,
                 std::string_view second = {}) noexcept;
    /// Stores head: the consumer may read everything staged. True if anything was staged.
    bool publish() noexcept;
    /// Free bytes now (reads the shared tail); -1 if it is impossible (corrupt).
    int64_t freeSpace() noexcept;
    uint32_t maxPayload() const noexcept { return _maxPayload; }
    bool empty() noexcept { return freeSpace() == int64_t(_capacity); }

private:
    void copyIn(uint64_t position, const void* bytes, size_t size) noexcept;

    RingControl* _control = nullptr;
    char* _data = nullptr;
    uint32_t _capacity = 0;
    uint32_t _maxPayload = 0;
    uint64_t _head = 0;      ///< staged (private)
    uint64_t _published = 0; ///< last stored to the shared head
    uint64_t _knownTail = 0; ///< last valid shared tail seen
};

/// The consumer end of a ring: bounds-checks everything the producer wrote before using it
/// (head within capacity of tail, whole records only, lengths within maxPayload, the header
/// check). Keeps its own tail; the shared one is only written.
/// THREADS: one consumer thread at a time.
class RingReader
{
public:
    enum class Result
    {
        Record,
        Empty,
        Corrupt ///< the producer wrote something impossible: stop reading this ring for good
    };

    RingReader() = default;
    RingReader(RingControl* control, const char* data, uint32_t capacity, uint32_t maxPayload) noexcept;

    /// The next record: its header, its payload copied into `payload` (which keeps its
    /// capacity across calls). Moves the shared tail past it.
    Result read(RecordHeader& header, std::string& payload) noexcept;
    /// True if a record may be waiting (the shared head moved past our tail).
    bool pending() const noexcept;

private:
    void copyOut(uint64_t position, void* bytes, size_t size) const noexcept;

    RingControl* _control = nullptr;
    const char* _data = nullptr;
    uint32_t _capacity = 0;
    uint32_t _maxPayload = 0;
    uint64_t _tail = 0;
    bool _corrupt = false;
};

} // namespace serval::process
