#include "deployer/PreflightLoad.h"

#include "deployer/ElfInspector.h"

#include <dlfcn.h>

namespace serval::deployer {

bool preflightLoad(const std::string& library, const std::string& contextPath, std::string& detail,
                   std::string& error)
{
    (void)contextPath;
    std::string name = library.substr(library.rfind('/') + 1);
    // RTLD_NOW: unresolved symbols fail here, not at the first request. RTLD_LOCAL: the app's
    // symbols never satisfy another app's references.
    void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = ::dlerror();
        error = name + " cannot be loaded (" + (why ? why : "dlopen failed") +
                "); rebuild it with every dependency available on this machine";
        return false;
    }
    void* entry = ::dlsym(handle, std::string(ElfInspector::kEntrySymbol).c_str());
    if (entry == nullptr) {
        ::dlclose(handle);
        error = name + " does not export " + std::string(ElfInspector::kEntrySymbol) +
                "; export the app with the SDK's SERVAL_APP macro and rebuild";
        return false;
    }
    ::dlclose(handle);
    detail = name + " loaded";
    return true;
}

} // namespace serval::deployer
