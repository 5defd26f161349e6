#pragma once

#include <string>

namespace serval::test {

/// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir
{
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const noexcept { return _path; }
    /// path() + "/" + relative
    std::string file(const std::string& relative) const { return _path + "/" + relative; }
    /// Writes a file, creating parent directories.
    void write(const std::string& relative, const std::string& content) const;

private:
    std::string _path;
};

/// Reads a whole file; "" if missing.
std::string readFile(const std::string& path);
/// Creates a directory and its parents.
void makeDirs(const std::string& path);
/// Environment variable or fallback.
std::string env(const char* name, const std::string& fallback = "");

} // namespace serval::test
