// docs/sdk.md is a tutorial that must work when followed verbatim: this test takes its blocks in
// order, writes each file it shows (a block right after a **`path`** line) and runs each `sh`
// block, in one bash with `set -euo pipefail`, in an empty directory, against a real serval whose
// base plays the Serval checkout ($SERVAL) and an SDK installed from this build ($SDK), once with
// the app in worker processes (isolation="process", the default) and once in the server. The files
// it shows must be the sample's (sdk/examples/guestbook), so the two never drift apart.
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

using namespace serval::test;
using ::testing::HasSubstr;

namespace {

namespace fs = std::filesystem;

struct Block
{
    std::string language; ///< the fence's info string: "sh", "cpp", "console", ...
    std::string file;     ///< the **`path`** label before it; "" for none
    std::string text;
};

/// The fenced blocks of a Markdown file, in order.
std::vector<Block> blocks(const std::string& markdown)
{
    std::vector<Block> out;
    std::istringstream in(markdown);
    std::string line, label;
    Block* open = nullptr;
    while (std::getline(in, line)) {
        if (open != nullptr) {
            if (line == "```") {
                open = nullptr;
            } else {
                open->text += line + "\n";
            }
        } else if (line.rfind("```", 0) == 0) {
            out.push_back(Block{line.substr(3), label, ""});
            open = &out.back();
            label.clear();
        } else if (line.size() > 6 && line.rfind("**`", 0) == 0 &&
                   line.compare(line.size() - 3, 3, "`**") == 0) {
            label = line.substr(3, line.size() - 6);
        } else if (!line.empty()) {
            label.clear(); // a label belongs to the block right after it
        }
    }
    return out;
}

std::string sourceDir()
{
    return env("SERVAL_SOURCE", SERVAL_SOURCE_DIR);
}

int run(const std::string& command, std::string& output, const std::string& outputFile)
{
    int status = std::system((command + " > '" + outputFile + "' 2>&1").c_str());
    output = readFile(outputFile);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SdkTutorialTest, TheFilesTheTutorialShowsAreTheGuestbookSample)
{
    std::vector<Block> all = blocks(readFile(sourceDir() + "/docs/sdk.md"));
    size_t files = 0;
    for (const Block& block : all) {
        if (block.file.empty()) continue;
        ++files;
        EXPECT_EQ(block.text, readFile(sourceDir() + "/sdk/examples/guestbook/" + block.file))
            << block.file << " in docs/sdk.md differs from sdk/examples/guestbook/" << block.file;
    }
    std::set<std::string> sample;
    std::string root = sourceDir() + "/sdk/examples/guestbook";
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file()) sample.insert(entry.path().lexically_relative(root).string());
    }
    EXPECT_EQ(files, sample.size()) << "every file of the sample is in the tutorial, once";
}

TEST(SdkTutorialTest, TheGuestbookIsAtMost200LinesOfCxx)
{
    std::istringstream source(readFile(sourceDir() + "/sdk/examples/guestbook/Guestbook.cpp"));
    size_t lines = 0;
    for (std::string line; std::getline(source, line);)
        ++lines;
    EXPECT_LE(lines, 200u) << "issue 14: the guestbook shows the shortest honest code";
}

/// The Host's isolation attribute: "process" (the default) or "none".
class SdkTutorialModeTest : public ::testing::TestWithParam<std::string>
{
};

TEST_P(SdkTutorialModeTest, FollowedVerbatimFromAnEmptyFolderToALiveUpgrade)
{
    TempDir base;
    base.write("conf/server.xml",
               "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
               "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"1\" workerThreads=\"4\"/>\n"
               "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\""
               " deployStabilityDelay=\"100\" isolation=\"" +
                   GetParam() +
                   "\"/></Engine>\n"
                   "</Server>\n");
    fs::copy_file(sourceDir() + "/conf/web.xml", base.file("conf/web.xml"));
    makeDirs(base.file("webapps"));
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error() << "\n" << server.log();

    TempDir work;
    std::string output;
    std::string sdk = work.file("sdk");
    ASSERT_EQ(run("cmake --install '" + env("SERVAL_BUILD", SERVAL_BUILD_DIR) +
                      "' --component sdk --prefix '" + sdk + "'",
                  output, work.file("install.log")),
              0)
        << output;

    std::string script = "set -euo pipefail\n";
    for (const Block& block : blocks(readFile(sourceDir() + "/docs/sdk.md"))) {
        if (!block.file.empty()) {
            script += "mkdir -p \"$(dirname '" + block.file + "')\"\ncat > '" + block.file +
                      "' <<'SERVAL_TUTORIAL_EOF'\n" + block.text + "SERVAL_TUTORIAL_EOF\n";
        } else if (block.language == "sh") {
            script += block.text;
        }
    }
    makeDirs(work.file("folder"));
    std::ofstream(work.file("tutorial.sh")) << script;
    std::string url = "http://127.0.0.1:" + std::to_string(server.port());
    int rc = run("cd '" + work.file("folder") + "' && env SERVAL='" + base.path() + "' SDK='" + sdk +
                     "' URL='" + url + "' timeout 240 bash -x '" + work.file("tutorial.sh") + "'",
                 output, work.file("tutorial.log"));
    ASSERT_EQ(rc, 0) << "the tutorial failed; its output (bash -x):\n"
                     << output << "\nserver log:\n"
                     << server.log();
    EXPECT_THAT(output, HasSubstr("303 " + url + "/guestbook/"));
    EXPECT_THAT(output, HasSubstr("<p>Hello, &lt;b&gt;world&lt;/b&gt;</p>"));
    EXPECT_THAT(output, HasSubstr("Ada's entry is gone"));
    EXPECT_THAT(output, HasSubstr("Content-Security-Policy: default-src 'self'"));
    EXPECT_THAT(output, HasSubstr("HTTP/1.1 404"));
    EXPECT_THAT(output, HasSubstr("still signed in after the upgrade"));
    EXPECT_THAT(output, HasSubstr("signed out: the old session deletes nothing"));
    EXPECT_TRUE(fs::exists(base.file("data/localhost/guestbook/main.db")));
    EXPECT_EQ(server.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Isolation, SdkTutorialModeTest, ::testing::Values("process", "none"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

} // namespace
