#include "core/RemoteApplication.h"

namespace serval::core {
namespace {

class StandInServlet final : public Servlet
{
public:
    ServiceStatus service(Request&, Response&) override
    {
        return ServiceStatus::failed("an isolated app's servlet was called in the server");
    }
};

class StandInFilter final : public Filter
{
public:
    ServiceStatus doFilter(Request&, Response&, FilterChain&) override
    {
        return ServiceStatus::failed("an isolated app's filter was called in the server");
    }
};

class StandInListener final : public Listener
{
};

class StandIns final : public AppModule
{
public:
    std::unique_ptr<Servlet> createServlet(const std::string&, std::string&) override
    {
        return std::make_unique<StandInServlet>();
    }
    std::unique_ptr<Filter> createFilter(const std::string&, std::string&) override
    {
        return std::make_unique<StandInFilter>();
    }
    std::unique_ptr<Listener> createListener(const std::string&, std::string&) override
    {
        return std::make_unique<StandInListener>();
    }
    std::string describe() const override { return "runs in worker processes"; }
};

} // namespace

std::shared_ptr<AppModule> RemoteApplication::standIns()
{
    return std::make_shared<StandIns>();
}

} // namespace serval::core
