#pragma once

#include "app/HostApi.h"
#include "core/Servlet.h"
#include "util/Log.h"

#include <stdexcept>
#include <string>

namespace serval::app {

/// The lifecycle both NativeServlet and NativeFilter share: one app-created instance of a
/// servlet or filter class (`ClassT` is serval_servlet_class_t or serval_filter_class_t, both
/// with on_init and on_destroy), its config as handed to the app, and the one-line failure text.
///
/// OWNERSHIP: owns the app's instance: on_destroy runs in destroyInstance() or, if nobody called
/// it, in the destructor. `_class` points into the app's descriptor, which the module keeps
/// loaded until every instance is gone.
template <typename ClassT> class NativeInstance
{
protected:
    NativeInstance(const ClassT& componentClass, void* instance, std::string appName,
                   const char* kind) noexcept
        : _class(componentClass), _instance(instance), _appName(std::move(appName)), _kind(kind), _config{}
    {
        _config.config.className.assign(componentClass.name.ptr, componentClass.name.len);
    }
    ~NativeInstance() { destroyInstance(); }
    NativeInstance(const NativeInstance&) = delete;
    NativeInstance& operator=(const NativeInstance&) = delete;

    /// `app "shop" servlet "hello": <message>`
    std::string describeFailure(serval_status_t status) const
    {
        const std::string& name =
            _config.config.name.empty() ? _config.config.className : _config.config.name;
        return "app \"" + _appName + "\" " + _kind + " \"" + name + "\": " + failureMessage(status);
    }

    /// Throws std::runtime_error(describeFailure()) if on_init fails.
    void initInstance(const core::ComponentConfig& config)
    {
        _config.config = config;
        if (_class.on_init == nullptr) return;
        clearError();
        serval_status_t status = _class.on_init(_instance, &_config);
        if (status != SERVAL_OK) throw std::runtime_error(describeFailure(status));
    }

    /// Runs on_destroy once; a failure is logged, never thrown.
    void destroyInstance() noexcept
    {
        if (_instance == nullptr) return;
        void* instance = _instance;
        _instance = nullptr;
        if (_class.on_destroy == nullptr) return;
        clearError();
        serval_status_t status = _class.on_destroy(instance);
        if (status != SERVAL_OK) {
            try {
                LOG_ERROR("app", describeFailure(status) + " (in destroy)");
            } catch (...) {
            }
        }
    }

    const ClassT& _class;
    void* _instance;
    std::string _appName;
    const char* _kind;
    serval_config_t _config; ///< copied at init; handed to the app as its serval_config_t
};

} // namespace serval::app
