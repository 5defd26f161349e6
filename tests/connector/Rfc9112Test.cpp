// Unit tests for the syntax checks the Connector applies to every request and response header:
// the word-at-a-time versions must agree with the RFC 9110 definitions for every byte at every
// position of a word (the token rule itself: tests/http/TokenTest.cpp).
#include "connector/Rfc9112.h"

#include <gtest/gtest.h>
#include <string>

namespace rfc = serval::connector::rfc9112;

namespace {

bool referenceFieldValueByte(unsigned char c)
{
    return !((c < 0x20 && c != '\t') || c == 0x7f);
}

} // namespace

TEST(Rfc9112Test, FieldValueRefusesEveryCtlButTabAtEveryOffset)
{
    // Lengths 1..24 put the byte in the tail, in the first word and in later words.
    for (size_t length = 1; length <= 24; ++length) {
        for (size_t at = 0; at < length; ++at) {
            for (int c = 0; c < 256; ++c) {
                std::string value(length, 'a');
                value[at] = static_cast<char>(c);
                ASSERT_EQ(rfc::isFieldValue(value), referenceFieldValueByte(static_cast<unsigned char>(c)))
                    << "byte " << c << " at " << at << " of " << length;
            }
        }
    }
}

TEST(Rfc9112Test, FieldValueAcceptsObsTextTabsAndEmpty)
{
    EXPECT_TRUE(rfc::isFieldValue(""));
    EXPECT_TRUE(rfc::isFieldValue("W/\"4096-1795642437709\"\t\x80\xff text/html; charset=utf-8"));
    EXPECT_FALSE(rfc::isFieldValue("text/html; charset=utf-8\r\nSet-Cookie: x=1"));
    EXPECT_FALSE(rfc::isFieldValue(std::string("0123456789abcdef\0", 17)));
}
