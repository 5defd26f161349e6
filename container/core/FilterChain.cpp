#include "core/FilterChain.h"

#include "core/Wrapper.h"
#include "mapper/ServletMapper.h"

#include <algorithm>

namespace serval::core {
namespace {

bool anyMatches(const std::vector<std::string>& patterns, std::string_view path) noexcept
{
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return mapper::urlPatternMatches(p, path); });
}

bool appliesTo(const FilterMap& map, DispatcherType type) noexcept
{
    return type == DispatcherType::Error ? map.onError : map.onRequest;
}

} // namespace

bool FilterStep::appliesTo(std::string_view pathInContext) const noexcept
{
    return (when.empty() || anyMatches(when, pathInContext)) && !anyMatches(unless, pathInContext);
}

FilterSteps buildFilterChain(const std::vector<FilterMap>& maps, DispatcherType type, const Wrapper* wrapper,
                             std::string_view servletPattern)
{
    // Per filter already in the chain: whether it always runs, or else the patterns that make
    // one of its steps run (a later step must not run it again).
    struct Placed
    {
        Filter* filter;
        bool always;
        std::vector<std::string> patterns;
    };
    std::vector<Placed> placed;
    FilterSteps steps;
    auto add = [&](Filter* filter, std::vector<std::string> when) {
        auto it =
            std::find_if(placed.begin(), placed.end(), [&](const Placed& p) { return p.filter == filter; });
        if (it != placed.end() && it->always) return;
        FilterStep step(filter, when);
        if (it == placed.end()) {
            placed.push_back(Placed{filter, when.empty(), std::move(when)});
        } else {
            step.unless = it->patterns;
            it->always = when.empty();
            it->patterns.insert(it->patterns.end(), when.begin(), when.end());
        }
        steps.push_back(std::move(step));
    };

    for (const FilterMap& map : maps) {
        if (!appliesTo(map, type)) continue;
        bool always = false;
        std::vector<std::string> when;
        for (const std::string& pattern : map.urlPatterns) {
            switch (mapper::filterPatternCoverage(pattern, servletPattern)) {
            case mapper::PatternCoverage::All:
                always = true;
                break;
            case mapper::PatternCoverage::Some:
                when.push_back(pattern);
                break;
            case mapper::PatternCoverage::None:
                break;
            }
        }
        if (always) {
            add(map.filter, {});
        } else if (!when.empty()) {
            add(map.filter, std::move(when));
        }
    }
    if (wrapper == nullptr) return steps;
    for (const FilterMap& map : maps) {
        if (!appliesTo(map, type)) continue;
        if (std::any_of(map.servletNames.begin(), map.servletNames.end(),
                        [&](const std::string& name) { return name == "*" || name == wrapper->name(); }))
            add(map.filter, {});
    }
    return steps;
}

ServiceStatus FilterChain::doFilter(Request& request, Response& response)
{
    while (_next != _end) {
        const FilterStep& step = *_next++;
        if (step.isConditional() && !step.appliesTo(_pathInContext)) continue;
        return step.filter->doFilter(request, response, *this);
    }
    if (_servlet != nullptr) return _servlet->service(request, response);
    return {};
}

} // namespace serval::core
