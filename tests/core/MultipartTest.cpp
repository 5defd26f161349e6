// multipart/form-data as core parses it for Request::parts(): what browsers send, and the
// malformed or oversized bodies a hostile client sends instead (each refused whole).
#include "core/Multipart.h"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

using namespace serval;
using core::MultipartResult;

namespace {

/// Parts view the body they were parsed from, so the result owns that body (on the heap: a
/// moved Parsed keeps the bytes where the views point).
struct Parsed
{
    std::unique_ptr<std::string> body;
    MultipartResult result;
    std::vector<core::Part> parts;
    std::string reason;
};

Parsed parse(const std::string& body, const core::MultipartLimits& limits = {},
             const std::string& boundary = "B")
{
    Parsed p;
    p.body = std::make_unique<std::string>(body);
    p.result = core::parseMultipart(*p.body, boundary, limits, p.parts, p.reason);
    return p;
}

std::string field(const std::string& name, const std::string& value)
{
    return "--B\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
}

} // namespace

TEST(MultipartTest, BoundaryComesFromTheContentTypeOfAFormUploadOnly)
{
    EXPECT_EQ(core::multipartBoundary("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk"),
              "----WebKitFormBoundary7MA4YWxk");
    EXPECT_EQ(core::multipartBoundary("Multipart/Form-Data;boundary=\"a b\""), "a b");
    EXPECT_EQ(core::multipartBoundary("multipart/form-data"), ""); // missing: refused when parsed
    EXPECT_EQ(core::multipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')), "");
    EXPECT_EQ(core::multipartBoundary("application/x-www-form-urlencoded"), std::nullopt);
    EXPECT_EQ(core::multipartBoundary("multipart/mixed; boundary=x"), std::nullopt);
    EXPECT_EQ(core::multipartBoundary(""), std::nullopt);
}

TEST(MultipartTest, FieldsAndFilesInOrderWithTheirHeaders)
{
    Parsed p =
        parse(field("title", "Hello, world") +
              "--B\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"re\\\"port.txt\"\r\n"
              "Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n" +
              "--B\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n\r\n\r\n--B--\r\n");
    ASSERT_EQ(p.result, MultipartResult::Ok) << p.reason;
    ASSERT_EQ(p.parts.size(), 3u);
    EXPECT_EQ(p.parts[0].name, "title");
    EXPECT_EQ(p.parts[0].content, "Hello, world");
    EXPECT_FALSE(p.parts[0].isFile);
    EXPECT_EQ(p.parts[1].filename, "re\"port.txt");
    EXPECT_EQ(p.parts[1].contentType, "text/plain");
    EXPECT_EQ(p.parts[1].content, "line 1\r\nline 2"); // CRLF inside content stays
    EXPECT_TRUE(p.parts[2].isFile);                    // a file field with no file chosen
    EXPECT_EQ(p.parts[2].content, "");
}

TEST(MultipartTest, PreambleAndEpilogueAreIgnored)
{
    Parsed p = parse("ignored preamble\r\n" + field("a", "1") + "--B--\r\nepilogue");
    ASSERT_EQ(p.result, MultipartResult::Ok) << p.reason;
    ASSERT_EQ(p.parts.size(), 1u);
    EXPECT_EQ(p.parts[0].content, "1");
}

TEST(MultipartTest, MalformedBodiesAreRefusedWhole)
{
    const std::vector<std::string> corpus = {
        "",                                                                     // nothing
        "no boundary at all",                                                   //
        field("a", "1"),                                                        // no close delimiter
        field("a", "1") + "--Bx\r\n",                                           // a longer boundary
        "--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--",              // no name
        "--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--B--", // not form-data
        "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--",                    // no Content-Disposition
        "--B\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--B--",    // unterminated quote
        "--B\r\n Content-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B--", // folded header
        "--B\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; "
        "name=\"b\"\r\n\r\nx\r\n--B--",                                          // two dispositions
        "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", //
        "--B junk\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B--",
    };
    for (const std::string& body : corpus) {
        Parsed p = parse(body);
        EXPECT_EQ(p.result, MultipartResult::Malformed) << body;
        EXPECT_TRUE(p.parts.empty()) << body;
        EXPECT_FALSE(p.reason.empty()) << body;
    }
    EXPECT_EQ(parse(field("a", "1") + "--B--", {}, "").result, MultipartResult::Malformed);
}

TEST(MultipartTest, LimitsFromMultipartConfigAndTheContainer)
{
    core::MultipartLimits limits;
    limits.maxFileSize = 4;
    std::string file =
        "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n12345\r\n--B--";
    Parsed big = parse(file, limits);
    EXPECT_EQ(big.result, MultipartResult::TooLarge);
    EXPECT_EQ(big.reason, "part 1 (\"f\") is 5 bytes; <max-file-size> is 4");
    EXPECT_EQ(parse(field("f", "12345") + "--B--", limits).result, MultipartResult::Ok)
        << "fields are not files";

    limits = {};
    limits.maxRequestSize = 10;
    EXPECT_EQ(parse(field("f", "12345") + "--B--", limits).result, MultipartResult::TooLarge);

    limits = {};
    limits.maxParts = 2;
    EXPECT_EQ(parse(field("a", "1") + field("b", "2") + "--B--", limits).result, MultipartResult::Ok);
    EXPECT_EQ(parse(field("a", "1") + field("b", "2") + field("c", "3") + "--B--", limits).result,
              MultipartResult::TooLarge);

    limits = {};
    limits.maxHeaderBytes = 64;
    std::string longHeader =
        "--B\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: " + std::string(100, 'p') +
        "\r\n\r\nx\r\n--B--";
    EXPECT_EQ(parse(longHeader, limits).result, MultipartResult::Malformed);
}
