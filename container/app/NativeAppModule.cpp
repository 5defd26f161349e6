#include "app/NativeAppModule.h"

#include "app/HostApi.h"
#include "app/NativeFilter.h"
#include "app/NativeListener.h"
#include "app/NativeServlet.h"
#include "mapper/ServletMapper.h"
#include "util/Log.h"

#include <cstddef>
#include <cstdlib>
#include <cxxabi.h>
#include <memory>
#include <string_view>
#include <vector>

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

/// The size of each class struct in ABI 1.0: what an app built for 1.0 fills, and the least a
/// host accepts. Members after these are read only when struct_size covers them.
template <typename Class> constexpr size_t abi10Size() noexcept;
template <> constexpr size_t abi10Size<serval_servlet_class_t>() noexcept
{
    return offsetof(serval_servlet_class_t, url_patterns);
}
template <> constexpr size_t abi10Size<serval_filter_class_t>() noexcept
{
    return offsetof(serval_filter_class_t, url_patterns);
}
template <> constexpr size_t abi10Size<serval_listener_class_t>() noexcept
{
    return offsetof(serval_listener_class_t, declared);
}

/// Common checks for a class struct (all three start with the same header).
template <typename Class> bool classUsable(const Class* c) noexcept
{
    return c != nullptr && c->struct_size >= abi10Size<Class>() && c->abi_major == SERVAL_ABI_MAJOR &&
           c->on_create != nullptr;
}

/// A list of strings from a class struct (url-patterns, servlet names).
std::vector<std::string> strings(const serval_str_t* list, size_t count)
{
    std::vector<std::string> out;
    for (size_t i = 0; list != nullptr && i < count; ++i)
        out.emplace_back(view(list[i]));
    return out;
}

/// The symbol in a dlerror() "undefined symbol: X", demangled when it is a C++ name:
/// "shop::price(int) (_ZN4shop5priceEi)".
std::string describeSymbol(const std::string& symbol)
{
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(
        abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status), &std::free);
    if (status != 0 || !demangled) return symbol;
    return std::string(demangled.get()) + " (" + symbol + ")";
}

void replaceAll(std::string& text, const std::string& from, const std::string& to)
{
    for (size_t at = text.find(from); !from.empty() && at != std::string::npos;
         at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
}

} // namespace

std::string explainLoadFailure(std::string dlError, const std::string& libraryPath)
{
    // dlerror() names files by their full path: during a deploy that is a staging directory the
    // operator never sees. Name them as the bundle does.
    size_t slash = libraryPath.rfind('/');
    std::string file = slash == std::string::npos ? libraryPath : libraryPath.substr(slash + 1);
    replaceAll(dlError, libraryPath, file);
    if (slash != std::string::npos) replaceAll(dlError, libraryPath.substr(0, slash + 1), "WEB-INF/lib/");
    if (dlError.compare(0, file.size() + 2, file + ": ") == 0) dlError.erase(0, file.size() + 2);

    const std::string undefined = "undefined symbol: ";
    if (size_t at = dlError.find(undefined); at != std::string::npos) {
        std::string symbol = dlError.substr(at + undefined.size());
        symbol = symbol.substr(0, symbol.find_first_of(" \t("));
        return "undefined symbol " + describeSymbol(symbol) +
               ": it was linked without the library that defines it (list that library in "
               "serval_add_bundle(... LIBRARIES ...), which links with -z defs so that the build "
               "says so), or that library is missing on this machine";
    }
    const std::string cannotOpen = ": cannot open shared object file";
    if (size_t at = dlError.find(cannotOpen); at != std::string::npos && at > 0) {
        return "it needs " + dlError.substr(0, at) +
               ", which is not installed on this machine: install it, or link it statically "
               "(WEB-INF/lib holds app libraries only)";
    }
    return dlError + ": build it for this machine and install the libraries it needs";
}

namespace {

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
        error = refuse("cannot load " + _libraryFile + ": " + explainLoadFailure(dlError, _libraryPath));
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
    std::string why = readDeclarations();
    if (!why.empty()) {
        error = refuse(why);
        unload();
        return false;
    }
    return true;
}

std::string NativeAppModule::readDeclarations()
{
    _declarations = config::WebAppConfig();
    _declarations.source = _libraryFile;
    auto checkPatterns = [&](const std::string& what, const std::vector<std::string>& patterns) {
        for (const std::string& pattern : patterns) {
            if (!mapper::isValidUrlPattern(pattern)) {
                return what + " is mapped to the invalid url-pattern \"" + pattern +
                       "\" in code; use \"/exact\", \"/prefix/*\", \"*.ext\", \"/\" or \"\"";
            }
        }
        return std::string();
    };
    for (size_t i = 0; i < _app->servlet_count; ++i) {
        const serval_servlet_class_t* c = _app->servlets[i];
        if (!SERVAL_HAS_MEMBER(c, serval_servlet_class_t, url_pattern_count) || c->url_pattern_count == 0)
            continue;
        config::ServletDef servlet;
        servlet.name = servlet.className = std::string(view(c->name));
        config::ServletMappingDef mapping;
        mapping.servletName = servlet.name;
        mapping.urlPatterns = strings(c->url_patterns, c->url_pattern_count);
        std::string why = checkPatterns("servlet \"" + servlet.name + "\"", mapping.urlPatterns);
        if (!why.empty()) return why;
        _declarations.servlets.push_back(std::move(servlet));
        _declarations.servletMappings.push_back(std::move(mapping));
    }
    for (size_t i = 0; i < _app->filter_count; ++i) {
        const serval_filter_class_t* c = _app->filters[i];
        if (!SERVAL_HAS_MEMBER(c, serval_filter_class_t, dispatchers)) continue;
        if (c->url_pattern_count == 0 && c->servlet_name_count == 0) continue;
        config::FilterDef filter;
        filter.name = filter.className = std::string(view(c->name));
        config::FilterMappingDef mapping;
        mapping.filterName = filter.name;
        mapping.urlPatterns = strings(c->url_patterns, c->url_pattern_count);
        mapping.servletNames = strings(c->servlet_names, c->servlet_name_count);
        if (c->dispatchers != 0) {
            mapping.onRequest = (c->dispatchers & SERVAL_DISPATCH_ON_REQUEST) != 0;
            mapping.onError = (c->dispatchers & SERVAL_DISPATCH_ON_ERROR) != 0;
        }
        std::string why = checkPatterns("filter \"" + filter.name + "\"", mapping.urlPatterns);
        if (!why.empty()) return why;
        _declarations.filters.push_back(std::move(filter));
        _declarations.filterMappings.push_back(std::move(mapping));
    }
    for (size_t i = 0; i < _app->listener_count; ++i) {
        const serval_listener_class_t* c = _app->listeners[i];
        if (SERVAL_HAS_MEMBER(c, serval_listener_class_t, declared) && c->declared)
            _declarations.listeners.emplace_back(view(c->name));
    }
    return {};
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
