#include "app/AppLibrary.h"

#include <dlfcn.h>

namespace serval::app {

bool AppLibrary::open(const std::string& path, std::string& error)
{
    close();
    // RTLD_NOW: every undefined symbol is resolved here, so a library with a missing dependency
    // is refused at deploy time, not at its first request. RTLD_LOCAL: the app's symbols never
    // become visible to later libraries, so two apps defining the same names (or the same
    // header-only singletons) cannot bind to each other's code or state.
    dlerror();
    _handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (_handle == nullptr) {
        const char* message = dlerror();
        error = message ? message : "dlopen failed";
        return false;
    }
    _path = path;
    _stayedMapped = false;
    return true;
}

void* AppLibrary::symbol(const char* name) const noexcept
{
    return _handle ? ::dlsym(_handle, name) : nullptr;
}

bool AppLibrary::close() noexcept
{
    if (_handle == nullptr) return _stayedMapped;
    ::dlclose(_handle);
    _handle = nullptr;
    // RTLD_NOLOAD only returns a handle if the object is still resident; drop that extra
    // reference again right away.
    if (void* again = ::dlopen(_path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) {
        _stayedMapped = true;
        ::dlclose(again);
    }
    return _stayedMapped;
}

} // namespace serval::app
