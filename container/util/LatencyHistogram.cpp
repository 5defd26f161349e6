#include "util/LatencyHistogram.h"

#include <cmath>

namespace serval::util {

void LatencyHistogram::record(uint64_t nanos) noexcept
{
    uint64_t micros = nanos / 1000;
    size_t bucket = 0;
    while (bucket < kBoundsMicros.size() && micros > kBoundsMicros[bucket])
        ++bucket;
    _counts[bucket].fetch_add(1, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::count() const noexcept
{
    uint64_t total = 0;
    for (const auto& c : _counts)
        total += c.load(std::memory_order_relaxed);
    return total;
}

std::array<uint64_t, LatencyHistogram::kBuckets> LatencyHistogram::snapshot() const noexcept
{
    std::array<uint64_t, kBuckets> out{};
    for (size_t i = 0; i < kBuckets; ++i)
        out[i] = _counts[i].load(std::memory_order_relaxed);
    return out;
}

uint64_t LatencyHistogram::percentileMicros(double fraction) const noexcept
{
    return percentileMicros(snapshot(), fraction);
}

uint64_t LatencyHistogram::percentileMicros(const std::array<uint64_t, kBuckets>& counts,
                                            double fraction) noexcept
{
    uint64_t total = 0;
    for (uint64_t c : counts)
        total += c;
    if (total == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(total)));
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
        seen += counts[i];
        if (seen >= rank) return i < kBoundsMicros.size() ? kBoundsMicros[i] : kBoundsMicros.back() * 2;
    }
    return kBoundsMicros.back() * 2;
}

} // namespace serval::util
