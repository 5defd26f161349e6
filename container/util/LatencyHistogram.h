#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace serval::util {

/// Request latencies in fixed buckets (lock-free: one relaxed atomic increment per request),
/// with percentiles read as the upper bound of the bucket holding that rank. Enough for the
/// admin page and /metrics; not an exact quantile.
class LatencyHistogram
{
public:
    /// Upper bounds in microseconds; the last bucket is everything above.
    static constexpr std::array<uint64_t, 17> kBoundsMicros = {
        50,    100,    250,    500,    1000,    2500,    5000,    10000,   25000,
        50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
    static constexpr size_t kBuckets = kBoundsMicros.size() + 1;

    void record(uint64_t nanos) noexcept;
    uint64_t count() const noexcept;
    /// Latency (microseconds) at or below which `fraction` (0..1) of the requests completed;
    /// 0 when nothing was recorded. The open last bucket reports twice the last bound.
    uint64_t percentileMicros(double fraction) const noexcept;
    /// Counts per bucket (for Prometheus cumulative buckets).
    std::array<uint64_t, kBuckets> snapshot() const noexcept;
    /// percentileMicros() of counts per bucket as snapshot() gives them (e.g. summed over
    /// several histograms).
    static uint64_t percentileMicros(const std::array<uint64_t, kBuckets>& counts, double fraction) noexcept;

private:
    std::array<std::atomic<uint64_t>, kBuckets> _counts{};
};

} // namespace serval::util
