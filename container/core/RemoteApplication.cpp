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
    explicit StandIns(config::WebAppConfig declared) : _declared(std::move(declared)) {}

    config::WebAppConfig declarations() const override { return _declared; }
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

private:
    config::WebAppConfig _declared;
};

} // namespace

std::shared_ptr<AppModule> RemoteApplication::standIns(config::WebAppConfig declared)
{
    return std::make_shared<StandIns>(std::move(declared));
}

} // namespace serval::core
