#include "support/TempDir.h"

#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace serval::test {

TempDir::TempDir()
{
    std::string pattern = (std::filesystem::temp_directory_path() / "serval-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    _path = pattern;
}

TempDir::~TempDir()
{
    std::error_code ignored;
    std::filesystem::remove_all(_path, ignored);
}

void TempDir::write(const std::string& relative, const std::string& content) const
{
    std::filesystem::path p = std::filesystem::path(_path) / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void makeDirs(const std::string& path)
{
    std::filesystem::create_directories(path);
}

std::vector<std::string> listDirectory(const std::string& dir)
{
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") out.push_back(n);
        }
        ::closedir(d);
    }
    return out;
}

namespace {
void addTree(const std::string& dir, const std::string& prefix, const std::set<std::string>& skip,
             std::set<std::string>& out)
{
    for (const std::string& n : listDirectory(dir)) {
        if (prefix.empty() && skip.count(n) > 0) continue;
        out.insert(prefix + n);
        struct stat st;
        if (::lstat((dir + "/" + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            addTree(dir + "/" + n, prefix + n + "/", {}, out);
        }
    }
}
} // namespace

std::set<std::string> listTree(const std::string& dir, const std::set<std::string>& skip)
{
    std::set<std::string> out;
    addTree(dir, "", skip, out);
    return out;
}

std::string env(const char* name, const std::string& fallback)
{
    const char* value = std::getenv(name);
    return value ? std::string(value) : fallback;
}

void writeOneConnectorBase(const TempDir& base, const std::string& connectorAttributes,
                           const std::string& serverAttributes, const std::string& rootFile,
                           const std::string& rootContent)
{
    base.write("conf/server.xml", "<Server accessLog=\"\" " + serverAttributes +
                                      ">\n"
                                      "  <Connector address=\"127.0.0.1\" port=\"0\" " +
                                      connectorAttributes +
                                      "/>\n"
                                      "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" "
                                      "appBase=\"webapps\"/></Engine>\n"
                                      "</Server>\n");
    base.write("webapps/ROOT/" + rootFile, rootContent);
}

} // namespace serval::test
