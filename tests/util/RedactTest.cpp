#include "util/Redact.h"

#include <gtest/gtest.h>

using serval::util::redactTarget;
using serval::util::redactText;

namespace {

std::string target(std::string_view in)
{
    std::string out;
    return redactTarget(in, out) ? out : std::string(in);
}

std::string text(std::string_view in)
{
    std::string out;
    return redactText(in, out) ? out : std::string(in);
}

} // namespace

TEST(RedactTest, SecretQueryParametersLoseTheirValues)
{
    EXPECT_EQ(target("/manager/api/apps?token=svl_abc&x=1"), "/manager/api/apps?token=REDACTED&x=1");
    EXPECT_EQ(target("/a?x=1&ACCESS_TOKEN=t&csrf=c&password=p&api_key=k"),
              "/a?x=1&ACCESS_TOKEN=REDACTED&csrf=REDACTED&password=REDACTED&api_key=REDACTED");
    EXPECT_EQ(target("/a?tokens=keep&mytoken=keep&token"), "/a?tokens=keep&mytoken=keep&token");
    EXPECT_EQ(target("/plain/path"), "/plain/path");
    std::string untouched;
    EXPECT_FALSE(redactTarget("/a?page=2", untouched));
    EXPECT_TRUE(untouched.empty());
}

TEST(RedactTest, TheBufferFormCutsAndAllocatesNothing)
{
    char out[16];
    bool changed = false;
    size_t n = redactTarget("/a?token=secret-value", out, sizeof out, changed);
    EXPECT_TRUE(changed);
    EXPECT_EQ(std::string(out, n), "/a?token=REDACTE");
}

TEST(RedactTest, FreeTextLosesCredentialsWhereverTheyAppear)
{
    EXPECT_EQ(text("refused GET /x?token=abc&y=2 from 127.0.0.1"),
              "refused GET /x?token=REDACTED&y=2 from 127.0.0.1");
    EXPECT_EQ(text("Authorization: Bearer svl_AbC-123_x"), "Authorization: Bearer REDACTED");
    EXPECT_EQ(text("header authorization=Basic abc, next"), "header authorization=Basic REDACTED, next");
    EXPECT_EQ(text("echo Authorization: Basic dXNlcjpwYXNz"), "echo Authorization: Basic REDACTED");
    EXPECT_EQ(text("token svl_0123456789 was revoked"), "token svl_REDACTED was revoked");
    EXPECT_EQ(text("password=\"hunter2\" ok"), "password=\"REDACTED\" ok");
    EXPECT_EQ(text("user \"admin\" locked out"), "user \"admin\" locked out");
    std::string untouched;
    EXPECT_FALSE(redactText("deployed /shop (sha256 abc) in 41 ms", untouched));
}
