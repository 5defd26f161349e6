// pack, inspect, verify: the bundle commands. They use the container's own extractor,
// validator and preflight, so `servalctl verify` refuses exactly what the server refuses,
// with the same one-line messages.
#include "Command.h"
#include "deployer/BundleExtractor.h"
#include "deployer/BundleValidator.h"
#include "deployer/Checksum.h"
#include "deployer/ContextName.h"
#include "deployer/ElfInspector.h"
#include "deployer/Preflight.h"
#include "util/FileDescriptor.h"
#include "util/Strings.h"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <ostream>
#include <sys/stat.h>
#include <tinyxml2.h>
#include <unistd.h>

namespace serval::ctl {

namespace {

using deployer::BundleExtractor;
using deployer::BundleValidator;
using deployer::ValidationReport;

/// The server's default preflight deadline; `verify --timeout MS` changes it.
constexpr std::chrono::milliseconds kPreflightDeadline{10'000};

std::string baseName(const std::string& path)
{
    std::string p = path;
    while (p.size() > 1 && p.back() == '/')
        p.pop_back();
    size_t slash = p.rfind('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
}

/// A temporary directory for unpacking, removed (without following links) on destruction.
class ScratchDir
{
public:
    ScratchDir()
    {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/servalctl-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) _path = pattern;
    }
    ~ScratchDir()
    {
        if (!_path.empty()) deployer::removeTree(_path);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    bool valid() const { return !_path.empty(); }
    std::string staging() const { return _path + "/bundle"; }

private:
    std::string _path;
};

/// Relative paths of everything under `root`, sorted; refuses anything but files and dirs.
bool walk(const std::string& root, const std::string& relative,
          std::vector<std::pair<std::string, bool>>& out, std::string& error)
{
    std::string dirPath = relative.empty() ? root : root + "/" + relative;
    DIR* dir = ::opendir(dirPath.c_str());
    if (dir == nullptr) {
        error = dirPath + ": cannot be read (" + std::strerror(errno) + ")";
        return false;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
        std::string rel = relative.empty() ? n : relative + "/" + n;
        struct stat st;
        if (::lstat((root + "/" + rel).c_str(), &st) != 0) {
            error = root + "/" + rel + ": cannot be read (" + std::strerror(errno) + ")";
            return false;
        }
        if (S_ISLNK(st.st_mode)) {
            error = root + "/" + rel +
                    " is a symbolic link; bundles may hold only regular files and directories: "
                    "replace the link with a copy of its target";
            return false;
        }
        if (S_ISDIR(st.st_mode)) {
            out.emplace_back(rel, true);
            if (!walk(root, rel, out, error)) return false;
        } else if (S_ISREG(st.st_mode)) {
            out.emplace_back(rel, false);
        } else {
            error =
                root + "/" + rel + " is not a regular file or directory; remove it from the app directory";
            return false;
        }
    }
    return true;
}

bool writeZip(const std::string& root, const std::vector<std::pair<std::string, bool>>& entries,
              const std::string& output, std::string& error)
{
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
    archive_write_set_format_zip(a.get());
    if (archive_write_open_filename(a.get(), output.c_str()) != ARCHIVE_OK) {
        error = output + ": cannot be written (" + archive_error_string(a.get()) + ")";
        return false;
    }
    std::vector<char> buffer(256 * 1024);
    for (const auto& [rel, isDir] : entries) {
        std::string full = root + "/" + rel;
        struct stat st;
        if (::lstat(full.c_str(), &st) != 0) {
            error = full + ": cannot be read (" + std::strerror(errno) + ")";
            return false;
        }
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            archive_entry_free);
        archive_entry_set_pathname(entry.get(), isDir ? (rel + "/").c_str() : rel.c_str());
        archive_entry_set_filetype(entry.get(), isDir ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(entry.get(), isDir ? 0755 : 0644);
        archive_entry_set_mtime(entry.get(), st.st_mtime, 0);
        if (!isDir) archive_entry_set_size(entry.get(), st.st_size);
        if (archive_write_header(a.get(), entry.get()) < ARCHIVE_WARN) {
            error = output + ": cannot add " + rel + " (" + archive_error_string(a.get()) + ")";
            return false;
        }
        if (isDir) continue;
        util::FileDescriptor fd(::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) {
            error = full + ": cannot be read (" + std::strerror(errno) + ")";
            return false;
        }
        while (true) {
            ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                error = full + ": cannot be read (" + std::strerror(errno) + ")";
                return false;
            }
            if (n == 0) break;
            if (archive_write_data(a.get(), buffer.data(), static_cast<size_t>(n)) < 0) {
                error = output + ": cannot be written (" + archive_error_string(a.get()) + ")";
                return false;
            }
        }
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
        error = output + ": cannot be written (" + archive_error_string(a.get()) + ")";
        return false;
    }
    return true;
}

/// The container's checks on an unpacked bundle, in the container's order: validate, then
/// preflight the app library in a child process.
bool checkUnpacked(const std::string& root, const std::string& label, bool requireDescriptor,
                   std::chrono::milliseconds deadline, ValidationReport& report, std::string& detail,
                   std::string& error)
{
    if (!BundleValidator::validate(root, label, requireDescriptor, report, error)) return false;
    auto context = deployer::ContextName::fromFileName(label);
    for (const std::string& lib : report.libraries) {
        auto result = deployer::runPreflight(deployer::selfExecutable(), root + "/" + lib,
                                             context ? context->displayPath() : "/", deadline);
        if (!result.ok) {
            error = label + ": " + result.detail;
            return false;
        }
        detail += (detail.empty() ? "" : "; ") + result.detail;
    }
    return true;
}

void printList(std::ostream& out, const char* title, const std::vector<std::string>& items)
{
    out << title;
    if (items.empty()) out << "(none)\n";
    for (size_t i = 0; i < items.size(); ++i) {
        out << (i == 0 ? "" : "              ") << items[i] << "\n";
    }
}

/// The descriptor summary for `inspect`: display name, servlets with their mappings, filters.
void printDescriptor(std::ostream& out, const std::string& webXml)
{
    tinyxml2::XMLDocument doc;
    if (doc.LoadFile(webXml.c_str()) != tinyxml2::XML_SUCCESS || doc.RootElement() == nullptr) return;
    const tinyxml2::XMLElement* app = doc.RootElement();
    auto text = [](const tinyxml2::XMLElement* parent, const char* name) {
        const tinyxml2::XMLElement* e = parent->FirstChildElement(name);
        return std::string(e && e->GetText() ? e->GetText() : "");
    };
    auto patterns = [&](const char* mappingName, const char* nameElement) {
        std::map<std::string, std::vector<std::string>> byName;
        for (auto* m = app->FirstChildElement(mappingName); m; m = m->NextSiblingElement(mappingName)) {
            std::string name = text(m, nameElement);
            for (auto* p = m->FirstChildElement("url-pattern"); p; p = p->NextSiblingElement("url-pattern")) {
                byName[name].push_back(p->GetText() ? p->GetText() : "\"\"");
            }
            for (auto* s = m->FirstChildElement("servlet-name");
                 s && std::string(nameElement) != "servlet-name"; s = s->NextSiblingElement("servlet-name")) {
                byName[name].push_back(std::string("servlet ") + (s->GetText() ? s->GetText() : ""));
            }
        }
        return byName;
    };
    auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (const std::string& x : v)
            s += (s.empty() ? "" : ", ") + x;
        return s.empty() ? std::string("(not mapped)") : s;
    };
    std::string display = text(app, "display-name");
    out << "display name: " << (display.empty() ? "(none)" : display) << "\n";
    auto servletMaps = patterns("servlet-mapping", "servlet-name");
    std::vector<std::string> servlets;
    for (auto* s = app->FirstChildElement("servlet"); s; s = s->NextSiblingElement("servlet")) {
        std::string name = text(s, "servlet-name");
        servlets.push_back(name + " (" + text(s, "servlet-class") + ") -> " + join(servletMaps[name]));
    }
    printList(out, "servlets:     ", servlets);
    auto filterMaps = patterns("filter-mapping", "filter-name");
    std::vector<std::string> filters;
    for (auto* f = app->FirstChildElement("filter"); f; f = f->NextSiblingElement("filter")) {
        std::string name = text(f, "filter-name");
        filters.push_back(name + " (" + text(f, "filter-class") + ") -> " + join(filterMaps[name]));
    }
    printList(out, "filters:      ", filters);
    std::vector<std::string> listeners;
    for (auto* l = app->FirstChildElement("listener"); l; l = l->NextSiblingElement("listener")) {
        listeners.push_back(text(l, "listener-class"));
    }
    if (!listeners.empty()) printList(out, "listeners:    ", listeners);
}

/// Unpacks `bundle` into `scratch` with the container's extractor.
bool unpack(const std::string& bundle, const ScratchDir& scratch, const std::string& label,
            deployer::ExtractionResult& result, Io& io)
{
    if (!scratch.valid()) {
        io.err << label << ": cannot create a temporary directory (" << std::strerror(errno)
               << "); set TMPDIR to a writable directory\n";
        return false;
    }
    std::string error;
    BundleExtractor extractor;
    if (!extractor.extractFile(bundle, scratch.staging(), label, result, error)) {
        io.err << error << "\n";
        return false;
    }
    return true;
}

} // namespace

int packCommand(const std::vector<std::string>& args, Io& io)
{
    std::string dir, output;
    for (size_t i = 0; i < args.size(); ++i) {
        if ((args[i] == "-o" || args[i] == "--output") && i + 1 < args.size()) {
            output = args[++i];
        } else if (dir.empty() && !args[i].empty() && args[i][0] != '-') {
            dir = args[i];
        } else {
            io.err << "servalctl pack: unexpected argument \"" << args[i]
                   << "\"; usage: servalctl pack DIR -o NAME.sar\n";
            return Usage;
        }
    }
    if (dir.empty() || output.empty()) {
        io.err << "usage: servalctl pack DIR -o NAME.sar\n";
        return Usage;
    }
    std::string label = baseName(output);
    if (!deployer::ContextName::isBundleFileName(label) || !deployer::ContextName::fromFileName(label)) {
        io.err << "servalctl pack: \"" << label
               << "\" is not a bundle name; use NAME.sar (ROOT.sar, shop.sar, a#b.sar, shop##2.sar)\n";
        return Usage;
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        io.err << "servalctl pack: " << dir << " is not a directory; give the exploded app directory\n";
        return Usage;
    }
    ValidationReport report;
    std::string error;
    if (!BundleValidator::validate(dir, label, true, report, error)) {
        io.err << error << "\n";
        return Failed;
    }
    std::vector<std::pair<std::string, bool>> entries;
    if (!walk(dir, "", entries, error)) {
        io.err << label << ": " << error << "\n";
        return Failed;
    }
    deployer::ExtractionLimits limits;
    if (entries.size() > limits.maxEntries) {
        io.err << label << ": holds more than " << limits.maxEntries
               << " entries (maxBundleEntries); raise the limit on the Host or make the bundle smaller\n";
        return Failed;
    }
    std::string temporary = output + ".tmp";
    if (!writeZip(dir, entries, temporary, error)) {
        ::unlink(temporary.c_str());
        io.err << error << "\n";
        return Failed;
    }
    if (::rename(temporary.c_str(), output.c_str()) != 0) {
        io.err << output << ": cannot be written (" << std::strerror(errno) << ")\n";
        ::unlink(temporary.c_str());
        return Failed;
    }
    io.out << "packed " << output << ": " << entries.size() << " entries, sha256 "
           << deployer::sha256File(output).value_or("?") << "\n";
    return Ok;
}

int inspectCommand(const std::vector<std::string>& args, Io& io)
{
    if (args.size() != 1) {
        io.err << "usage: servalctl inspect NAME.sar\n";
        return Usage;
    }
    const std::string& bundle = args[0];
    std::string label = baseName(bundle);
    auto checksum = deployer::sha256File(bundle);
    if (!checksum) {
        io.err << label << ": cannot be read (" << std::strerror(errno) << "); check the path\n";
        return Failed;
    }
    ScratchDir scratch;
    deployer::ExtractionResult unpacked;
    if (!unpack(bundle, scratch, label, unpacked, io)) return Failed;
    auto context = deployer::ContextName::fromFileName(label);
    std::ostream& out = io.out;
    out << "bundle:       " << label << "\n";
    if (context) {
        out << "context:      " << context->displayPath();
        if (!context->version.empty()) out << " (version " << context->version << ")";
        out << "\n";
    } else {
        out << "context:      (the file name is not deployable: use NAME.sar)\n";
    }
    out << "sha256:       " << *checksum << "\n";
    out << "files:        " << unpacked.files << " files, " << unpacked.directories << " directories, "
        << unpacked.bytes << " bytes\n";
    std::string webXml = scratch.staging() + "/WEB-INF/web.xml";
    printDescriptor(out, webXml);

    ValidationReport report;
    std::string error;
    bool valid = BundleValidator::validate(scratch.staging(), label, true, report, error);
    std::vector<std::string> libraries;
    for (const std::string& lib : report.libraries) {
        deployer::ElfInfo info;
        std::string why;
        std::string line = lib;
        if (deployer::ElfInspector::inspect(scratch.staging() + "/" + lib,
                                            deployer::ElfInspector::kEntrySymbol, info, why)) {
            line +=
                " (" + info.machineName +
                (info.sharedObject ? ", shared library" : ", not a shared library") +
                (info.exportsEntry ? ", exports " + std::string(deployer::ElfInspector::kEntrySymbol) : "") +
                ")";
        } else {
            line += " (" + why + ")";
        }
        libraries.push_back(line);
    }
    printList(out, "libraries:    ", libraries);
    out << "ABI:          "
        << (report.libraries.empty() ? "none (static files only)"
                                     : "entry " + std::string(deployer::ElfInspector::kEntrySymbol) +
                                           " (ABI major 1); `servalctl verify` loads it to check the minor")
        << "\n";
    out << "checks:       "
        << (valid ? "descriptor and libraries ok (run `servalctl verify` to preflight)" : error) << "\n";
    return Ok;
}

int verifyCommand(const std::vector<std::string>& args, Io& io)
{
    std::chrono::milliseconds deadline = kPreflightDeadline;
    std::vector<std::string> targets;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--timeout" && i + 1 < args.size()) {
            auto ms = util::parseUnsigned(args[++i]);
            if (!ms || *ms == 0 || *ms > 600'000) {
                io.err << "servalctl verify: --timeout takes milliseconds between 1 and 600000\n";
                return Usage;
            }
            deadline = std::chrono::milliseconds(*ms);
        } else {
            targets.push_back(args[i]);
        }
    }
    if (targets.size() != 1) {
        io.err << "usage: servalctl verify [--timeout MS] NAME.sar|DIR\n";
        return Usage;
    }
    const std::string& target = targets[0];
    std::string label = baseName(target);
    struct stat st;
    if (::stat(target.c_str(), &st) != 0) {
        io.err << label << ": cannot be read (" << std::strerror(errno) << "); check the path\n";
        return Failed;
    }
    ValidationReport report;
    std::string detail, error;
    if (S_ISDIR(st.st_mode)) {
        if (!checkUnpacked(target, label, false, deadline, report, detail, error)) {
            io.err << error << "\n";
            return Failed;
        }
        io.out << label << ": ok" << (detail.empty() ? "" : " (" + detail + ")") << "\n";
        return Ok;
    }
    ScratchDir scratch;
    deployer::ExtractionResult unpacked;
    if (!unpack(target, scratch, label, unpacked, io)) return Failed;
    if (!checkUnpacked(scratch.staging(), label, true, deadline, report, detail, error)) {
        io.err << error << "\n";
        return Failed;
    }
    io.out << label << ": ok (" << unpacked.files << " files, " << unpacked.bytes << " bytes"
           << (detail.empty() ? "" : "; " + detail) << ")\n";
    return Ok;
}

} // namespace serval::ctl
