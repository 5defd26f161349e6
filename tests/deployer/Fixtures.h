#pragma once

#include <string>

namespace serval::test {

/// Paths of the fixture libraries built by tests/deployer/CMakeLists.txt.
inline std::string fixtureLibrary(const std::string& name)
{
    return std::string(SERVAL_DEPLOYER_FIXTURE_DIR) + "/lib" + name + ".so";
}
/// A binary whose main is serval::deployer::preflightMain (stands in for `serval preflight`).
inline std::string preflightDriver()
{
    return SERVAL_PREFLIGHT_DRIVER;
}

/// Copies a file, optionally patching bytes at `offset`.
std::string copyWithPatch(const std::string& from, const std::string& to, size_t offset = 0,
                          const std::string& patch = "");

} // namespace serval::test
