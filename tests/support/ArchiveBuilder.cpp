#include "support/ArchiveBuilder.h"

#include <archive.h>
#include <archive_entry.h>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace serval::test {

void writeArchive(const std::string& path, const std::vector<ArchiveEntry>& entries, ArchiveFormat format)
{
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
    if (format == ArchiveFormat::Zip) {
        archive_write_set_format_zip(a.get());
    } else {
        archive_write_set_format_pax_restricted(a.get());
        if (format == ArchiveFormat::TarGz) archive_write_add_filter_gzip(a.get());
    }
    if (archive_write_open_filename(a.get(), path.c_str()) != ARCHIVE_OK) {
        throw std::runtime_error(std::string("archive open: ") + archive_error_string(a.get()));
    }
    for (const ArchiveEntry& e : entries) {
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            archive_entry_free);
        archive_entry_set_pathname(entry.get(), e.name.c_str());
        archive_entry_set_mtime(entry.get(), 1700000000, 0);
        bool hasData = false;
        switch (e.kind) {
        case ArchiveEntry::Kind::File:
            archive_entry_set_filetype(entry.get(), AE_IFREG);
            archive_entry_set_perm(entry.get(), 0644);
            archive_entry_set_size(entry.get(),
                                   e.declaredSize >= 0 ? e.declaredSize : (long long)e.content.size());
            hasData = true;
            break;
        case ArchiveEntry::Kind::Directory:
            archive_entry_set_filetype(entry.get(), AE_IFDIR);
            archive_entry_set_perm(entry.get(), 0755);
            break;
        case ArchiveEntry::Kind::Symlink:
            archive_entry_set_filetype(entry.get(), AE_IFLNK);
            archive_entry_set_perm(entry.get(), 0777);
            archive_entry_set_symlink(entry.get(), e.content.c_str());
            break;
        case ArchiveEntry::Kind::Hardlink:
            archive_entry_set_filetype(entry.get(), AE_IFREG);
            archive_entry_set_perm(entry.get(), 0644);
            archive_entry_set_hardlink(entry.get(), e.content.c_str());
            archive_entry_set_size(entry.get(), 0);
            break;
        case ArchiveEntry::Kind::Fifo:
            archive_entry_set_filetype(entry.get(), AE_IFIFO);
            archive_entry_set_perm(entry.get(), 0644);
            break;
        case ArchiveEntry::Kind::CharDevice:
            archive_entry_set_filetype(entry.get(), AE_IFCHR);
            archive_entry_set_perm(entry.get(), 0644);
            archive_entry_set_rdev(entry.get(), makedev(1, 3));
            break;
        }
        if (archive_write_header(a.get(), entry.get()) < ARCHIVE_WARN) {
            throw std::runtime_error(std::string("archive header: ") + archive_error_string(a.get()));
        }
        if (hasData && !e.content.empty()) {
            archive_write_data(a.get(), e.content.data(), e.content.size());
        }
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
        throw std::runtime_error(std::string("archive close: ") + archive_error_string(a.get()));
    }
}

std::string incompressible(size_t size)
{
    std::string bytes(size, '\0');
    uint32_t x = 2463534242u;
    for (char& c : bytes) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    return bytes;
}

ArchiveEntry zeros(const std::string& name, size_t size)
{
    ArchiveEntry e;
    e.name = name;
    e.content.assign(size, '\0');
    return e;
}

std::string minimalWebXml(const std::string& displayName)
{
    return "<?xml version=\"1.0\"?>\n<web-app>\n  <display-name>" + displayName +
           "</display-name>\n</web-app>\n";
}

} // namespace serval::test
