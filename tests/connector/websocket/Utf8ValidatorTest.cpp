#include "connector/websocket/Utf8Validator.h"

#include <gtest/gtest.h>

namespace serval::test {
namespace {

using websocket::Utf8Validator;

bool valid(std::string_view text)
{
    Utf8Validator v;
    return v.feed(text) && v.complete();
}

TEST(Utf8ValidatorTest, AcceptsWellFormedText)
{
    EXPECT_TRUE(valid(""));
    EXPECT_TRUE(valid("Hello-µ@ßöäüàá-UTF-8!!"));
    EXPECT_TRUE(valid("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));
    EXPECT_TRUE(valid("\xf4\x8f\xbf\xbf")); // U+10FFFF
    EXPECT_TRUE(valid("\xef\xbf\xbf"));     // U+FFFF
}

TEST(Utf8ValidatorTest, RejectsOverlongsSurrogatesAndOutOfRange)
{
    EXPECT_FALSE(valid("\xc0\xaf"));         // overlong '/'
    EXPECT_FALSE(valid("\xe0\x80\xaf"));     // overlong
    EXPECT_FALSE(valid("\xed\xa0\x80"));     // U+D800
    EXPECT_FALSE(valid("\xf4\x90\x80\x80")); // U+110000
    EXPECT_FALSE(valid("\xff"));
    EXPECT_FALSE(valid("\x80"));
    EXPECT_FALSE(valid("\xce")); // truncated
}

TEST(Utf8ValidatorTest, ACodePointMaySpanPiecesAndFailsFast)
{
    Utf8Validator v;
    EXPECT_TRUE(v.feed("\xf0\x90"));
    EXPECT_FALSE(v.complete());
    EXPECT_TRUE(v.feed("\x80\x80"));
    EXPECT_TRUE(v.complete());
    // Autobahn 6.4: fail on the first impossible byte, not at the end of the message.
    Utf8Validator w;
    EXPECT_TRUE(w.feed("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));
    EXPECT_FALSE(w.feed("\xf4\x90\x80\x80"));
    EXPECT_FALSE(w.feed("ok")); // stays failed
}

} // namespace
} // namespace serval::test
