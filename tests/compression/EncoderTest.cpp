#include "compression/Encoder.h"

#include "compression/Decode.h"

#include <gtest/gtest.h>
#include <random>

using namespace serval::compression;
using serval::test::gunzip;
using serval::test::unbrotli;

namespace {

std::string page(size_t size)
{
    std::string out = "<!doctype html><html><body>";
    for (int i = 0; out.size() < size; ++i)
        out += "<p class=\"row\">Row " + std::to_string(i) + " of the table, with some text.</p>\n";
    out.resize(size);
    return out;
}

std::string noise(size_t size)
{
    std::mt19937 random(7);
    std::string out(size, '\0');
    for (char& c : out)
        c = static_cast<char>(random());
    return out;
}

std::optional<std::string> decode(ContentCoding coding, std::string_view bytes)
{
    return coding == ContentCoding::Gzip ? gunzip(bytes) : unbrotli(bytes);
}

class EncoderTest : public ::testing::TestWithParam<std::tuple<ContentCoding, Effort>>
{
};

TEST_P(EncoderTest, WholeBodiesRoundTrip)
{
    auto [coding, effort] = GetParam();
    for (const std::string& input : {std::string(), std::string("x"), page(64 * 1024), noise(100 * 1024)}) {
        std::string out;
        ASSERT_TRUE(compressWhole(coding, effort, input, out));
        auto back = decode(coding, out);
        ASSERT_TRUE(back) << input.size();
        EXPECT_EQ(*back, input);
    }
    std::string out;
    ASSERT_TRUE(compressWhole(coding, effort, page(64 * 1024), out));
    EXPECT_LT(out.size(), 64u * 1024 / 4) << "an HTML page compresses well";
}

TEST_P(EncoderTest, StreamedPiecesWithSyncFlushesRoundTripAndEachPrefixDecodes)
{
    auto [coding, effort] = GetParam();
    auto encoder = makeEncoder(coding, effort);
    ASSERT_TRUE(encoder);
    EXPECT_EQ(encoder->coding(), coding);
    const std::string input = page(200 * 1024);
    std::string out;
    for (size_t at = 0; at < input.size(); at += 7000) {
        ASSERT_TRUE(encoder->encode(std::string_view(input).substr(at, 7000), Flush::Sync, out));
        EXPECT_FALSE(out.empty()) << "a sync flush leaves the bytes so far decodable";
    }
    ASSERT_TRUE(encoder->encode({}, Flush::Finish, out));
    EXPECT_FALSE(encoder->encode("more", Flush::Sync, out)) << "spent after Finish";
    auto back = decode(coding, out);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, input);
}

TEST_P(EncoderTest, NoFlushKeepsInputUntilFinish)
{
    auto [coding, effort] = GetParam();
    auto encoder = makeEncoder(coding, effort, 3000);
    std::string out;
    const std::string input = page(3000);
    ASSERT_TRUE(encoder->encode(input, Flush::None, out));
    ASSERT_TRUE(encoder->encode({}, Flush::Finish, out));
    EXPECT_EQ(decode(coding, out).value_or("?"), input);
}

INSTANTIATE_TEST_SUITE_P(Codings, EncoderTest,
                         ::testing::Combine(::testing::Values(ContentCoding::Gzip, ContentCoding::Brotli),
                                            ::testing::Values(Effort::Fast, Effort::Best)));

TEST(EncoderFactoryTest, IdentityHasNoEncoder)
{
    EXPECT_EQ(makeEncoder(ContentCoding::Identity, Effort::Fast), nullptr);
    std::string out;
    EXPECT_FALSE(compressWhole(ContentCoding::Identity, Effort::Fast, "x", out));
}

} // namespace
