#include "support/HostileCorpus.h"

#include "support/TempDir.h"

#include <fstream>
#include <unistd.h>

namespace serval::test {

ArchiveEntry fileEntry(const std::string& name, const std::string& content)
{
    return ArchiveEntry{name, content, ArchiveEntry::Kind::File, -1};
}

ArchiveEntry dirEntry(const std::string& name)
{
    return ArchiveEntry{name, "", ArchiveEntry::Kind::Directory, -1};
}

ArchiveEntry symlinkEntry(const std::string& name, const std::string& target)
{
    return ArchiveEntry{name, target, ArchiveEntry::Kind::Symlink, -1};
}

ArchiveEntry hardlinkEntry(const std::string& name, const std::string& target)
{
    return ArchiveEntry{name, target, ArchiveEntry::Kind::Hardlink, -1};
}

std::vector<ArchiveEntry> zipBomb(int files, size_t fileSize)
{
    std::vector<ArchiveEntry> entries;
    for (int i = 0; i < files; ++i)
        entries.push_back(zeros("z" + std::to_string(i), fileSize));
    return entries;
}

void writeTruncatedArchive(const std::string& path, ArchiveFormat format)
{
    std::string content(200000, 'a');
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>('a' + (i * 7919) % 26);
    std::string full = path + ".full";
    writeArchive(full, {fileEntry("a.txt", content), fileEntry("b.txt", content)}, format);
    std::string bytes = readFile(full);
    ::unlink(full.c_str());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
}

} // namespace serval::test
