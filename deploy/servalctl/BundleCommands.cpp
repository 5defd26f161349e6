// pack, inspect, verify: the bundle commands. They use the container's own extractor and
// validator (container/bundle), and verify runs `serval preflight` exactly as a deploy does, so
// `servalctl verify` refuses what the server refuses, with the same one-line messages.
#include "Command.h"
#include "bundle/BundleExtractor.h"
#include "bundle/BundleValidator.h"
#include "bundle/Checksum.h"
#include "bundle/ContextName.h"
#include "bundle/ElfInspector.h"
#include "bundle/Preflight.h"
#include "datasource/Migration.h"
#include "util/Expected.h"
#include "util/FileDescriptor.h"
#include "util/Strings.h"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <ostream>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::ctl {

namespace {

using bundle::BundleValidator;
using bundle::ValidationReport;
using util::failure;

/// The server's default preflight deadline; `verify --timeout MS` changes it.
constexpr std::chrono::milliseconds kPreflightDeadline{10'000};

/// Names the serval binary verify preflights with (overrides the one next to servalctl).
constexpr const char* kServalBinaryVariable = "SERVAL_BINARY";

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
        if (!_path.empty()) bundle::removeTree(_path);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    bool valid() const { return !_path.empty(); }
    std::string staging() const { return _path + "/bundle"; }

private:
    std::string _path;
};

using Entries = std::vector<std::pair<std::string, bool>>; ///< relative path, is a directory

/// Relative paths of everything under `root`, sorted, into `out`; refuses anything but files
/// and directories.
util::Outcome walk(const std::string& root, const std::string& relative, Entries& out)
{
    std::string dirPath = relative.empty() ? root : root + "/" + relative;
    DIR* dir = ::opendir(dirPath.c_str());
    if (dir == nullptr) return failure(dirPath + ": cannot be read (" + std::strerror(errno) + ")");
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
        if (::lstat((root + "/" + rel).c_str(), &st) != 0)
            return failure(root + "/" + rel + ": cannot be read (" + std::strerror(errno) + ")");
        if (S_ISLNK(st.st_mode)) {
            return failure(root + "/" + rel +
                           " is a symbolic link; bundles may hold only regular files and directories: "
                           "replace the link with a copy of its target");
        }
        if (S_ISDIR(st.st_mode)) {
            out.emplace_back(rel, true);
            util::Outcome below = walk(root, rel, out);
            if (!below) return below;
        } else if (S_ISREG(st.st_mode)) {
            out.emplace_back(rel, false);
        } else {
            return failure(root + "/" + rel +
                           " is not a regular file or directory; remove it from the app directory");
        }
    }
    return {};
}

