#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace serval::util {

/// A map from 32-bit ids (a channel's stream ids) to values, in one array: open addressing
/// with linear probing and backward-shift deletion, so an insert or an erase of a steady
/// stream of ids allocates nothing once the table has grown to the number in flight
/// (std::unordered_map allocates a node per insert: one malloc and one free per request on
/// the forwarding hot path). Grows to keep at most half of the slots in use; never shrinks.
///
/// `V` must be default-constructible and movable (a pointer, a std::unique_ptr); an empty
/// slot holds a default V. Pointers to values stay valid until the next insert() or erase().
/// THREADS: none of its own (the owner's lock or thread). Keys are hashed (Fibonacci), so
/// any key pattern spreads.
template <typename V> class IdMap
{
public:
    /// The value of `key`, or nullptr.
    V* find(uint32_t key) noexcept
    {
        size_t i = slotOf(key);
        return i == kNone ? nullptr : &_slots[i].value;
    }
    const V* find(uint32_t key) const noexcept
    {
        size_t i = slotOf(key);
        return i == kNone ? nullptr : &_slots[i].value;
    }

    /// Adds `key` with `value`; false (and `value` untouched) if `key` is there already.
    /// Throws std::bad_alloc if the table had to grow and could not.
    bool insert(uint32_t key, V&& value)
    {
        if (slotOf(key) != kNone) return false;
        if ((_size + 1) * 2 > _slots.size()) grow();
        place(key, std::move(value));
        ++_size;
        return true;
    }

    /// Removes `key`; returns its value (a default V if it was not there).
    V take(uint32_t key) noexcept
    {
        size_t i = slotOf(key);
        if (i == kNone) return V();
        V out = std::move(_slots[i].value);
        remove(i);
        return out;
    }
    bool erase(uint32_t key) noexcept
    {
        size_t i = slotOf(key);
        if (i == kNone) return false;
        remove(i);
        return true;
    }

    size_t size() const noexcept { return _size; }
    bool empty() const noexcept { return _size == 0; }
    void clear() noexcept
    {
        for (Slot& slot : _slots) {
            slot.used = false;
            slot.value = V();
        }
        _size = 0;
    }
    /// Calls visit(key, value&) for every entry, in no particular order. The map must not be
    /// changed from inside.
    template <typename Visit> void forEach(Visit&& visit)
    {
        for (Slot& slot : _slots) {
            if (slot.used) visit(slot.key, slot.value);
        }
    }

private:
    struct Slot
    {
        uint32_t key = 0;
        bool used = false;
        V value{};
    };

    static constexpr size_t kNone = ~size_t(0);

    /// The slot holding `key`, or kNone (the table is at most half full: a probe ends).
    size_t slotOf(uint32_t key) const noexcept
    {
        if (_size == 0) return kNone;
        for (size_t i = home(key);; i = (i + 1) & _mask) {
            if (!_slots[i].used) return kNone;
            if (_slots[i].key == key) return i;
        }
    }
    /// Empties slot `i`: each following entry of its run that may move into the hole does
    /// (backward shift), so no tombstone is left.
    void remove(size_t i) noexcept
    {
        size_t hole = i;
        for (size_t j = (i + 1) & _mask; _slots[j].used; j = (j + 1) & _mask) {
            size_t want = home(_slots[j].key);
            // Movable iff its home is not in (hole, j] (cyclically).
            bool between = hole <= j ? (want > hole && want <= j) : (want > hole || want <= j);
            if (between) continue;
            _slots[hole].key = _slots[j].key;
            _slots[hole].value = std::move(_slots[j].value);
            hole = j;
        }
        _slots[hole].used = false;
        _slots[hole].value = V();
        --_size;
    }
    size_t home(uint32_t key) const noexcept
    {
        return static_cast<size_t>((static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ull) >> _shift) & _mask;
    }
    void place(uint32_t key, V&& value) noexcept
    {
        size_t i = home(key);
        while (_slots[i].used)
            i = (i + 1) & _mask;
        _slots[i].key = key;
        _slots[i].used = true;
        _slots[i].value = std::move(value);
    }
    void grow()
    {
        std::vector<Slot> old(_slots.empty() ? 16 : _slots.size() * 2);
        old.swap(_slots);
        _mask = _slots.size() - 1;
        _shift = 64;
        for (size_t n = _slots.size(); n > 1; n >>= 1)
            --_shift;
        for (Slot& slot : old) {
            if (slot.used) place(slot.key, std::move(slot.value));
        }
    }

    std::vector<Slot> _slots;
    size_t _size = 0;
    size_t _mask = 0;
    unsigned _shift = 64;
};

} // namespace serval::util
