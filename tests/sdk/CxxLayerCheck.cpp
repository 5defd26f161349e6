// Compile-only check: the header-only C++ layer builds as strict C++17 (-pedantic -Wshadow
// -Wconversion) and a complete app with every kind of class compiles.
#include <serval/servlet.hpp>

namespace {

class Everything : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        response.setHeader("X-Method", request.method());
        response.out() << request.parameter("q").value_or("") << request.body().rdbuf();
    }
    void doPost(serval::Request& request, serval::Response& response) override
    {
        response.sendRedirect(std::string(request.contextPath()) + "/", 303);
    }
};

class Wrap : public serval::Filter
{
public:
    void doFilter(serval::Request& request, serval::Response& response, serval::FilterChain& chain) override
    {
        chain.doFilter(request, response);
    }
};

class Watch : public serval::Listener
{
};

static_assert(std::is_same_v<decltype(&Everything::doPut),
                             void (serval::HttpServlet::*)(serval::Request&, serval::Response&)>);

} // namespace

SERVAL_APP("check")
{
    registry.servlet<Everything>("check.Everything")
        .filter<Wrap>("check.Wrap")
        .listener<Watch>("check.Watch");
}
