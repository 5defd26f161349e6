#include "connector/websocket/PerMessageDeflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

namespace serval::test {
namespace {

using namespace websocket;

struct Collect : Inflater::Sink
{
    std::string out;
    size_t limit = SIZE_MAX;
    size_t biggestPiece = 0;
    Failure onInflated(std::string_view bytes) noexcept override
    {
        biggestPiece = std::max(biggestPiece, bytes.size());
        if (out.size() + bytes.size() > limit) return {CloseCode::MessageTooBig, "too big"};
        out.append(bytes);
        return {};
    }
};

TEST(PerMessageDeflateTest, NegotiatesTheFirstAcceptableOffer)
{
    WebSocketConfig config;
    auto p = negotiateDeflate({"x-webkit-deflate-frame, permessage-deflate; foo=1, "
                               "permessage-deflate; client_max_window_bits; server_no_context_takeover"},
                              config);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->serverNoContextTakeover);
    EXPECT_FALSE(p->clientNoContextTakeover);
    EXPECT_EQ(deflateResponseHeader(*p), "permessage-deflate; server_no_context_takeover");

    auto q = negotiateDeflate(
        {"permessage-deflate; server_max_window_bits=\"10\"; client_no_context_takeover"}, config);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->serverMaxWindowBits, 10);
    EXPECT_EQ(deflateResponseHeader(*q),
              "permessage-deflate; client_no_context_takeover; server_max_window_bits=10");
}

TEST(PerMessageDeflateTest, DeclinesInvalidOrUnsupportedOffers)
{
    WebSocketConfig config;
    EXPECT_FALSE(negotiateDeflate({"permessage-deflate; server_max_window_bits=8"}, config)); // zlib cannot
    EXPECT_FALSE(negotiateDeflate({"permessage-deflate; server_max_window_bits"}, config));   // needs a value
    EXPECT_FALSE(negotiateDeflate({"permessage-deflate; client_max_window_bits=16"}, config));
    EXPECT_FALSE(negotiateDeflate(
        {"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, config));
    EXPECT_FALSE(negotiateDeflate({"permessage-deflate; server_no_context_takeover=1"}, config));
    config.permessageDeflate = false;
    EXPECT_FALSE(negotiateDeflate({"permessage-deflate"}, config));
}

TEST(PerMessageDeflateTest, RoundTripsWithAndWithoutContextTakeover)
{
    for (bool noTakeover : {false, true}) {
        Deflater deflater(15, 8, noTakeover);
        Inflater inflater(noTakeover);
        for (int i = 0; i < 3; ++i) {
            std::string message = "Hello, hello, hello, compressed world #" + std::to_string(i);
            std::string wire;
            ASSERT_TRUE(deflater.compress(message, wire));
            Collect c;
            ASSERT_FALSE(inflater.feed(wire, c));
            ASSERT_FALSE(inflater.finish(c));
            EXPECT_EQ(c.out, message);
        }
    }
}

TEST(PerMessageDeflateTest, ABombInflatesInBoundedPiecesAndStopsAtTheLimit)
{
    // 64 MiB of zeros compress to about 64 KiB; the sink's 1 MiB limit stops it.
    std::string zeros(64 * 1024 * 1024, '\0');
    Deflater deflater(15, 8, false);
    std::string wire;
    ASSERT_TRUE(deflater.compress(zeros, wire));
    EXPECT_LT(wire.size(), 128u * 1024);
    Inflater inflater(false);
    Collect c;
    c.limit = 1024 * 1024;
    Failure f = inflater.feed(wire, c);
    EXPECT_EQ(f.code, 1009);
    EXPECT_LE(c.out.size(), 1024u * 1024);
    EXPECT_LE(c.biggestPiece, 64u * 1024);
}

TEST(PerMessageDeflateTest, GarbageIsInvalidPayload)
{
    Inflater inflater(false);
    Collect c;
    Failure f = inflater.feed(std::string("\xff\xff\xff\xff garbage", 12), c);
    if (!f) f = inflater.finish(c);
    EXPECT_EQ(f.code, 1007);
}

} // namespace
} // namespace serval::test
