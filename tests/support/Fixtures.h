#pragma once

#include <string>

namespace serval::test {

/// The fixture app `name` built by tests/fixtures/CMakeLists.txt (build/tests/fixtures/lib<name>.so).
inline std::string fixtureLibrary(const std::string& name)
{
    return std::string(SERVAL_FIXTURE_DIR) + "/lib" + name + ".so";
}

/// Copies a file, optionally patching bytes at `offset`.
std::string copyWithPatch(const std::string& from, const std::string& to, size_t offset = 0,
                          const std::string& patch = "");

} // namespace serval::test
