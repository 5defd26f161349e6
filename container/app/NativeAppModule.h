#pragma once

#include "app/AppLibrary.h"
#include "core/Servlet.h"
#include "serval/abi.h"

#include <memory>
#include <string>

namespace serval::app {

/// One app library loaded through the C ABI for one Context (core::AppModule).
///
/// OWNERSHIP: created by loadAppModule(), held by the Context in a shared_ptr declared before
/// every servlet, filter and listener it created (so they are destroyed first). The library
/// handle is this class's FIRST member: members are destroyed in reverse order, so nothing that
/// points into the library's code or data outlives dlclose().
/// THREADS: created, initialised and destroyed on a control thread; create* on a control thread.
class NativeAppModule : public core::AppModule
{
public:
    NativeAppModule(std::string contextName, std::string libraryPath) noexcept;
    ~NativeAppModule() override;
    NativeAppModule(const NativeAppModule&) = delete;
    NativeAppModule& operator=(const NativeAppModule&) = delete;

    /// dlopen, entry, version gate, struct checks, on_init. Returns false with one sentence in
    /// `error` (what is wrong and what to do); the library is closed again then.
    bool load(std::string& error);

    std::unique_ptr<core::Servlet> createServlet(const std::string& className, std::string& error) override;
    std::unique_ptr<core::Filter> createFilter(const std::string& className, std::string& error) override;
    std::unique_ptr<core::Listener> createListener(const std::string& className, std::string& error) override;
    std::string describe() const override;
    /// What the class structs declare (ABI 1.1 url_patterns, dispatchers, declared), read once
    /// by load(); empty for an app built for ABI 1.0.
    config::WebAppConfig declarations() const override { return _declarations; }
    /// Valid after unload() (or destruction): true if dlclose() left the library mapped.
    bool stayedMapped() const noexcept override { return _library.stayedMapped(); }

    /// Calls the app's on_destroy and closes the library; logs a warning if it stayed mapped.
    /// Every instance created by this module must be gone. Idempotent; the destructor calls it.
    void unload() noexcept;

    const serval_app_t* descriptor() const noexcept { return _app; }

private:
    std::string refuse(const std::string& what) const;
    /// Fills _declarations from the class lists; "" or the reason to refuse the app.
    std::string readDeclarations();
    std::string knownNames(int kind) const;

    AppLibrary _library; // first: destroyed last
    std::string _contextName;
    std::string _libraryPath;
    std::string _libraryFile; ///< file name only, for messages
    const serval_app_t* _app = nullptr;
    config::WebAppConfig _declarations;
    bool _initialized = false;
};

/// The dlerror() text of a library that failed to load, as one clause a person can act on:
/// files named as the bundle names them (not the staging path), an undefined C++ symbol
/// demangled, and the likely cause. Exposed for the loader's tests.
std::string explainLoadFailure(std::string dlError, const std::string& libraryPath);

} // namespace serval::app
