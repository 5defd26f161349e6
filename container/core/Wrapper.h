#pragma once

#include "core/FilterChain.h"
#include "core/Multipart.h"
#include "core/Servlet.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace serval::core {

/// One servlet definition inside a Context (Tomcat's StandardWrapper): the instance, its
/// config and the patterns it is mapped to.
///
/// OWNERSHIP: owned by its Context (unique_ptr, destroyed before the Context's AppModule).
/// THREADS: built and initialised on a control thread; servlet() is then called from any
/// request thread.
class Wrapper
{
public:
    Wrapper(std::string name, std::string className, std::unique_ptr<Servlet> servlet,
            std::map<std::string, std::string> initParams, std::optional<int> loadOnStartup);
    ~Wrapper();
    Wrapper(const Wrapper&) = delete;
    Wrapper& operator=(const Wrapper&) = delete;

    const std::string& name() const noexcept { return _config.name; }
    const std::string& className() const noexcept { return _config.className; }
    const ServletConfig& config() const noexcept { return _config; }
    Servlet& servlet() noexcept { return *_servlet; }
    std::optional<int> loadOnStartup() const noexcept { return _loadOnStartup; }
    /// url-patterns mapped to this servlet (for the admin page).
    const std::vector<std::string>& patterns() const noexcept { return _patterns; }
    void addPattern(std::string pattern) { _patterns.push_back(std::move(pattern)); }
    void clearPatterns() noexcept { _patterns.clear(); }

    /// Its <multipart-config> (the container's defaults without one).
    const MultipartLimits& multipartLimits() const noexcept { return _multipartLimits; }
    void setMultipartLimits(const MultipartLimits& limits) noexcept { _multipartLimits = limits; }

    /// The container's DefaultServlet (static files): safe to run on the I/O thread.
    bool isDefaultServlet() const noexcept { return _isDefault; }
    void markDefaultServlet() noexcept { _isDefault = true; }

    /// Calls Servlet::init() (may throw: the Context fails to start with the reason).
    void init(ServletContext& context);
    /// Calls Servlet::destroy() once if init() succeeded.
    void destroy() noexcept;
    bool initialized() const noexcept { return _initialized; }

private:
    ServletConfig _config;
    std::unique_ptr<Servlet> _servlet;
    std::optional<int> _loadOnStartup;
    std::vector<std::string> _patterns;
    MultipartLimits _multipartLimits;
    bool _isDefault = false;
    bool _initialized = false;
};

/// One url-pattern of a Wrapper, the target the Context's ServletMapper returns, with the filter
/// chains of the requests it maps (both dispatcher types), built at Context start
/// (buildFilterChain) so that a request tests no filter rule its mapping already decides.
/// OWNERSHIP: owned by its Context, valid while the Context is Started.
struct ServletMapping
{
    Wrapper* wrapper = nullptr; ///< nullptr: the requests no url-pattern maps
    std::string pattern;        ///< the url-pattern; "/" for the unmapped (they may have any path)
    FilterSteps requestFilters;
    FilterSteps errorFilters;

    const FilterSteps& filters(DispatcherType type) const noexcept
    {
        return type == DispatcherType::Error ? errorFilters : requestFilters;
    }
};

} // namespace serval::core