util::Outcome writeZip(const std::string& root, const Entries& entries, const std::string& output)
{
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
    archive_write_set_format_zip(a.get());
    if (archive_write_open_filename(a.get(), output.c_str()) != ARCHIVE_OK)
        return failure(output + ": cannot be written (" + archive_error_string(a.get()) + ")");
    std::vector<char> buffer(256 * 1024);
    for (const auto& [rel, isDir] : entries) {
        std::string full = root + "/" + rel;
        struct stat st;
        if (::lstat(full.c_str(), &st) != 0)
            return failure(full + ": cannot be read (" + std::strerror(errno) + ")");
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            archive_entry_free);
        archive_entry_set_pathname(entry.get(), isDir ? (rel + "/").c_str() : rel.c_str());
        archive_entry_set_filetype(entry.get(), isDir ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(entry.get(), isDir ? 0755 : 0644);
        archive_entry_set_mtime(entry.get(), st.st_mtime, 0);
        if (!isDir) archive_entry_set_size(entry.get(), st.st_size);
        if (archive_write_header(a.get(), entry.get()) < ARCHIVE_WARN)
            return failure(output + ": cannot add " + rel + " (" + archive_error_string(a.get()) + ")");
        if (isDir) continue;
        util::FileDescriptor fd(::open(full.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return failure(full + ": cannot be read (" + std::strerror(errno) + ")");
        while (true) {
            ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return failure(full + ": cannot be read (" + std::strerror(errno) + ")");
            if (n == 0) break;
            if (archive_write_data(a.get(), buffer.data(), static_cast<size_t>(n)) < 0)
                return failure(output + ": cannot be written (" + archive_error_string(a.get()) + ")");
        }
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK)
        return failure(output + ": cannot be written (" + archive_error_string(a.get()) + ")");
    return {};
}

/// The serval binary `verify` preflights with: --serval PATH, else $SERVAL_BINARY, else the
/// `serval` next to this servalctl (both are installed side by side).
std::string servalBinary(const std::string& option)
{
    if (!option.empty()) return option;
    const char* fromEnvironment = std::getenv(kServalBinaryVariable);
    if (fromEnvironment != nullptr && *fromEnvironment != '\0') return fromEnvironment;
    std::string self = bundle::selfExecutable();
    return self.substr(0, self.rfind('/') + 1) + "serval";
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
std::string joinTargets(const std::vector<std::string>& targets)
{
    std::string s;
    for (const std::string& t : targets)
        s += (s.empty() ? "" : ", ") + (t.empty() ? std::string("\"\"") : t);
    return s.empty() ? std::string("(not mapped)") : s;
}

/// The descriptor summary for `inspect`: display name, servlets and filters with their
/// mappings, listeners.
void printDescriptor(std::ostream& out, const config::WebAppConfig& web)
{
    out << "display name: " << (web.displayName.empty() ? "(none)" : web.displayName) << "\n";
    std::vector<std::string> servlets;
    for (const config::ServletDef& servlet : web.servlets) {
        std::vector<std::string> targets;
        for (const config::ServletMappingDef& m : web.servletMappings) {
            if (m.servletName == servlet.name)
                targets.insert(targets.end(), m.urlPatterns.begin(), m.urlPatterns.end());
        }
        servlets.push_back(servlet.name + " (" + servlet.className + ") -> " + joinTargets(targets));
    }
    printList(out, "servlets:     ", servlets);
    std::vector<std::string> filters;
    for (const config::FilterDef& filter : web.filters) {
        std::vector<std::string> targets;
        for (const config::FilterMappingDef& m : web.filterMappings) {
            if (m.filterName != filter.name) continue;
            targets.insert(targets.end(), m.urlPatterns.begin(), m.urlPatterns.end());
            for (const std::string& servletName : m.servletNames)
                targets.push_back("servlet " + servletName);
        }
        filters.push_back(filter.name + " (" + filter.className + ") -> " + joinTargets(targets));
    }
    printList(out, "filters:      ", filters);
    if (!web.listeners.empty()) printList(out, "listeners:    ", web.listeners);
}

/// Unpacks `bundle` into `scratch` with the container's extractor.
util::Expected<bundle::ExtractionResult> unpack(const std::string& bundle, const ScratchDir& scratch,
                                                const std::string& label)
{
    if (!scratch.valid()) {
        return failure(label + ": cannot create a temporary directory (" + std::strerror(errno) +
                       "); set TMPDIR to a writable directory");
    }
    return bundle::BundleExtractor().extractFile(bundle, scratch.staging(), label);
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
    if (!bundle::ContextName::isBundleFileName(label) || !bundle::ContextName::fromFileName(label)) {
        io.err << "servalctl pack: \"" << label
               << "\" is not a bundle name; use NAME.sar (ROOT.sar, shop.sar, a#b.sar, shop##2.sar)\n";
        return Usage;
    }
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        io.err << "servalctl pack: " << dir << " is not a directory; give the exploded app directory\n";
        return Usage;
    }
    util::Expected<ValidationReport> report = BundleValidator::validate(dir, label, true);
    if (!report) {
        io.err << report.error() << "\n";
        return Failed;
    }
    Entries entries;
    util::Outcome walked = walk(dir, "", entries);
    if (!walked) {
        io.err << label << ": " << walked.error() << "\n";
        return Failed;
    }
    bundle::ExtractionLimits limits;
    if (entries.size() > limits.maxEntries) {
        io.err << label << ": holds more than " << limits.maxEntries
               << " entries (maxBundleEntries); raise the limit on the Host or make the bundle smaller\n";
        return Failed;
    }
    std::string temporary = output + ".tmp";
    util::Outcome written = writeZip(dir, entries, temporary);
    if (!written) {
        ::unlink(temporary.c_str());
        io.err << written.error() << "\n";
        return Failed;
    }
    if (::rename(temporary.c_str(), output.c_str()) != 0) {
        io.err << output << ": cannot be written (" << std::strerror(errno) << ")\n";
        ::unlink(temporary.c_str());
        return Failed;
    }
    io.out << "packed " << output << ": " << entries.size() << " entries, sha256 "
           << bundle::sha256File(output).value_or("?") << "\n";
    return Ok;
}

int inspectCommand(const std::vector<std::string>& args, Io& io)
{
    if (args.size() != 1) {
        io.err << "usage: servalctl inspect NAME.sar\n";
        return Usage;
    }
    const std::string& bundlePath = args[0];
    std::string label = baseName(bundlePath);
    ScratchDir scratch;
    util::Expected<bundle::ExtractionResult> unpacked = unpack(bundlePath, scratch, label);
    if (!unpacked) {
        io.err << unpacked.error() << "\n";
        return Failed;
    }
    auto context = bundle::ContextName::fromFileName(label);
    std::ostream& out = io.out;
    out << "bundle:       " << label << "\n";
    if (context) {
        out << "context:      " << context->displayPath();
        if (!context->version.empty()) out << " (version " << context->version << ")";
        out << "\n";
    } else {
        out << "context:      (the file name is not deployable: use NAME.sar)\n";
    }
    out << "sha256:       " << unpacked->sha256 << "\n";
    out << "files:        " << unpacked->files << " files, " << unpacked->directories << " directories, "
        << unpacked->bytes << " bytes\n";

    // validate()'s steps one by one, so a bundle that fails still shows what it holds.
    const std::string root = scratch.staging();
    auto descriptor = BundleValidator::readDescriptor(root, label, true);
    if (descriptor && *descriptor) printDescriptor(out, **descriptor);
    std::vector<std::string> found = BundleValidator::findLibraries(root);
    util::Outcome checks = descriptor ? BundleValidator::checkLibraries(root, label, *descriptor, found)
                                      : util::Outcome(descriptor.failure());
    std::vector<std::string> libraries;
    for (const std::string& lib : found) {
        util::Expected<bundle::ElfInfo> info =
            bundle::ElfInspector::inspect(root + "/" + lib, bundle::ElfInspector::kEntrySymbol);
        std::string line = lib;
        if (info) {
            line +=
                " (" + info->machineName +
                (info->sharedObject ? ", shared library" : ", not a shared library") +
                (info->exportsEntry ? ", exports " + std::string(bundle::ElfInspector::kEntrySymbol) : "") +
                ")";
        } else {
            line += " (" + info.error() + ")";
        }
        libraries.push_back(line);
    }
    printList(out, "libraries:    ", libraries);
    out << "ABI:          "
        << (found.empty() ? "none (static files only)"
                          : "entry " + std::string(bundle::ElfInspector::kEntrySymbol) +
                                " (ABI major 1); `servalctl verify` loads it to check the minor")
        << "\n";
    out << "checks:       "
        << (checks ? "descriptor and libraries ok (run `servalctl verify` to preflight)" : checks.error())
        << "\n";
    return Ok;
}

int verifyCommand(const std::vector<std::string>& args, Io& io)
{
    const char* usage = "usage: servalctl verify [--timeout MS] [--serval PATH] NAME.sar|DIR\n";
    std::chrono::milliseconds deadline = kPreflightDeadline;
    std::string servalOption;
    std::vector<std::string> targets;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--timeout" && i + 1 < args.size()) {
            auto ms = util::parseUnsigned(args[++i]);
            if (!ms || *ms == 0 || *ms > 600'000) {
                io.err << "servalctl verify: --timeout takes milliseconds between 1 and 600000\n";
                return Usage;
            }
            deadline = std::chrono::milliseconds(*ms);
        } else if (args[i] == "--serval" && i + 1 < args.size()) {
            servalOption = args[++i];
        } else {
            targets.push_back(args[i]);
        }
    }
    if (targets.size() != 1) {
        io.err << usage;
        return Usage;
    }
    const std::string& target = targets[0];
    std::string label = baseName(target);
    struct stat st;
    if (::stat(target.c_str(), &st) != 0) {
        io.err << label << ": cannot be read (" << std::strerror(errno) << "); check the path\n";
        return Failed;
    }
    // A directory is checked where it is (as an exploded app: web.xml optional); a bundle is
    // unpacked first, as the server unpacks it.
    bool directory = S_ISDIR(st.st_mode);
    ScratchDir scratch;
    std::optional<bundle::ExtractionResult> unpacked;
    if (!directory) {
        util::Expected<bundle::ExtractionResult> extracted = unpack(target, scratch, label);
        if (!extracted) {
            io.err << extracted.error() << "\n";
            return Failed;
        }
        unpacked = std::move(*extracted);
    }
    const std::string root = directory ? target : scratch.staging();
    util::Expected<ValidationReport> report = BundleValidator::validate(root, label, !directory);
    if (!report) {
        io.err << report.error() << "\n";
        return Failed;
    }
    // The migrations' file checks a deploy makes before it binds the data sources.
    try {
        std::vector<std::string> dataSources;
        if (report->descriptor)
            for (const auto& dataSource : report->descriptor->dataSources)
                dataSources.push_back(dataSource.name);
        datasource::checkMigrationFiles(root + "/WEB-INF/migrations", dataSources);
    } catch (const std::exception& e) {
        io.err << label << ": " << e.what() << "\n";
        return Failed;
    }
    // The preflight a deploy runs (bundle::preflightBundle), with the serval binary itself.
    std::string serval = servalBinary(servalOption);
    if (!report->libraries.empty() && ::access(serval.c_str(), X_OK) != 0) {
        io.err << "servalctl verify: no serval binary at " << serval
               << " to preflight the app with; install serval next to servalctl, or name it with --serval "
                  "PATH or "
               << kServalBinaryVariable << "\n";
        return Usage;
    }
    util::Expected<std::string> preflight = bundle::preflightBundle(serval, root, label, *report, deadline);
    if (!preflight) {
        io.err << preflight.error() << "\n";
        return Failed;
    }
    const std::string& detail = *preflight;
    if (directory) {
        io.out << label << ": ok" << (detail.empty() ? "" : " (" + detail + ")") << "\n";
    } else {
        io.out << label << ": ok (" << unpacked->files << " files, " << unpacked->bytes << " bytes"
               << (detail.empty() ? "" : "; " + detail) << ")\n";
    }
    return Ok;
}

} // namespace serval::ctl
