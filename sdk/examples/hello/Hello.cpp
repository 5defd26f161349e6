// The "hello" sample: a servlet answering text and JSON, a filter adding a header, init params,
// and a static page (static/index.html), all in one bundle. See web.xml for the mappings.
#include <serval/json.hpp>
#include <serval/servlet.hpp>
#include <string>

namespace {

/// GET /hello -> "Hello, World!" (13 bytes of text/plain).
class Hello : public serval::HttpServlet
{
public:
    void doGet(serval::Request&, serval::Response& response) override
    {
        response.setContentType("text/plain");
        response.write("Hello, World!");
    }
};

/// GET /json?name=N -> {"greeting":"<init-param greeting>, N!","servlet":"json","context":"/hello"}.
/// The greeting comes from the servlet's <init-param>, read once in init().
class Json : public serval::HttpServlet
{
public:
    void init(serval::ServletConfig& config) override
    {
        _greeting = std::string(config.initParameter("greeting").value_or("Hello"));
        _servletName = std::string(config.name());
    }

    void doGet(serval::Request& request, serval::Response& response) override
    {
        std::string name(request.parameter("name", "World"));
        serval::json::Value body = {{"greeting", _greeting + ", " + name + "!"},
                                    {"servlet", _servletName},
                                    {"context", request.contextPath()}};
        response.setContentType("application/json");
        response.write(body.dump());
    }

private:
    // Written in init() only, read concurrently afterwards: no lock needed.
    std::string _greeting;
    std::string _servletName;
};

/// Adds "X-Hello-Filter: <init-param value>" to every response it wraps.
class HeaderFilter : public serval::Filter
{
public:
    void init(serval::FilterConfig& config) override
    {
        _value = std::string(config.initParameter("value").value_or("on"));
    }
    void doFilter(serval::Request& request, serval::Response& response, serval::FilterChain& chain) override
    {
        response.setHeader("X-Hello-Filter", _value);
        chain.doFilter(request, response);
    }

private:
    std::string _value;
};

} // namespace

SERVAL_APP("hello")
{
    registry.servlet<Hello>("hello.Hello");
    registry.servlet<Json>("hello.Json");
    registry.filter<HeaderFilter>("hello.HeaderFilter");
}
