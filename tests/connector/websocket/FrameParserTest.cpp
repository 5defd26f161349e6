#include "connector/websocket/FrameParser.h"

#include "connector/websocket/WebSocketFrames.h"

#include <gtest/gtest.h>
#include <vector>

namespace serval::test {
namespace {

using websocket::Failure;
using websocket::FrameHeader;
using websocket::FrameParser;

/// Records frames as the parser reports them.
struct Recorder : FrameParser::Sink
{
    struct Frame
    {
        FrameHeader header;
        std::string payload;
        bool ended = false;
    };
    std::vector<Frame> frames;
    Failure onFrameHeader(const FrameHeader& header) noexcept override
    {
        frames.push_back({header, {}, false});
        return {};
    }
    Failure onFramePayload(std::string_view bytes) noexcept override
    {
        frames.back().payload.append(bytes);
        return {};
    }
    Failure onFrameEnd() noexcept override
    {
        frames.back().ended = true;
        return {};
    }
};

Failure parse(const std::string& bytes, Recorder& r, uint64_t maxFrame = 1 << 20, bool rsv1 = false)
{
    FrameParser parser(maxFrame, rsv1);
    return parser.feed(bytes, r);
}

TEST(FrameParserTest, UnmasksAFrameDeliveredOneByteAtATime)
{
    std::string wire = clientText("Hello, WebSocket") + clientFrame(0x2, std::string(70000, 'b'));
    FrameParser parser(1 << 20, false);
    Recorder r;
    for (char c : wire)
        ASSERT_FALSE(parser.feed(std::string_view(&c, 1), r));
    ASSERT_EQ(r.frames.size(), 2u);
    EXPECT_EQ(r.frames[0].payload, "Hello, WebSocket");
    EXPECT_TRUE(r.frames[0].header.fin);
    EXPECT_EQ(r.frames[1].header.length, 70000u);
    EXPECT_EQ(r.frames[1].payload, std::string(70000, 'b'));
    EXPECT_TRUE(parser.atFrameBoundary());
}

TEST(FrameParserTest, EmptyFramesEndToo)
{
    Recorder r;
    ASSERT_FALSE(parse(clientText("") + clientFrame(0x9, ""), r));
    ASSERT_EQ(r.frames.size(), 2u);
    EXPECT_TRUE(r.frames[0].ended);
    EXPECT_TRUE(r.frames[1].ended);
}

TEST(FrameParserTest, UnmaskedClientFrameIsAProtocolError)
{
    ClientFrame f;
    f.payload = "x";
    f.masked = false;
    Recorder r;
    EXPECT_EQ(parse(encodeClientFrame(f), r).code, 1002);
    EXPECT_TRUE(r.frames.empty());
}

TEST(FrameParserTest, ReservedBitsAndOpcodesAreProtocolErrors)
{
    for (int bit = 0; bit < 3; ++bit) {
        ClientFrame f;
        f.payload = "x";
        f.rsv1 = bit == 0;
        f.rsv2 = bit == 1;
        f.rsv3 = bit == 2;
        Recorder r;
        EXPECT_EQ(parse(encodeClientFrame(f), r).code, 1002) << bit;
    }
    for (uint8_t op : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
        Recorder r;
        EXPECT_EQ(parse(clientFrame(op, ""), r).code, 1002) << int(op);
    }
    Recorder ok;
    ClientFrame compressed;
    compressed.rsv1 = true;
    EXPECT_FALSE(parse(encodeClientFrame(compressed), ok, 1 << 20, true)); // with permessage-deflate
}

TEST(FrameParserTest, ControlFramesAreShortAndUnfragmented)
{
    Recorder a, b, c;
    EXPECT_EQ(parse(clientFrame(0x9, std::string(126, 'p')), a).code, 1002);
    EXPECT_EQ(parse(clientFrame(0x9, "p", false), b).code, 1002);
    EXPECT_FALSE(parse(clientFrame(0x9, std::string(125, 'p')), c));
}

TEST(FrameParserTest, HugeLengthsFailBeforeAnyPayloadIsRead)
{
    ClientFrame f;
    f.opcode = 0x2;
    f.claimedLength = uint64_t{1} << 62;
    Recorder r;
    EXPECT_EQ(parse(encodeClientFrame(f), r).code, 1009);
    f.claimedLength = uint64_t{1} << 63; // the top bit must be zero
    Recorder r2;
    EXPECT_EQ(parse(encodeClientFrame(f), r2).code, 1002);
}

TEST(FrameParserTest, ALengthNotInItsShortestFormIsAProtocolError)
{
    // RFC 6455 section 5.2: the minimal number of bytes MUST be used. Masked text frames with
    // the key 0 (payload bytes as they are).
    auto frame = [](std::initializer_list<uint8_t> lengthBytes, size_t payload) {
        std::string out = {static_cast<char>(0x81)};
        for (uint8_t b : lengthBytes)
            out.push_back(static_cast<char>(b));
        out.append(4, '\0');
        out.append(payload, 'x');
        return out;
    };
    Recorder a, b, c, d;
    EXPECT_EQ(parse(frame({0x80 | 126, 0x00, 0x05}, 5), a).code, 1002);                     // 5 in 16 bits
    EXPECT_EQ(parse(frame({0x80 | 127, 0, 0, 0, 0, 0, 0, 0x00, 0xC8}, 200), b).code, 1002); // 200 in 64 bits
    EXPECT_FALSE(parse(frame({0x80 | 126, 0x00, 126}, 126), c)); // the shortest forms
    EXPECT_FALSE(parse(frame({0x80 | 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, 65536), d));
    ASSERT_EQ(d.frames.size(), 1u);
    EXPECT_EQ(d.frames[0].header.length, 65536u);
}

TEST(FrameParserTest, AFailureSticks)
{
    FrameParser parser(1 << 20, false);
    Recorder r;
    ClientFrame f;
    f.masked = false;
    EXPECT_EQ(parser.feed(encodeClientFrame(f), r).code, 1002);
    EXPECT_EQ(parser.feed(clientText("fine"), r).code, 1002);
    EXPECT_TRUE(r.frames.empty());
}

} // namespace
} // namespace serval::test
