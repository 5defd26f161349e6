#include "support/TempDir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

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

void makeDirs(const std::string& path) { std::filesystem::create_directories(path); }

std::string env(const char* name, const std::string& fallback)
{
    const char* value = std::getenv(name);
    return value ? std::string(value) : fallback;
}

} // namespace serval::test
