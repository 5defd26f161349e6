#include "compression/AcceptEncoding.h"

#include <gtest/gtest.h>

using serval::compression::ContentCoding;
using serval::compression::negotiateContentCoding;

namespace {

struct Row
{
    const char* acceptEncoding;
    ContentCoding expected;
};

// RFC 9110 section 12.5.3, as docs/compression.md states it.
const Row kTable[] = {
    {"", ContentCoding::Identity},
    {"gzip", ContentCoding::Gzip},
    {"x-gzip", ContentCoding::Gzip},
    {"GZIP", ContentCoding::Gzip},
    {"br", ContentCoding::Brotli},
    {"gzip, deflate, br", ContentCoding::Brotli}, // br preferred on a tie
    {"br;q=0.5, gzip", ContentCoding::Gzip},      // higher q wins
    {"br;q=0.9, gzip;q=0.8", ContentCoding::Brotli},
    {"gzip;q=0, br;q=0", ContentCoding::Identity},
    {"gzip;q=0", ContentCoding::Identity},
    {"gzip;q=0.000", ContentCoding::Identity},
    {"gzip; q=0.001", ContentCoding::Gzip},
    {"gzip;Q=1.0", ContentCoding::Gzip},
    {"gzip;q=1.5", ContentCoding::Identity}, // malformed q counts as 0
    {"gzip;q=abc", ContentCoding::Identity},
    {"*", ContentCoding::Brotli},           // the wildcard admits both
    {"*;q=0", ContentCoding::Identity},     // nothing acceptable: sent as it is
    {"gzip;q=0, *", ContentCoding::Brotli}, // an explicit refusal beats the wildcard
    {"br;q=0, *", ContentCoding::Gzip},
    {"identity", ContentCoding::Identity},
    {"identity;q=0", ContentCoding::Identity}, // no coding offered either
    {"identity;q=0, gzip;q=0.1", ContentCoding::Gzip},
    {"gzip;q=0.5, identity", ContentCoding::Identity},    // identity's higher q wins
    {"gzip;q=0.5, identity;q=0.5", ContentCoding::Gzip},  // a tie goes to compression
    {"compress, deflate, zstd", ContentCoding::Identity}, // unknown codings are skipped
    {"zstd, gzip;q=0.2", ContentCoding::Gzip},
    {" , ,gzip , ", ContentCoding::Gzip},        // empty items skipped
    {"gzip;level=9;q=0.3", ContentCoding::Gzip}, // other parameters ignored
    {"gzipx", ContentCoding::Identity},
    {"gzip;q=0, gzip", ContentCoding::Gzip}, // repeated: the highest q counts
};

TEST(AcceptEncodingTest, NegotiationTable)
{
    for (const Row& row : kTable)
        EXPECT_EQ(negotiateContentCoding(row.acceptEncoding), row.expected)
            << "Accept-Encoding: " << row.acceptEncoding;
}

TEST(AcceptEncodingTest, ACodingNotOfferedCountsAsRefused)
{
    EXPECT_EQ(negotiateContentCoding("br, gzip", false, true), ContentCoding::Gzip);
    EXPECT_EQ(negotiateContentCoding("br", false, true), ContentCoding::Identity);
    EXPECT_EQ(negotiateContentCoding("gzip", true, false), ContentCoding::Identity);
    EXPECT_EQ(negotiateContentCoding("*", true, false), ContentCoding::Brotli);
}

} // namespace

TEST(AcceptEncodingTest, GzipOnlyHonoursQValues)
{
    // A static file with only a .gz sibling: brotli is not on offer.
    auto gzipOnly = [](std::string_view header) { return negotiateContentCoding(header, false, true); };
    EXPECT_EQ(gzipOnly("gzip"), ContentCoding::Gzip);
    EXPECT_EQ(gzipOnly("deflate, gzip, br"), ContentCoding::Gzip);
    EXPECT_EQ(gzipOnly("GZIP;q=0.5"), ContentCoding::Gzip);
    EXPECT_EQ(gzipOnly("x-gzip"), ContentCoding::Gzip);
    EXPECT_EQ(gzipOnly("*"), ContentCoding::Gzip);
    EXPECT_EQ(gzipOnly("gzip; q=0.001"), ContentCoding::Gzip);
    EXPECT_EQ(gzipOnly(""), ContentCoding::Identity);
    EXPECT_EQ(gzipOnly("identity"), ContentCoding::Identity);
    EXPECT_EQ(gzipOnly("br, deflate"), ContentCoding::Identity);
    EXPECT_EQ(gzipOnly("gzip;q=0"), ContentCoding::Identity);
    EXPECT_EQ(gzipOnly("gzip;q=0.000"), ContentCoding::Identity);
    EXPECT_EQ(gzipOnly("gzip;q=0, *"), ContentCoding::Identity); // explicit refusal beats the wildcard
    EXPECT_EQ(gzipOnly("*;q=0"), ContentCoding::Identity);
    EXPECT_EQ(gzipOnly("gzipx"), ContentCoding::Identity);
}
