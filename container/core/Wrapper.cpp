#include "core/Wrapper.h"

namespace serval::core {

Wrapper::Wrapper(std::string name, std::string className, std::unique_ptr<Servlet> servlet,
                 std::map<std::string, std::string> initParams, std::optional<int> loadOnStartup)
    : _servlet(std::move(servlet)), _loadOnStartup(loadOnStartup)
{
    _config.name = std::move(name);
    _config.className = std::move(className);
    _config.initParams = std::move(initParams);
}

Wrapper::~Wrapper()
{
    destroy();
}

void Wrapper::init(ServletContext& context)
{
    if (_initialized) return;
    _config.context = &context;
    _servlet->init(_config);
    _initialized = true;
}

void Wrapper::destroy() noexcept
{
    if (!_initialized) return;
    _initialized = false;
    _servlet->destroy();
}

} // namespace serval::core
