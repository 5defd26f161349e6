#pragma once

#include <string>

namespace serval::app {

/// One dlopen() handle (RAII). Owned by NativeAppModule, declared first there so that everything
/// pointing into the library's code is destroyed before dlclose().
/// THREADS: open/close on a control thread; symbol() from any thread.
class AppLibrary
{
public:
    AppLibrary() noexcept = default;
    ~AppLibrary() { close(); }
    AppLibrary(const AppLibrary&) = delete;
    AppLibrary& operator=(const AppLibrary&) = delete;

    /// Loads `path` with RTLD_NOW | RTLD_LOCAL. Returns false and sets `error` to dlerror()'s text.
    bool open(const std::string& path, std::string& error);
    /// dlsym() in this library (and its dependencies), or nullptr.
    void* symbol(const char* name) const noexcept;
    /// dlclose(), then checks whether the library is still mapped (it stays when it holds
    /// STB_GNU_UNIQUE symbols, thread_local objects with destructors, or another handle).
    /// Returns that. Idempotent.
    bool close() noexcept;

    bool isOpen() const noexcept { return _handle != nullptr; }
    const std::string& path() const noexcept { return _path; }
    bool stayedMapped() const noexcept { return _stayedMapped; }

private:
    void* _handle = nullptr;
    std::string _path;
    bool _stayedMapped = false;
};

} // namespace serval::app
