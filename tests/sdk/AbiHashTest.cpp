// The ABI is the product's longest promise: abi.h may only change together with a version bump.
// abi.h.sha256 records the file's SHA-256 for each ABI version; this test recomputes it.
#include "support/TempDir.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <gtest/gtest.h>
#include <serval/abi.h>
#include <sstream>
#include <string>

namespace {

using serval::test::env;
using serval::test::readFile;

std::string sdkInclude()
{
    return env("SERVAL_SOURCE", SERVAL_SOURCE_DIR) + "/sdk/include/serval/";
}

TEST(AbiHashTest, AbiHeaderMatchesTheHashRecordedForItsVersion)
{
    std::string header = readFile(sdkInclude() + "abi.h");
    ASSERT_FALSE(header.empty()) << "cannot read abi.h under SERVAL_SOURCE=" << env("SERVAL_SOURCE");
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(header);
    std::string actual = Poco::DigestEngine::digestToHex(sha.digest());

    std::string version = std::to_string(SERVAL_ABI_MAJOR) + "." + std::to_string(SERVAL_ABI_MINOR);
    std::istringstream records(readFile(sdkInclude() + "abi.h.sha256"));
    std::string line;
    std::string recorded;
    while (std::getline(records, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string v, hash;
        fields >> v >> hash;
        if (v == version) recorded = hash;
    }
    ASSERT_FALSE(recorded.empty()) << "abi.h.sha256 has no line for ABI " << version
                                   << ": a new version needs its line \"" << version << " " << actual << "\"";
    EXPECT_EQ(recorded, actual)
        << "abi.h changed but SERVAL_ABI_MAJOR/MINOR still say " << version
        << ": bump the version (minor for additive changes) and append \"<new version> " << actual
        << "\" to abi.h.sha256";
}

TEST(AbiHashTest, EntryNameCarriesTheMajorVersion)
{
    EXPECT_EQ(std::string(SERVAL_APP_ENTRY_NAME), "serval_app_init_v" + std::to_string(SERVAL_ABI_MAJOR));
}

} // namespace
