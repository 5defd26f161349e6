#include "process/Ring.h"

#include <algorithm>
#include <cstring>

namespace serval::process {

RingWriter::RingWriter(RingControl* control, char* data, uint32_t capacity, uint32_t maxPayload) noexcept
    : _control(control), _data(data), _capacity(capacity),
      _maxPayload(std::min<uint32_t>(maxPayload, capacity / 2 - sizeof(RecordHeader)))
{}

void RingWriter::copyIn(uint64_t position, const void* bytes, size_t size) noexcept
{
    if (size == 0) return; // an empty payload may have no pointer at all (memcpy wants one)
    size_t offset = static_cast<size_t>(position & (_capacity - 1));
    size_t first = std::min<size_t>(size, _capacity - offset);
    std::memcpy(_data + offset, bytes, first);
    if (first < size) std::memcpy(_data, static_cast<const char*>(bytes) + first, size - first);
}

int64_t RingWriter::freeSpace() noexcept
{
    uint64_t tail = _control->tail.load(std::memory_order_acquire);
    // The consumer can only have consumed what was published, and never goes backwards.
    if (tail > _published || tail < _knownTail || _published - tail > _capacity) return -1;
    _knownTail = tail;
    return static_cast<int64_t>(_capacity - (_head - tail));
}

RingWriter::Result RingWriter::write(uint16_t type, uint16_t flags, uint32_t stream, std::string_view first,
                                     std::string_view second) noexcept
{
    uint64_t length = uint64_t(first.size()) + second.size();
    if (length > _maxPayload) return Result::TooLarge;
    uint64_t size = recordSize(static_cast<uint32_t>(length));
    if (_capacity - (_head - _knownTail) < size) {
        int64_t free = freeSpace();
        if (free < 0) return Result::Corrupt;
        if (static_cast<uint64_t>(free) < size) return Result::Full;
    }
    RecordHeader header;
    header.length = static_cast<uint32_t>(length);
    header.type = type;
    header.flags = flags;
    header.stream = stream;
    header.check = recordCheck(header.length, type, stream);
    copyIn(_head, &header, sizeof header);
    copyIn(_head + sizeof header, first.data(), first.size());
    if (!second.empty()) copyIn(_head + sizeof header + first.size(), second.data(), second.size());
    _head += size;
    return Result::Written;
}

bool RingWriter::publish() noexcept
{
    if (_head == _published) return false;
    _published = _head;
    // seq_cst: this store must be visible before the caller reads the peer's idle flag (the
    // peer sets its flag, then reads head: one of the two sides sees the other).
    _control->head.store(_head, std::memory_order_seq_cst);
    return true;
}

RingReader::RingReader(RingControl* control, const char* data, uint32_t capacity,
                       uint32_t maxPayload) noexcept
    : _control(control), _data(data), _capacity(capacity),
      _maxPayload(std::min<uint32_t>(maxPayload, capacity / 2 - sizeof(RecordHeader)))
{}

void RingReader::copyOut(uint64_t position, void* bytes, size_t size) const noexcept
{
    if (size == 0) return;
    size_t offset = static_cast<size_t>(position & (_capacity - 1));
    size_t first = std::min<size_t>(size, _capacity - offset);
    std::memcpy(bytes, _data + offset, first);
    if (first < size) std::memcpy(static_cast<char*>(bytes) + first, _data, size - first);
}

bool RingReader::pending() const noexcept
{
    return !_corrupt && _control->head.load(std::memory_order_seq_cst) != _tail;
}

RingReader::Result RingReader::read(RecordHeader& header, std::string& payload) noexcept
{
    if (_corrupt) return Result::Corrupt;
    uint64_t head = _control->head.load(std::memory_order_acquire);
    if (head == _tail) return Result::Empty;
    uint64_t available = head - _tail;
    // head behind tail wraps to a huge value and fails here too.
    if (available > _capacity || available < sizeof(RecordHeader)) {
        _corrupt = true;
        return Result::Corrupt;
    }
    copyOut(_tail, &header, sizeof header);
    if (header.length > _maxPayload || recordSize(header.length) > available ||
        header.check != recordCheck(header.length, header.type, header.stream)) {
        _corrupt = true;
        return Result::Corrupt;
    }
    try {
        payload.resize(header.length);
    } catch (...) {
        return Result::Empty; // out of memory: leave the record where it is
    }
    copyOut(_tail + sizeof header, payload.data(), header.length);
    _tail += recordSize(header.length);
    _control->tail.store(_tail, std::memory_order_seq_cst);
    return Result::Record;
}

} // namespace serval::process
