#include "bundle/BundleValidator.h"

#include "bundle/ContextName.h"
#include "bundle/DescriptorCheck.h"
#include "bundle/ElfInspector.h"
#include "util/Strings.h"

#include <algorithm>
#include <dirent.h>
#include <serval/abi.h>
#include <sys/stat.h>

namespace serval::bundle {

namespace {

using util::failure;

bool isRegularFile(const std::string& path)
{
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// The first class web.xml names, in the order the Context creates them (listeners, filters,
/// servlets), as "servlet class \"X\""; "" when it names none.
std::string firstNamedClass(const config::WebAppConfig& web)
{
    if (!web.listeners.empty()) return "listener class \"" + web.listeners.front() + "\"";
    if (!web.filters.empty()) return "filter class \"" + web.filters.front().className + "\"";
    if (!web.servlets.empty()) return "servlet class \"" + web.servlets.front().className + "\"";
    return {};
}

} // namespace

util::Expected<std::optional<config::WebAppConfig>>
BundleValidator::readDescriptor(const std::string& root, std::string_view label, bool requireDescriptor)
{
    std::string prefix = std::string(label) + ": ";
    std::string webXml = root + "/WEB-INF/web.xml";
    struct stat st;
    if (::lstat(webXml.c_str(), &st) != 0) {
        if (requireDescriptor) {
            return failure(
                prefix + "WEB-INF/web.xml is missing; add a deployment descriptor (see sdk/examples/hello)");
        }
        return std::optional<config::WebAppConfig>();
    }
    if (!S_ISREG(st.st_mode))
        return failure(prefix +
                       "WEB-INF/web.xml is not a regular file; replace it with the descriptor itself");
    util::Expected<config::WebAppConfig> descriptor = checkDescriptor(webXml);
    if (!descriptor) return failure(prefix + descriptor.error());
    return std::optional<config::WebAppConfig>(std::move(*descriptor));
}

std::vector<std::string> BundleValidator::findLibraries(const std::string& root)
{
    std::vector<std::string> libraries;
    std::string libDir = root + "/WEB-INF/lib";
    if (DIR* dir = ::opendir(libDir.c_str())) {
        while (dirent* e = ::readdir(dir)) {
            std::string name = e->d_name;
            if (name == "." || name == "..") continue;
            if (util::endsWith(name, ".so") || name.find(".so.") != std::string::npos) {
                libraries.push_back("WEB-INF/lib/" + name);
            }
        }
        ::closedir(dir);
    }
    std::sort(libraries.begin(), libraries.end());
    return libraries;
}

util::Outcome BundleValidator::checkLibraries(const std::string& root, std::string_view label,
                                              const std::optional<config::WebAppConfig>& descriptor,
                                              const std::vector<std::string>& libraries,
                                              std::string* appLibrary)
{
    std::string prefix = std::string(label) + ": ";
    // Exactly one library is the app: it exports the entry and the Context loads it through the
    // ABI. The others are its helpers, which it links (RUNPATH $ORIGIN) and the dynamic linker
    // loads with it. Every one is checked as ELF for this machine. The entry sentences are the
    // loader's own (app/NativeAppModule.cpp), so the log reads the same whichever check refuses.
    std::string appName = ContextName::appName(label);
    std::vector<std::string> entries; ///< file names of the libraries exporting the entry
    for (const std::string& lib : libraries) {
        std::string path = root + "/" + lib;
        if (!isRegularFile(path))
            return failure(prefix + lib + " is not a regular file; put the library itself in WEB-INF/lib");
        util::Expected<ElfInfo> info = ElfInspector::inspect(path, ElfInspector::kEntrySymbol);
        if (!info) return failure(prefix + lib + " " + info.error());
        util::Outcome elf = ElfInspector::check(*info, false);
        if (!elf) return failure(prefix + lib + " " + elf.error());
        std::string file = lib.substr(lib.rfind('/') + 1);
        if (!info->exportsEntry && !info->otherEntry.empty()) {
            return failure(prefix + "app \"" + appName + "\": " + file + " exports " + info->otherEntry +
                           " (ABI " + info->otherEntry.substr(17) +
                           ".x) instead of " SERVAL_APP_ENTRY_NAME "; this container provides " +
                           std::to_string(SERVAL_ABI_MAJOR) + "." + std::to_string(SERVAL_ABI_MINOR) +
                           ": rebuild it against SDK " + std::to_string(SERVAL_ABI_MAJOR) + ".x");
        }
        if (info->exportsEntry) {
            entries.push_back(file);
            if (appLibrary != nullptr) *appLibrary = lib;
        }
    }
    if (entries.size() > 1) {
        return failure(prefix + "app \"" + appName + "\": " + entries[0] + " and " + entries[1] +
                       " both export " SERVAL_APP_ENTRY_NAME
                       "; a bundle holds one app library (its helpers in WEB-INF/lib export no entry): "
                       "deploy each app as its own bundle");
    }
    if (entries.empty() && !libraries.empty()) {
        std::string files;
        for (const std::string& lib : libraries)
            files += (files.empty() ? "" : ", ") + lib.substr(lib.rfind('/') + 1);
        return failure(prefix + "app \"" + appName + "\": " + files +
                       (libraries.size() == 1 ? " does not export " : " (none of them) exports ") +
                       SERVAL_APP_ENTRY_NAME
                       ": build it with serval_add_bundle() and SERVAL_APP(...), or define that entry "
                       "from serval/abi.h");
    }
    // Which library provides which class only loading can tell (the preflight does); that some
    // library must, reading can. The sentence is the Context's own.
    if (libraries.empty() && descriptor) {
        std::string named = firstNamedClass(*descriptor);
        if (!named.empty()) return failure(prefix + "no library in WEB-INF/lib provides " + named);
    }
    return {};
}

std::vector<std::string> BundleValidator::appLibraries(const std::string& root)
{
    std::vector<std::string> out;
    for (const std::string& lib : findLibraries(root)) {
        util::Expected<ElfInfo> info = ElfInspector::inspect(root + "/" + lib, ElfInspector::kEntrySymbol);
        if (info && info->exportsEntry) out.push_back(lib);
    }
    return out;
}

util::Expected<ValidationReport> BundleValidator::validate(const std::string& root, std::string_view label,
                                                           bool requireDescriptor)
{
    util::Expected<std::optional<config::WebAppConfig>> descriptor =
        readDescriptor(root, label, requireDescriptor);
    if (!descriptor) return descriptor.failure();
    ValidationReport report;
    report.descriptor = std::move(*descriptor);
    report.libraries = findLibraries(root);
    util::Outcome libraries =
        checkLibraries(root, label, report.descriptor, report.libraries, &report.appLibrary);
    if (!libraries) return libraries.failure();
    return report;
}

} // namespace serval::bundle
