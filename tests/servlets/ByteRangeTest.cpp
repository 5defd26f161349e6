#include "servlets/ByteRange.h"

#include <gtest/gtest.h>

using serval::servlets::ByteRange;
using serval::servlets::evaluateRange;
using serval::servlets::RangeOutcome;

namespace {
struct Case
{
    const char* header;
    uint64_t size;
    RangeOutcome outcome;
    uint64_t first;
    uint64_t last;
};
} // namespace

TEST(ByteRangeTest, SingleRangesTableDriven)
{
    const Case cases[] = {
        {"bytes=0-99", 1000, RangeOutcome::Partial, 0, 99},
        {"bytes=100-", 1000, RangeOutcome::Partial, 100, 999},
        {"bytes=-100", 1000, RangeOutcome::Partial, 900, 999},
        {"bytes=-5000", 1000, RangeOutcome::Partial, 0, 999},      // suffix longer than the file
        {"bytes=990-5000", 1000, RangeOutcome::Partial, 990, 999}, // last clamped
        {"bytes=999-999", 1000, RangeOutcome::Partial, 999, 999},
        {"BYTES = 1-2", 1000, RangeOutcome::Partial, 1, 2},
        {"bytes= 5 - 6 ", 1000, RangeOutcome::Partial, 5, 6},
        {"bytes=1000-", 1000, RangeOutcome::Unsatisfiable, 0, 0},
        {"bytes=1000-2000", 1000, RangeOutcome::Unsatisfiable, 0, 0},
        {"bytes=-0", 1000, RangeOutcome::Unsatisfiable, 0, 0},
        {"bytes=0-", 0, RangeOutcome::Unsatisfiable, 0, 0},
        {"bytes=-1", 0, RangeOutcome::Unsatisfiable, 0, 0},
        {"", 1000, RangeOutcome::Full, 0, 0},
        {"items=0-1", 1000, RangeOutcome::Full, 0, 0},
        {"bytes=5-1", 1000, RangeOutcome::Full, 0, 0},
        {"bytes=a-b", 1000, RangeOutcome::Full, 0, 0},
        {"bytes=-", 1000, RangeOutcome::Full, 0, 0},
        {"bytes=1", 1000, RangeOutcome::Full, 0, 0},
        {"bytes=+1-2", 1000, RangeOutcome::Full, 0, 0},
        {"bytes=99999999999999999999-", 1000, RangeOutcome::Full, 0, 0}, // overflow is malformed
        {"bytes=0-1,5-6", 1000, RangeOutcome::Full, 0, 0},               // several ranges: 200
        {"bytes=0-1, -1", 1000, RangeOutcome::Full, 0, 0},
    };
    for (const Case& c : cases) {
        ByteRange range;
        RangeOutcome outcome = evaluateRange(c.header, c.size, range);
        EXPECT_EQ(outcome, c.outcome) << c.header << " size " << c.size;
        if (outcome == RangeOutcome::Partial && c.outcome == RangeOutcome::Partial) {
            EXPECT_EQ(range.first, c.first) << c.header;
            EXPECT_EQ(range.last, c.last) << c.header;
            EXPECT_EQ(range.length(), c.last - c.first + 1) << c.header;
        }
    }
}
