// The one RFC 9110 token rule (http/Token.h): header names in the Connector, header and cookie
// names set by apps (HostApi) and by servlets (core::Response::addCookie).
#include "http/Token.h"

#include <gtest/gtest.h>
#include <string>

namespace {

bool referenceTokenChar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

} // namespace

TEST(TokenTest, TokenCharsAreExactlyTchar)
{
    for (int c = 0; c < 256; ++c) {
        auto byte = static_cast<unsigned char>(c);
        EXPECT_EQ(serval::http::isTokenChar(byte), referenceTokenChar(byte)) << c;
        std::string text = "Name" + std::string(1, static_cast<char>(byte)) + "x";
        EXPECT_EQ(serval::http::isToken(text), referenceTokenChar(byte)) << c;
    }
    EXPECT_FALSE(serval::http::isToken(""));
}
