#include "util/LatencyHistogram.h"

#include <gtest/gtest.h>

using namespace serval;

TEST(LatencyHistogramTest, PercentilesAreBucketUpperBounds)
{
    util::LatencyHistogram h;
    EXPECT_EQ(h.percentileMicros(0.5), 0u);
    for (int i = 0; i < 98; ++i)
        h.record(80'000);        // 80 us -> the 100 us bucket
    h.record(3'000'000);         // 3 ms -> 5 ms
    h.record(20'000'000'000ull); // 20 s -> beyond the last bound
    EXPECT_EQ(h.count(), 100u);
    EXPECT_EQ(h.percentileMicros(0.50), 100u);
    EXPECT_EQ(h.percentileMicros(0.99), 5000u);
    EXPECT_EQ(h.percentileMicros(1.0), 20'000'000u); // the open bucket: twice the last bound
    auto buckets = h.snapshot();
    EXPECT_EQ(buckets[1], 98u);
    EXPECT_EQ(buckets.back(), 1u);
}
