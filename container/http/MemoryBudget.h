#pragma once

#include "util/Log.h"

#include <atomic>
#include <cstdint>
#include <string>

namespace serval::http {

/// Bytes that clients make the server hold before it can act on them, all of them together,
/// bounded: a user takes its bytes as they arrive and gives them back when done; a take that
/// finds the budget spent is refused (the caller answers: 503, a WebSocket 1013), with one log
/// line per second. Two budgets use it: a Connector's buffered request bodies, all its
/// connections and HTTP/2 streams together (ConnectorConfig::maxBufferedBodySize), and the
/// whole WebSocket messages a process is assembling (WebSocketSession). Without them, clients
/// that announce large bodies (or start large messages) and never finish them made the server
/// hold maxBodySize (maxMessageSize) each: 100 connections, 1 GB, with no log line. nginx spills
/// such bodies to temporary files; Tomcat streams them to the servlet.
///
/// THREADS: any (one atomic counter). limit 0: no limit.
class MemoryBudget
{
public:
    /// `what`: the log line's subject when the budget is spent ("request bodies held in memory
    /// reached maxBufferedBodySize"); `advice`: what the operator can do.
    explicit MemoryBudget(
        uint64_t limit, const char* what = "request bodies held in memory reached maxBufferedBodySize",
        const char* advice = "new bodies get 503 until some finish; raise it on the <Connector> "
                             "if this load is legitimate") noexcept
        : _limit(limit), _what(what), _advice(advice)
    {}
    MemoryBudget(const MemoryBudget&) = delete;
    MemoryBudget& operator=(const MemoryBudget&) = delete;

    /// True if `bytes` more fit (they are taken); false, taking nothing, if not.
    bool take(uint64_t bytes) noexcept
    {
        if (_limit == 0 || bytes == 0) return true;
        uint64_t before = _used.fetch_add(bytes, std::memory_order_relaxed);
        if (before + bytes <= _limit) return true;
        _used.fetch_sub(bytes, std::memory_order_relaxed);
        return false;
    }
    void give(uint64_t bytes) noexcept
    {
        if (_limit != 0 && bytes != 0) _used.fetch_sub(bytes, std::memory_order_relaxed);
    }
    uint64_t used() const noexcept { return _used.load(std::memory_order_relaxed); }
    uint64_t limit() const noexcept { return _limit; }

    /// After a refused take(): one log line per second at most (`nowNanos`: a loop's clock).
    void warnSpent(uint64_t nowNanos) noexcept
    {
        uint64_t next = _nextWarning.load(std::memory_order_relaxed);
        if (nowNanos < next || !_nextWarning.compare_exchange_strong(next, nowNanos + 1000000000ull)) return;
        try {
            std::string size = _limit >= (1u << 20) ? std::to_string(_limit >> 20) + " MiB"
                                                    : std::to_string(_limit >> 10) + " KiB";
            LOG_WARN("connector", std::string(_what) + " (" + size + "): " + _advice);
        } catch (...) {
        }
    }

private:
    const uint64_t _limit;
    const char* const _what;
    const char* const _advice;
    std::atomic<uint64_t> _used{0};
    std::atomic<uint64_t> _nextWarning{0};
};

/// One user's part of a MemoryBudget (a request's buffered body, a message being assembled):
/// what it took, given back by release() or when it is destroyed. No budget: every take fits.
/// THREADS: its owner's.
class BudgetShare
{
public:
    explicit BudgetShare(MemoryBudget* budget = nullptr) noexcept : _budget(budget) {}
    ~BudgetShare() { release(); }
    BudgetShare(const BudgetShare&) = delete;
    BudgetShare& operator=(const BudgetShare&) = delete;

    /// Takes `bytes` more; false, taking nothing and logging (MemoryBudget::warnSpent), if the
    /// budget is spent. `nowNanos`: the caller's loop clock, for the log's rate.
    bool take(uint64_t bytes, uint64_t nowNanos) noexcept
    {
        if (_budget == nullptr) return true;
        if (!_budget->take(bytes)) {
            _budget->warnSpent(nowNanos);
            return false;
        }
        _held += bytes;
        return true;
    }
    void release() noexcept // on every request's reset: nothing held is the cheap case
    {
        if (_held == 0) return;
        _budget->give(_held);
        _held = 0;
    }

private:
    MemoryBudget* _budget;
    uint64_t _held = 0;
};

} // namespace serval::http
