#include "app/NativeAppModule.h"

#include "app/HostApi.h"
#include "app/NativeFilter.h"
#include "app/NativeListener.h"
#include "app/NativeServlet.h"
#include "util/Log.h"

#include <cstddef>
#include <string_view>

namespace serval::app {
namespace {

std::string version(unsigned major, unsigned minor)
{
    return std::to_string(major) + "." + std::to_string(minor);
}

std::string hostVersion()
{
    return version(SERVAL_ABI_MAJOR, SERVAL_ABI_MINOR);
}
std::string rebuildHint()
{
    return "rebuild it against SDK " + std::to_string(SERVAL_ABI_MAJOR) + ".x";
}

std::string_view view(serval_str_t s) noexcept
{
    return s.len == 0 || s.ptr == nullptr ? std::string_view() : std::string_view(s.ptr, s.len);
}

/// The size of each class struct in ABI 1.0: the least the host accepts. Members a later minor
/// appended (the listener's on_session_* in 1.1) are read only when struct_size covers them.
template <typename Class> constexpr size_t kAbi10Size = sizeof(Class);
template <>
constexpr size_t kAbi10Size<serval_listener_class_t> = offsetof(serval_listener_class_t, on_session_created);

/// Common checks for a class struct (all three start with the same header).
template <typename Class> bool classUsable(const Class* c) noexcept
{
    return c != nullptr && c->struct_size >= kAbi10Size<Class> && c->abi_major == SERVAL_ABI_MAJOR &&
           c->on_create != nullptr;
}

template <typename Class>
const Class* findClass(const Class* const* list, size_t count, const std::string& name) noexcept
{
    for (size_t i = 0; i < count; ++i) {
        if (list[i] != nullptr && view(list[i]->name) == name) return list[i];
    }
    return nullptr;
}

} // namespace

NativeAppModule::NativeAppModule(std::string contextName, std::string libraryPath) noexcept
    : _contextName(std::move(contextName)), _libraryPath(std::move(libraryPath))
{
    size_t slash = _libraryPath.rfind('/');
    _libraryFile = slash == std::string::npos ? _libraryPath : _libraryPath.substr(slash + 1);
}

NativeAppModule::~NativeAppModule()
{
    unload();
}

std::string NativeAppModule::refuse(const std::string& what) const
{
    return "app \"" + _contextName + "\": " + what;
}

bool NativeAppModule::load(std::string& error)
{
    std::string dlError;
    if (!_library.open(_libraryPath, dlError)) {
        error = refuse("cannot load " + _libraryFile + ": " + dlError +
                       ": build it for this machine and install the libraries it needs");
        return false;
    }

    auto entry = reinterpret_cast<serval_app_init_fn>(_library.symbol(SERVAL_APP_ENTRY_NAME));
    if (entry == nullptr) {
        // A library built for another major exports that generation's entry instead.
        for (int major = SERVAL_ABI_MAJOR + 1; major <= SERVAL_ABI_MAJOR + 8; ++major) {
            std::string other = "serval_app_init_v" + std::to_string(major);
            if (_library.symbol(other.c_str()) != nullptr) {
                error = "app \"" + _contextName + "\" was built for ABI " + std::to_string(major) +
                        ".x; this container provides " + hostVersion() + ": " + rebuildHint();
                _library.close();
                return false;
            }
        }
        error = refuse(_libraryFile +
                       " does not export " SERVAL_APP_ENTRY_NAME
                       ": build it with serval_add_bundle() and SERVAL_APP(...), or define that entry from "
                       "serval/abi.h");
        _library.close();
        return false;
    }

    const serval_app_t* app = nullptr;
    clearError();
    serval_status_t status = entry(&hostApi(), &app);
    if (status != SERVAL_OK || app == nullptr) {
        error =
            refuse(SERVAL_APP_ENTRY_NAME " failed: " +
                   (status != SERVAL_OK ? failureMessage(status) : std::string("it returned no descriptor")));
        _library.close();
        return false;
    }

    // The gate: read only the version header before trusting anything else in the descriptor.
    constexpr size_t header = offsetof(serval_app_t, abi_minor) + sizeof(uint16_t);
    if (app->struct_size < header) {
        error = refuse("its descriptor (serval_app_t) is " + std::to_string(app->struct_size) +
                       " bytes, too small to hold a version: " + rebuildHint());
        _library.close();
        return false;
    }
    if (app->abi_major != SERVAL_ABI_MAJOR) {
        error = "app \"" + _contextName + "\" was built for ABI " + version(app->abi_major, app->abi_minor) +
                "; this container provides " + hostVersion() + ": " + rebuildHint();
        _library.close();
        return false;
    }
    if (app->abi_minor > SERVAL_ABI_MINOR) {
        error = "app \"" + _contextName + "\" was built for ABI " + version(app->abi_major, app->abi_minor) +
                "; this container provides " + hostVersion() + ": rebuild it against SDK " + hostVersion() +
                " or upgrade Serval";
        _library.close();
        return false;
    }
    if (app->struct_size < sizeof(serval_app_t)) {
        error = refuse("its descriptor (serval_app_t) is " + std::to_string(app->struct_size) +
                       " bytes but ABI " + version(app->abi_major, app->abi_minor) + " needs at least " +
                       std::to_string(sizeof(serval_app_t)) + ": " + rebuildHint());
        _library.close();
        return false;
    }

    _app = app;
    if (app->on_init != nullptr) {
        clearError();
        status = app->on_init(app->app_data);
        if (status != SERVAL_OK) {
            error = refuse("initialisation failed: " + failureMessage(status));
            _app = nullptr;
            _library.close();
            return false;
        }
    }
    _initialized = true;

    // Class lists are read after on_init (it may fill them). Refuse malformed entries now rather
    // than at the first request.
    auto badClass = [&](const char* kind, size_t index) {
        error = refuse(std::string(kind) + " class #" + std::to_string(index) +
                       " is malformed (NULL, too small for ABI " + hostVersion() +
                       ", another major, or no on_create): " + rebuildHint());
        unload();
        return false;
    };
    for (size_t i = 0; i < app->servlet_count; ++i) {
        if (!classUsable(app->servlets[i])) return badClass("servlet", i);
        if (app->servlets[i]->on_service == nullptr) return badClass("servlet", i);
    }
    for (size_t i = 0; i < app->filter_count; ++i) {
        if (!classUsable(app->filters[i])) return badClass("filter", i);
    }
    for (size_t i = 0; i < app->listener_count; ++i) {
        if (!classUsable(app->listeners[i])) return badClass("listener", i);
    }
    return true;
}

std::string NativeAppModule::knownNames(int kind) const
{
    std::string names;
    auto add = [&](serval_str_t name) {
        if (!names.empty()) names += ", ";
        names += view(name);
    };
    if (kind == 0) {
        for (size_t i = 0; i < _app->servlet_count; ++i)
            add(_app->servlets[i]->name);
    } else if (kind == 1) {
        for (size_t i = 0; i < _app->filter_count; ++i)
            add(_app->filters[i]->name);
    } else {
        for (size_t i = 0; i < _app->listener_count; ++i)
            add(_app->listeners[i]->name);
    }
    return names.empty() ? "none" : names;
}

std::unique_ptr<core::Servlet> NativeAppModule::createServlet(const std::string& className,
                                                              std::string& error)
{
    if (!_initialized) {
        error = refuse("not loaded");
        return nullptr;
    }
    const serval_servlet_class_t* c = findClass(_app->servlets, _app->servlet_count, className);
    if (c == nullptr) {
        error = refuse(_libraryFile + " has no servlet class \"" + className +
                       "\" (it offers: " + knownNames(0) + "): check <servlet-class> in WEB-INF/web.xml");
        return nullptr;
    }
    void* instance = nullptr;
    clearError();
    serval_status_t status = c->on_create(c->class_data, &instance);
    if (status != SERVAL_OK || instance == nullptr) {
        error = refuse("creating servlet \"" + className + "\" failed: " + failureMessage(status));
        return nullptr;
    }
    return std::make_unique<NativeServlet>(*c, instance, _contextName);
}

std::unique_ptr<core::Filter> NativeAppModule::createFilter(const std::string& className, std::string& error)
{
    if (!_initialized) {
        error = refuse("not loaded");
        return nullptr;
    }
    const serval_filter_class_t* c = findClass(_app->filters, _app->filter_count, className);
    if (c == nullptr) {
        error = refuse(_libraryFile + " has no filter class \"" + className +
                       "\" (it offers: " + knownNames(1) + "): check <filter-class> in WEB-INF/web.xml");
        return nullptr;
    }
    void* instance = nullptr;
    clearError();
    serval_status_t status = c->on_create(c->class_data, &instance);
    if (status != SERVAL_OK || instance == nullptr) {
        error = refuse("creating filter \"" + className + "\" failed: " + failureMessage(status));
        return nullptr;
    }
    return std::make_unique<NativeFilter>(*c, instance, _contextName);
}

std::unique_ptr<core::Listener> NativeAppModule::createListener(const std::string& className,
                                                                std::string& error)
{
    if (!_initialized) {
        error = refuse("not loaded");
        return nullptr;
    }
    const serval_listener_class_t* c = findClass(_app->listeners, _app->listener_count, className);
    if (c == nullptr) {
        error = refuse(_libraryFile + " has no listener class \"" + className +
                       "\" (it offers: " + knownNames(2) + "): check <listener-class> in WEB-INF/web.xml");
        return nullptr;
    }
    void* instance = nullptr;
    clearError();
    serval_status_t status = c->on_create(c->class_data, &instance);
    if (status != SERVAL_OK || instance == nullptr) {
        error = refuse("creating listener \"" + className + "\" failed: " + failureMessage(status));
        return nullptr;
    }
    return std::make_unique<NativeListener>(*c, instance, _contextName);
}

std::string NativeAppModule::describe() const
{
    std::string text = _libraryFile;
    if (_app != nullptr) text += " (ABI " + version(_app->abi_major, _app->abi_minor) + ")";
    return text;
}

void NativeAppModule::unload() noexcept
{
    if (_initialized && _app != nullptr && _app->on_destroy != nullptr) {
        clearError();
        serval_status_t status = _app->on_destroy(_app->app_data);
        if (status != SERVAL_OK) {
            try {
                LOG_ERROR("app", refuse("on_destroy failed: " + failureMessage(status)));
            } catch (...) {
            }
        }
    }
    _initialized = false;
    _app = nullptr;
    if (!_library.isOpen()) return;
    if (_library.close()) {
        try {
            LOG_WARN("app", refuse(_libraryFile +
                                   " stayed mapped after unload (thread_local destructors, unique symbols or "
                                   "another handle keep it): its memory is reclaimed only at restart"));
        } catch (...) {
        }
    }
}

} // namespace serval::app
