#pragma once

#include <set>
#include <string>
#include <vector>

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
/// The names in `dir` (not "." or ".."), unsorted; empty if it cannot be read.
std::vector<std::string> listDirectory(const std::string& dir);
/// Every path below `dir`, relative ("a", "a/b"), without following links; top-level names in
/// `skip` are left out with everything under them. Lets a test assert what was written.
std::set<std::string> listTree(const std::string& dir, const std::set<std::string>& skip = {});
/// A base for a private serval in `base`: conf/server.xml with `<Server accessLog=""
/// serverAttributes>`, one `<Connector address="127.0.0.1" port="0" connectorAttributes/>` and the
/// localhost Host on webapps/, plus webapps/ROOT/`rootFile` holding `rootContent`.
void writeOneConnectorBase(const TempDir& base, const std::string& connectorAttributes,
                           const std::string& serverAttributes = "",
                           const std::string& rootFile = "hello.txt",
                           const std::string& rootContent = "Hello, World!");
/// Environment variable or fallback.
std::string env(const char* name, const std::string& fallback = "");

} // namespace serval::test
