// The "forms" sample: query and form parameters, POST then redirect (303), error pages, a 404
// page, and a listener.
//
//   GET  /search?q=...&tag=a&tag=b  echoes the query parameters (HTML-escaped)
//   POST /submit  name=...&message=...  -> 303 See Other to /thanks?name=...; no name -> 400 (error page)
//   GET  /thanks?name=...           the page the redirect lands on
//   GET  /boom                      throws: the container answers 500 with the error page
//   GET  /stats                     requests seen by the listener since start
#include <atomic>
#include <serval/html.hpp>
#include <serval/servlet.hpp>
#include <stdexcept>
#include <string>

namespace {

using serval::html::escape;

std::string urlEncode(std::string_view text)
{
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

void page(serval::Response& response, std::string_view title, const std::string& body)
{
    response.setContentType("text/html; charset=utf-8");
    response.out() << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                   << escape(title) << "</title></head><body>\n"
                   << body << "</body></html>\n";
}

class Search : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        std::string body = "<h1>Search</h1>\n<p>q = <span id=\"q\">" +
                           escape(request.parameter("q").value_or("")) + "</span></p>\n<ul id=\"tags\">\n";
        for (std::string_view tag : request.parameterValues("tag"))
            body += "<li>" + escape(tag) + "</li>\n";
        body += "</ul>\n";
        page(response, "Search", body);
    }
};

class Submit : public serval::HttpServlet
{
public:
    void doPost(serval::Request& request, serval::Response& response) override
    {
        std::string_view name = request.parameter("name").value_or("");
        if (name.empty()) {
            response.sendError(400, "name is required");
            return;
        }
        std::string location = std::string(request.contextPath()) + "/thanks?name=" + urlEncode(name);
        response.sendRedirect(location, 303);
    }
};

class Thanks : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        page(response, "Thanks",
             "<h1>Thank you, <span id=\"name\">" + escape(request.parameter("name").value_or("stranger")) +
                 "</span>!</h1>\n");
    }
};

class Boom : public serval::HttpServlet
{
public:
    void doGet(serval::Request&, serval::Response&) override
    {
        throw std::runtime_error("boom: this servlet fails on purpose");
    }
};

/// Counts requests (request listener) and marks the context as started (context listener).
/// The counter lives in the app's data, shared by all threads: atomic.
std::atomic<long>& requestCount()
{
    static std::atomic<long> count{0};
    return count;
}

class Counter : public serval::Listener
{
public:
    void contextInitialized(serval::ServletContext& context) override
    {
        context.setAttribute("forms.started", "yes");
    }
    void requestInitialized(serval::Request&) override
    {
        requestCount().fetch_add(1, std::memory_order_relaxed);
    }
};

class Stats : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        response.setContentType("text/plain");
        response.out() << "requests " << requestCount().load(std::memory_order_relaxed) << "\nstarted "
                       << request.context().attribute("forms.started").value_or("no") << "\n";
    }
};

} // namespace

SERVAL_APP("forms")
{
    registry.servlet<Search>("forms.Search")
        .servlet<Submit>("forms.Submit")
        .servlet<Thanks>("forms.Thanks")
        .servlet<Boom>("forms.Boom")
        .servlet<Stats>("forms.Stats")
        .listener<Counter>("forms.Counter");
}
