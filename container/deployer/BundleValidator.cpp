#include "deployer/BundleValidator.h"

#include "deployer/ContextName.h"
#include "deployer/DescriptorCheck.h"
#include "deployer/ElfInspector.h"
#include "util/Strings.h"

#include <algorithm>
#include <dirent.h>
#include <serval/abi.h>
#include <sys/stat.h>

namespace serval::deployer {

namespace {

bool isRegularFile(const std::string& path)
{
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

} // namespace

bool BundleValidator::validate(const std::string& root, std::string_view label, bool requireDescriptor,
                               ValidationReport& report, std::string& error)
{
    report = ValidationReport{};
    std::string prefix = std::string(label) + ": ";
    std::string webXml = root + "/WEB-INF/web.xml";
    struct stat st;
    if (::lstat(webXml.c_str(), &st) != 0) {
        if (requireDescriptor) {
            error =
                prefix + "WEB-INF/web.xml is missing; add a deployment descriptor (see sdk/examples/hello)";
            return false;
        }
    } else if (!S_ISREG(st.st_mode)) {
        error = prefix + "WEB-INF/web.xml is not a regular file; replace it with the descriptor itself";
        return false;
    } else {
        std::string why;
        if (!checkDescriptor(webXml, why)) {
            error = prefix + why;
            return false;
        }
        report.hasDescriptor = true;
    }

    std::string libDir = root + "/WEB-INF/lib";
    if (DIR* dir = ::opendir(libDir.c_str())) {
        while (dirent* e = ::readdir(dir)) {
            std::string name = e->d_name;
            if (name == "." || name == "..") continue;
            if (util::endsWith(name, ".so") || name.find(".so.") != std::string::npos) {
                report.libraries.push_back("WEB-INF/lib/" + name);
            }
        }
        ::closedir(dir);
    }
    std::sort(report.libraries.begin(), report.libraries.end());

    // The Context loads every library in WEB-INF/lib through the ABI, so each must be an app
    // library for this machine exporting the entry symbol. The entry sentences are the loader's
    // own (app/NativeAppModule.cpp), so the log reads the same whichever check refuses first.
    auto context = ContextName::fromFileName(label);
    std::string appName = context ? context->unversionedBaseName() : std::string(label);
    for (const std::string& lib : report.libraries) {
        std::string path = root + "/" + lib;
        if (!isRegularFile(path)) {
            error = prefix + lib + " is not a regular file; put the library itself in WEB-INF/lib";
            return false;
        }
        std::string why;
        if (!ElfInspector::check(path, false, why)) {
            error = prefix + lib + " " + why;
            return false;
        }
        ElfInfo info;
        ElfInspector::inspect(path, ElfInspector::kEntrySymbol, info, why);
        std::string file = lib.substr(lib.rfind('/') + 1);
        if (!info.exportsEntry && !info.otherEntry.empty()) {
            error = prefix + "app \"" + appName + "\": " + file + " exports " + info.otherEntry + " (ABI " +
                    info.otherEntry.substr(17) +
                    ".x) instead of " SERVAL_APP_ENTRY_NAME "; this container provides " +
                    std::to_string(SERVAL_ABI_MAJOR) + "." + std::to_string(SERVAL_ABI_MINOR) +
                    ": rebuild it against SDK " + std::to_string(SERVAL_ABI_MAJOR) + ".x";
            return false;
        }
        if (!info.exportsEntry) {
            error = prefix + "app \"" + appName + "\": " + file +
                    " does not export " SERVAL_APP_ENTRY_NAME
                    ": build it with serval_add_bundle() and SERVAL_APP(...), or define that entry from "
                    "serval/abi.h";
            return false;
        }
    }
    return true;
}

} // namespace serval::deployer
