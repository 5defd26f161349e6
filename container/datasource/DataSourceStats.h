#pragma once

#include "util/LatencyHistogram.h"

#include <array>
#include <atomic>
#include <cstdint>

namespace serval::datasource {

/// Counters of one DataSource, for the admin page and /metrics. Written lock-free (relaxed
/// atomics) by the threads using its connections; read at any time by the manager.
struct DataSourceStats
{
    std::atomic<uint64_t> acquires{0};        ///< connections handed out
    std::atomic<uint64_t> waits{0};           ///< acquires that found none free and waited
    std::atomic<uint64_t> timeouts{0};        ///< acquires that gave up after acquireTimeout
    std::atomic<uint64_t> connectFailures{0}; ///< connections that could not be opened
    std::atomic<uint64_t> opened{0};          ///< connections opened
    std::atomic<uint64_t> discarded{0};       ///< connections closed because they broke
    std::atomic<uint64_t> errors{0};          ///< statements that failed (any status but Ok)
    std::atomic<uint64_t> queries{0};         ///< statement executions finished (ok or not)
    std::atomic<uint64_t> queryNanos{0};      ///< their total time, first step() to the last
    util::LatencyHistogram latency;           ///< the same times, bucketed (percentiles, /metrics)

    void add(std::atomic<uint64_t>& counter, uint64_t n = 1) noexcept
    {
        counter.fetch_add(n, std::memory_order_relaxed);
    }
    /// One statement execution (or exec() script) that took `nanos`, ok or not.
    void recordQuery(uint64_t nanos) noexcept
    {
        add(queries);
        add(queryNanos, nanos);
        latency.record(nanos);
    }
};

/// A consistent-enough copy for display: the gauges are read under the pool's lock, the counters
/// one by one.
struct DataSourceStatsSnapshot
{
    unsigned maxConnections = 0;
    unsigned open = 0;  ///< connections open (idle + in use + being opened)
    unsigned inUse = 0; ///< handed out right now
    unsigned waiting = 0;
    uint64_t acquires = 0;
    uint64_t waits = 0;
    uint64_t timeouts = 0;
    uint64_t connectFailures = 0;
    uint64_t opened = 0;
    uint64_t discarded = 0;
    uint64_t errors = 0;
    uint64_t queries = 0;
    uint64_t queryNanos = 0;
    std::array<uint64_t, util::LatencyHistogram::kBuckets> latencyBuckets{}; ///< per bucket, not cumulative
    uint64_t p50Micros = 0;
    uint64_t p99Micros = 0;

    /// Adds the gauges, counters and latencies of another pool of the same data source (an
    /// isolated app's worker); maxConnections stays this one's (the app's bound).
    void add(const DataSourceStatsSnapshot& other) noexcept
    {
        open += other.open;
        inUse += other.inUse;
        waiting += other.waiting;
        acquires += other.acquires;
        waits += other.waits;
        timeouts += other.timeouts;
        connectFailures += other.connectFailures;
        opened += other.opened;
        discarded += other.discarded;
        errors += other.errors;
        queries += other.queries;
        queryNanos += other.queryNanos;
        for (size_t i = 0; i < latencyBuckets.size(); ++i)
            latencyBuckets[i] += other.latencyBuckets[i];
        p50Micros = util::LatencyHistogram::percentileMicros(latencyBuckets, 0.50);
        p99Micros = util::LatencyHistogram::percentileMicros(latencyBuckets, 0.99);
    }
};

} // namespace serval::datasource
