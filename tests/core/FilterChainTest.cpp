#include "core/FilterChain.h"

#include "core/Context.h"
#include "core/Request.h"
#include "core/Response.h"
#include "core/Wrapper.h"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

using namespace serval;
using core::DispatcherType;
using core::FilterMap;

namespace {

/// A filter or servlet that appends its name to a shared trace.
struct Named : core::Filter, core::Servlet
{
    std::string name;
    std::string* trace;
    Named(std::string n, std::string* t) : name(std::move(n)), trace(t) {}
    core::ServiceStatus doFilter(core::Request& request, core::Response& response,
                                 core::FilterChain& chain) override
    {
        *trace += name + " ";
        return chain.doFilter(request, response);
    }
    core::ServiceStatus service(core::Request&, core::Response&) override
    {
        *trace += "[" + name + "]";
        return {};
    }
};

/// Filters a, b, c and servlets "x" and "other", and the maps under test.
struct FilterChainTest : ::testing::Test
{
    std::string trace;
    core::Context context{core::ContextSpec{}, core::ContextServices{}};
    Named a{"a", &trace}, b{"b", &trace}, c{"c", &trace};
    core::Wrapper x{"x", "X", std::make_unique<Named>("x", &trace), {}, std::nullopt};
    core::Wrapper other{"other", "Other", std::make_unique<Named>("other", &trace), {}, std::nullopt};
    std::vector<FilterMap> maps;

    FilterMap& add(core::Filter& filter, std::vector<std::string> patterns, std::vector<std::string> names)
    {
        FilterMap map;
        map.filter = &filter;
        map.urlPatterns = std::move(patterns);
        map.servletNames = std::move(names);
        maps.push_back(std::move(map));
        return maps.back();
    }
    FilterMap& byUrl(core::Filter& filter, std::vector<std::string> patterns)
    {
        return add(filter, std::move(patterns), {});
    }
    FilterMap& byServlet(core::Filter& filter, std::vector<std::string> names)
    {
        return add(filter, {}, std::move(names));
    }

    /// What runs for a request that `servletPattern` maps to `wrapper`, for `pathInContext`.
    std::string run(core::Wrapper* wrapper, const std::string& servletPattern,
                    const std::string& pathInContext, DispatcherType type = DispatcherType::Request)
    {
        core::FilterSteps steps = core::buildFilterChain(maps, type, wrapper, servletPattern);
        http::HttpExchange exchange;
        core::Request request(exchange, context);
        core::Response response(exchange);
        trace.clear();
        core::FilterChain chain(steps, pathInContext, wrapper != nullptr ? &wrapper->servlet() : nullptr);
        EXPECT_TRUE(chain.doFilter(request, response).ok());
        return trace;
    }
    size_t conditionalSteps(core::Wrapper* wrapper, const std::string& servletPattern)
    {
        size_t n = 0;
        for (const auto& step :
             core::buildFilterChain(maps, DispatcherType::Request, wrapper, servletPattern))
            n += step.isConditional() ? 1 : 0;
        return n;
    }
};

} // namespace

TEST_F(FilterChainTest, CommonMappingsAreSettledAtStartAndTestNothingPerRequest)
{
    byUrl(a, {"/*"});
    byServlet(b, {"x"});
    byUrl(c, {"*.css"});
    EXPECT_EQ(conditionalSteps(&x, "/x/*"), 1u); // only c: the path inside /x decides
    EXPECT_EQ(conditionalSteps(&x, "*.jsp"), 0u);
    EXPECT_EQ(core::buildFilterChain(maps, DispatcherType::Request, &x, "*.jsp").size(), 2u); // c never runs
    EXPECT_EQ(conditionalSteps(&x, "/x"), 0u);
    EXPECT_EQ(run(&x, "*.jsp", "/a.jsp"), "a b [x]");
}

TEST_F(FilterChainTest, AFilterBelowAPrefixMappingDependsOnThePathInside)
{
    byUrl(a, {"/x/y/*"});
    EXPECT_EQ(run(&x, "/x/*", "/x/y/z"), "a [x]");
    EXPECT_EQ(run(&x, "/x/*", "/x/y"), "a [x]");
    EXPECT_EQ(run(&x, "/x/*", "/x/yz"), "[x]");
    EXPECT_EQ(run(&x, "/x/*", "/x"), "[x]");
    EXPECT_EQ(run(&x, "/x/y/z/*", "/x/y/z/w"), "a [x]"); // a mapping below the filter: always
    EXPECT_EQ(conditionalSteps(&x, "/x/y/z/*"), 0u);
    EXPECT_EQ(core::buildFilterChain(maps, DispatcherType::Request, &x, "/other/*").size(), 0u);
}

TEST_F(FilterChainTest, UrlPatternMapsRunBeforeServletNameMapsWhateverTheirOrder)
{
    byServlet(a, {"x"});
    byUrl(b, {"/*"});
    byServlet(c, {"*"});
    EXPECT_EQ(run(&x, "/x", "/x"), "b a c [x]");
    EXPECT_EQ(run(&other, "/o", "/o"), "b c [other]");
}

TEST_F(FilterChainTest, AFilterMappedTwiceRunsOnce)
{
    byUrl(a, {"/x/y/*"}); // conditional for /x/*
    byUrl(b, {"/*"});
    byServlet(a, {"x"}); // always, unless the first map already ran it
    EXPECT_EQ(run(&x, "/x/*", "/x/y/1"), "a b [x]");
    EXPECT_EQ(run(&x, "/x/*", "/x/z"), "b a [x]");
    byUrl(b, {"*.css"}); // b is always there already
    EXPECT_EQ(run(&x, "/x/*", "/x/z.css"), "b a [x]");
}

TEST_F(FilterChainTest, DispatcherTypesSelectTheirMaps)
{
    byUrl(a, {"/*"});
    byUrl(b, {"/*"}).onError = true;
    FilterMap& errorOnly = byUrl(c, {"/*"});
    errorOnly.onRequest = false;
    errorOnly.onError = true;
    EXPECT_EQ(run(&x, "/x", "/x"), "a b [x]");
    EXPECT_EQ(run(&x, "/x", "/x", DispatcherType::Error), "b c [x]");
}

TEST_F(FilterChainTest, UnmappedRequestsRunUrlMapsOnTheirPathAndNoServletNameMap)
{
    byUrl(a, {"/static/*"});
    byServlet(b, {"*"});
    byUrl(c, {"/*"});
    EXPECT_EQ(run(nullptr, "/", "/static/app.css"), "a c ");
    EXPECT_EQ(run(nullptr, "/", "/other"), "c ");
}
