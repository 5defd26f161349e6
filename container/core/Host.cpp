#include "core/Host.h"

#include "core/Engine.h"

#include <algorithm>

namespace serval::core {

Host::Host(config::HostConfig config) : _config(std::move(config)) {}

Host::~Host()
{
    stop();
}

std::shared_ptr<Context> Host::addContext(std::shared_ptr<Context> context)
{
    std::shared_ptr<Context> previous;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = std::lower_bound(
            _contexts.begin(), _contexts.end(), context->path(),
            [](const std::shared_ptr<Context>& c, const std::string& p) { return c->path() < p; });
        if (it != _contexts.end() && (*it)->path() == context->path()) {
            previous = std::move(*it);
            *it = std::move(context);
        } else {
            _contexts.insert(it, std::move(context));
        }
    }
    publish();
    return previous;
}

std::shared_ptr<Context> Host::removeContext(const std::string& path)
{
    std::shared_ptr<Context> removed;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = std::find_if(_contexts.begin(), _contexts.end(),
                               [&](const auto& c) { return c->path() == path; });
        if (it == _contexts.end()) return nullptr;
        removed = std::move(*it);
        _contexts.erase(it);
    }
    publish();
    return removed;
}

std::shared_ptr<Context> Host::findContext(const std::string& path) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (const auto& c : _contexts) {
        if (c->path() == path) return c;
    }
    return nullptr;
}

std::vector<std::shared_ptr<Context>> Host::contexts() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _contexts;
}

void Host::publish()
{
    if (_engine != nullptr) _engine->routingChanged();
}

void Host::startInternal()
{
    for (const auto& context : contexts()) {
        if (context->state() != LifecycleState::New) continue;
        if (!context->start()) {
            LOG_ERROR("host:" + _config.name, "application " + context->displayPath() +
                                                  " failed to start: " + context->failureReason());
        }
    }
}

void Host::stopInternal() noexcept
{
    auto all = contexts();
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        (*it)->stop();
}

} // namespace serval::core
