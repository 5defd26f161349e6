#include "realm/PasswordHash.h"

#include "realm/Secrets.h"

#include <gtest/gtest.h>

using serval::realm::PasswordHash;

TEST(PasswordHashTest, MatchesRfc7914Pbkdf2Sha256Vector)
{
    // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64.
    std::string key = PasswordHash::derive("passwd", "salt", 1, 64);
    std::string hex;
    static const char* digits = "0123456789abcdef";
    for (unsigned char c : key) {
        hex.push_back(digits[c >> 4]);
        hex.push_back(digits[c & 15]);
    }
    EXPECT_EQ(hex, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                   "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
}

TEST(PasswordHashTest, VerifiesTheRightPasswordOnly)
{
    auto hash = PasswordHash::create("correct horse", 1000);
    EXPECT_EQ(hash.salt.size(), PasswordHash::SaltBytes);
    EXPECT_EQ(hash.hash.size(), PasswordHash::KeyBytes);
    EXPECT_TRUE(hash.verify("correct horse"));
    EXPECT_FALSE(hash.verify("correct hors"));
    EXPECT_FALSE(hash.verify("Correct horse"));
    EXPECT_FALSE(hash.verify(""));
}

TEST(PasswordHashTest, SaltIsRandomPerHash)
{
    auto a = PasswordHash::create("same", 1000);
    auto b = PasswordHash::create("same", 1000);
    EXPECT_NE(a.salt, b.salt);
    EXPECT_NE(a.hash, b.hash);
}

TEST(SecretsTest, TokensAreRandomAndUrlSafe)
{
    auto a = serval::realm::randomToken(32);
    auto b = serval::realm::randomToken(32);
    EXPECT_NE(a, b);
    EXPECT_EQ(a.size(), 43u);
    EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
}

TEST(SecretsTest, ConstantTimeEquals)
{
    EXPECT_TRUE(serval::realm::constantTimeEquals("abc", "abc"));
    EXPECT_FALSE(serval::realm::constantTimeEquals("abc", "abd"));
    EXPECT_FALSE(serval::realm::constantTimeEquals("abc", "abcd"));
    EXPECT_EQ(serval::realm::sha256Hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
