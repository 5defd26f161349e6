// The conf/web.xml that Serval ships: well-formed, and its table gives the expected types.
#include "servlets/MimeTypes.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <set>
#include <tinyxml2.h>

namespace {

struct ShippedDefaults
{
    std::vector<std::pair<std::string, std::string>> mappings;
    std::vector<std::string> welcomeFiles;
};

ShippedDefaults loadShipped()
{
    ShippedDefaults out;
    // SERVAL_SOURCE comes from CTest; the compiled-in SERVAL_SOURCE_DIR covers a direct run.
    std::string path = serval::test::env("SERVAL_SOURCE", SERVAL_SOURCE_DIR) + "/conf/web.xml";
    tinyxml2::XMLDocument doc;
    EXPECT_EQ(doc.LoadFile(path.c_str()), tinyxml2::XML_SUCCESS) << path << ": " << doc.ErrorStr();
    const tinyxml2::XMLElement* app = doc.FirstChildElement("web-app");
    if (app == nullptr) return out;
    for (auto* m = app->FirstChildElement("mime-mapping"); m; m = m->NextSiblingElement("mime-mapping")) {
        auto* ext = m->FirstChildElement("extension");
        auto* type = m->FirstChildElement("mime-type");
        EXPECT_TRUE(ext && type && ext->GetText() && type->GetText()) << "line " << m->GetLineNum();
        if (ext && type && ext->GetText() && type->GetText())
            out.mappings.emplace_back(ext->GetText(), type->GetText());
    }
    if (auto* list = app->FirstChildElement("welcome-file-list")) {
        for (auto* w = list->FirstChildElement("welcome-file"); w;
             w = w->NextSiblingElement("welcome-file")) {
            out.welcomeFiles.emplace_back(w->GetText() ? w->GetText() : "");
        }
    }
    return out;
}

} // namespace

TEST(ShippedWebXmlTest, WelcomeFilesAreIndexHtmlThenIndexHtm)
{
    EXPECT_EQ(loadShipped().welcomeFiles, (std::vector<std::string>{"index.html", "index.htm"}));
}

TEST(ShippedWebXmlTest, MapsTheCommonWebTypesOnceEach)
{
    ShippedDefaults shipped = loadShipped();
    EXPECT_GE(shipped.mappings.size(), 120u);
    std::set<std::string> seen;
    for (const auto& [ext, type] : shipped.mappings)
        EXPECT_TRUE(seen.insert(ext).second) << "duplicate " << ext;

    auto types = serval::servlets::mimeTypesFromPairs(shipped.mappings);
    const std::pair<const char*, const char*> expected[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"a.htm", "text/html; charset=utf-8"},
        {"a.css", "text/css; charset=utf-8"},
        {"a.js", "text/javascript; charset=utf-8"},
        {"a.mjs", "text/javascript; charset=utf-8"},
        {"a.json", "application/json; charset=utf-8"},
        {"a.xml", "application/xml; charset=utf-8"},
        {"a.txt", "text/plain; charset=utf-8"},
        {"a.svg", "image/svg+xml; charset=utf-8"},
        {"a.png", "image/png"},
        {"a.jpg", "image/jpeg"},
        {"a.jpeg", "image/jpeg"},
        {"a.gif", "image/gif"},
        {"a.webp", "image/webp"},
        {"a.avif", "image/avif"},
        {"favicon.ico", "image/vnd.microsoft.icon"},
        {"a.woff", "font/woff"},
        {"a.woff2", "font/woff2"},
        {"a.ttf", "font/ttf"},
        {"a.otf", "font/otf"},
        {"a.pdf", "application/pdf"},
        {"a.zip", "application/zip"},
        {"a.gz", "application/gzip"},
        {"a.tar", "application/x-tar"},
        {"a.wasm", "application/wasm"},
        {"a.mp4", "video/mp4"},
        {"a.webm", "video/webm"},
        {"a.mp3", "audio/mpeg"},
        {"a.ogg", "audio/ogg"},
        {"a.wav", "audio/wav"},
        {"a.csv", "text/csv; charset=utf-8"},
        {"a.md", "text/markdown; charset=utf-8"},
        {"a.js.map", "application/json; charset=utf-8"},
        {"site.webmanifest", "application/manifest+json; charset=utf-8"},
    };
    for (const auto& [name, type] : expected)
        EXPECT_EQ(types->lookup(name), type) << name;
}
