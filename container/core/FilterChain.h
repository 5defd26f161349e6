#pragma once

#include "core/Servlet.h"

#include <string>
#include <string_view>
#include <vector>

namespace serval::core {

class Wrapper;

/// One <filter-mapping> (or one container filter from Context::addFilter) as the Context
/// applies it (Tomcat's FilterMap).
struct FilterMap
{
    Filter* filter = nullptr;
    std::vector<std::string> urlPatterns;
    std::vector<std::string> servletNames; ///< "*" = every servlet
    bool onRequest = true;
    bool onError = false;
};

/// One filter of a precomputed chain, plus what is left to test per request. Nothing, in the
/// common case. A filter whose url-patterns only the path can decide (a filter on "/x/y/*" for
/// the requests the servlet pattern "/x/*" receives) carries the patterns to match (`when`);
/// one that an earlier step of the chain may already have run carries that step's patterns
/// (`unless`), since a filter runs at most once per chain.
struct FilterStep
{
    explicit FilterStep(Filter* runs, std::vector<std::string> onlyWhen = {},
                        std::vector<std::string> unlessWhen = {})
        : filter(runs), when(std::move(onlyWhen)), unless(std::move(unlessWhen))
    {}

    Filter* filter;
    std::vector<std::string> when;   ///< empty: always; else one of them must match
    std::vector<std::string> unless; ///< none of them may match

    bool isConditional() const noexcept { return !when.empty() || !unless.empty(); }
    /// Only for a conditional step: does it run for this path within the context?
    bool appliesTo(std::string_view pathInContext) const noexcept;
};
using FilterSteps = std::vector<FilterStep>;

/// The chain of `type` dispatches for the requests `servletPattern` maps to `wrapper` (Tomcat's
/// ApplicationFilterFactory, run once per servlet mapping at Context start instead of per
/// request). Servlet-spec order: first the maps whose url-patterns match, then those whose
/// servlet names do, each group in `maps` order; a filter runs at most once. What the pattern
/// decides (every filter on "/*"; a filter on "*.css" for a "*.jsp" servlet never runs; any
/// servlet-name map) is settled here; only the rest is left to FilterStep::appliesTo.
/// `wrapper` nullptr (with `servletPattern` "/"): the requests no url-pattern maps, which may
/// have any path and run no servlet-name map.
FilterSteps buildFilterChain(const std::vector<FilterMap>& maps, DispatcherType type, const Wrapper* wrapper,
                             std::string_view servletPattern);

/// A cursor over a precomputed chain for one request, ending in the servlet.
/// LIFETIME: `steps` and `pathInContext` must outlive the chain (the Context's ServletMapping
/// and the Request's routing state do).
class FilterChain
{
public:
    FilterChain(const FilterSteps& steps, std::string_view pathInContext, Servlet* servlet) noexcept
        : _next(steps.data()), _end(steps.data() + steps.size()), _pathInContext(pathInContext),
          _servlet(servlet)
    {}
    /// Runs the next filter that applies, or the servlet when the filters are exhausted, and
    /// returns what it returned.
    ServiceStatus doFilter(Request& request, Response& response);

private:
    const FilterStep* _next;
    const FilterStep* _end;
    std::string_view _pathInContext;
    Servlet* _servlet;
};

} // namespace serval::core
