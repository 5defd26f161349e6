#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace serval::process {

/// Little-endian fields appended to a byte string: the payload encoding of every ring record
/// and control message between the server and its workers (both ends are the same binary on
/// the same machine, so there is no versioning beyond the channel's magic).
///
/// OWNERSHIP: writes into a caller's std::string (cleared by the caller and reused, so a steady
/// stream of messages does not allocate). THREADS: one thread at a time.
class WireWriter
{
public:
    explicit WireWriter(std::string& out) noexcept : _out(out) {}

    void u8(uint8_t value) { _out.push_back(static_cast<char>(value)); }
    void u16(uint16_t value) { raw(&value, sizeof value); }
    void u32(uint32_t value) { raw(&value, sizeof value); }
    void u64(uint64_t value) { raw(&value, sizeof value); }
    void i64(int64_t value) { raw(&value, sizeof value); }
    /// u32 length, then the bytes.
    void text(std::string_view value)
    {
        u32(static_cast<uint32_t>(value.size()));
        _out.append(value.data(), value.size());
    }

private:
    void raw(const void* data, size_t size) { _out.append(static_cast<const char*>(data), size); }

    std::string& _out;
};

/// Reads what WireWriter wrote, from bytes the peer controls: every read is bounds-checked, and
/// the first one that would run past the end (or a text longer than `maxText`) sets failed()
/// and yields zeros and empty views from then on. The caller checks failed() (and, usually,
/// atEnd()) once after reading all fields: a record that does not decode exactly is corrupt.
///
/// LIFETIME: text() views point into the bytes given to the constructor.
class WireReader
{
public:
    explicit WireReader(std::string_view bytes, uint32_t maxText = 1u << 20) noexcept
        : _bytes(bytes), _maxText(maxText)
    {}

    uint8_t u8() noexcept { return take<uint8_t>(); }
    uint16_t u16() noexcept { return take<uint16_t>(); }
    uint32_t u32() noexcept { return take<uint32_t>(); }
    uint64_t u64() noexcept { return take<uint64_t>(); }
    int64_t i64() noexcept { return take<int64_t>(); }
    std::string_view text() noexcept
    {
        uint32_t length = u32();
        if (_failed || length > _maxText || length > _bytes.size() - _offset) {
            _failed = true;
            return {};
        }
        std::string_view value = _bytes.substr(_offset, length);
        _offset += length;
        return value;
    }

    bool failed() const noexcept { return _failed; }
    bool atEnd() const noexcept { return _offset == _bytes.size(); }
    /// True if every field decoded and nothing is left over.
    bool complete() const noexcept { return !_failed && atEnd(); }

private:
    template <typename T> T take() noexcept
    {
        T value{};
        if (_failed || sizeof(T) > _bytes.size() - _offset) {
            _failed = true;
            return value;
        }
        std::memcpy(&value, _bytes.data() + _offset, sizeof(T));
        _offset += sizeof(T);
        return value;
    }

    std::string_view _bytes;
    size_t _offset = 0;
    uint32_t _maxText;
    bool _failed = false;
};

} // namespace serval::process
