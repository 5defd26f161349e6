#include "servlets/MimeTypes.h"

#include <gtest/gtest.h>

using serval::servlets::MimeTypes;
using serval::servlets::mimeTypesFromPairs;

TEST(MimeTypesTest, LooksUpExtensionIgnoringCase)
{
    MimeTypes types;
    types.add("png", "image/png");
    EXPECT_EQ(types.lookup("/a/b.png"), "image/png");
    EXPECT_EQ(types.lookup("/a/B.PNG"), "image/png");
    EXPECT_EQ(types.lookup("c.Png"), "image/png");
}

TEST(MimeTypesTest, UnknownOrMissingExtensionIsOctetStream)
{
    MimeTypes types;
    types.add("png", "image/png");
    EXPECT_EQ(types.lookup("/a/b.unknown"), "application/octet-stream");
    EXPECT_EQ(types.lookup("/a/README"), "application/octet-stream");
    EXPECT_EQ(types.lookup("/a/.png"), "application/octet-stream"); // dot file, no extension
    EXPECT_EQ(types.lookup("/a.png/file"), "application/octet-stream");
    EXPECT_EQ(types.lookup("/a/b."), "application/octet-stream");
}

TEST(MimeTypesTest, LastDotOfLastComponentCounts)
{
    MimeTypes types;
    types.add("gz", "application/gzip");
    types.add("tar", "application/x-tar");
    EXPECT_EQ(types.lookup("/x.tar.gz"), "application/gzip");
}

TEST(MimeTypesTest, TextualTypesGetUtf8Charset)
{
    MimeTypes types;
    types.add("html", "text/html");
    types.add("js", "application/javascript");
    types.add("json", "application/json");
    types.add("svg", "image/svg+xml");
    types.add("txt", "text/plain; charset=iso-8859-1");
    types.add("png", "image/png");
    EXPECT_EQ(types.lookup("a.html"), "text/html; charset=utf-8");
    EXPECT_EQ(types.lookup("a.js"), "application/javascript; charset=utf-8");
    EXPECT_EQ(types.lookup("a.json"), "application/json; charset=utf-8");
    EXPECT_EQ(types.lookup("a.svg"), "image/svg+xml; charset=utf-8");
    EXPECT_EQ(types.lookup("a.txt"), "text/plain; charset=iso-8859-1"); // explicit parameter kept
    EXPECT_EQ(types.lookup("a.png"), "image/png");
}

TEST(MimeTypesTest, LaterPairsOverrideEarlierOnes)
{
    auto types =
        mimeTypesFromPairs({{"md", "text/plain"}, {"MD", "text/markdown"}, {".wasm", "application/wasm"}});
    EXPECT_EQ(types->lookup("x.md"), "text/markdown; charset=utf-8");
    EXPECT_EQ(types->lookup("x.wasm"), "application/wasm");
    EXPECT_EQ(types->size(), 2u);
}

TEST(MimeTypesTest, OverlongExtensionIsOctetStream)
{
    MimeTypes types;
    std::string ext(40, 'a');
    types.add(ext, "text/plain");
    EXPECT_EQ(types.lookup("x." + ext), "application/octet-stream");
}

TEST(MimeTypesTest, BuildsFromAMergedWebXmlMap)
{
    std::map<std::string, std::string> merged{{"css", "text/css"}, {"png", "image/png"}};
    auto types = serval::servlets::mimeTypesFromMap(merged);
    EXPECT_EQ(types->lookup("/a.css"), "text/css; charset=utf-8");
    EXPECT_EQ(types->lookup("/a.png"), "image/png");
}
