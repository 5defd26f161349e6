// Compile-only check: the header-only C++ layer builds as strict C++17 (-pedantic -Wshadow
// -Wconversion) and a complete app with every kind of class compiles, the optional helper
// headers included.
#include <serval/html.hpp>
#include <serval/json.hpp>
#include <serval/security.hpp>
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
    void doPut(serval::Request& request, serval::Response& response) override
    {
        serval::Csrf().require(request);
        int page = request.parameter("page", 1);
        std::optional<long> id = request.pathParameter<long>(0);
        serval::html::Template t("{{a}}");
        serval::json::write(response, {{"page", page},
                                       {"id", id.value_or(0)},
                                       {"a", t.render({{"a", "x"}})},
                                       {"parts", request.parts().size()},
                                       {"json", request.accepts("text/html")}});
        (void)serval::security::verifyPassword("p", serval::security::hashPassword("p"));
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

static_assert(std::is_same_v<decltype(&Everything::doDelete),
                             void (serval::HttpServlet::*)(serval::Request&, serval::Response&)>);

} // namespace

SERVAL_APP("check")
{
    registry.servlet<Everything>("check.Everything")
        .filter<Wrap>("check.Wrap")
        .listener<Watch>("check.Watch");
    app.servlet<Everything>("every", {"", "/e/*"})
        .filter<Wrap>("wrap", {"/*"}, serval::Dispatch::Request | serval::Dispatch::Error)
        .listener<Watch>("watch", serval::declared);
}
