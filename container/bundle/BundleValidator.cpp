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
                                              const std::vector<std::string>& libraries)
{
    std::string prefix = std::string(label) + ": ";
    // The Context loads every library in WEB-INF/lib through the ABI, so each must be an app
    // library for this machine exporting the entry symbol. The entry sentences are the loader's
    // own (app/NativeAppModule.cpp), so the log reads the same whichever check refuses first.
    std::string appName = ContextName::appName(label);
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
        if (!info->exportsEntry) {
            return failure(prefix + "app \"" + appName + "\": " + file +
                           " does not export " SERVAL_APP_ENTRY_NAME
                           ": build it with serval_add_bundle() and SERVAL_APP(...), or define that entry "
                           "from serval/abi.h");
        }
    }
    // Which library provides which class only loading can tell (the preflight does); that some
    // library must, reading can. The sentence is the Context's own.
    if (libraries.empty() && descriptor) {
        std::string named = firstNamedClass(*descriptor);
        if (!named.empty()) return failure(prefix + "no library in WEB-INF/lib provides " + named);
    }
    return {};
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
    util::Outcome libraries = checkLibraries(root, label, report.descriptor, report.libraries);
    if (!libraries) return libraries.failure();
    return report;
}

} // namespace serval::bundle
