// The guestbook (docs/sdk.md walks through it): a page with a form (POST, then 303), a JSON API, entries
// in a data source, delete once signed in (an HttpSession), security headers on every page.
#include <ctime>
#include <fstream>
#include <serval/db.hpp>
#include <serval/html.hpp>
#include <serval/json.hpp>
#include <serval/security.hpp>
#include <serval/servlet.hpp>

namespace {

using serval::HttpError;
using serval::Request;
using serval::Response;
namespace html = serval::html;
namespace json = serval::json;

/// The entries, in the data source "main" (migrations/V1__create_entries.sql makes the table). The
/// handle is set before the first request; each call borrows a pooled connection for itself.
class Book
{
public:
    void open(serval::DataSource db) { _db = db; }
    json::Value entries() const
    {
        json::Value out = json::Value::array();
        for (serval::Row r : _db->query("SELECT id, name, message, time FROM entry ORDER BY id DESC"))
            out.push_back({{"id", r.get<long>(0)},
                           {"name", r.get<std::string>(1)},
                           {"message", r.get<std::string>(2)},
                           {"time", r.get<std::string>(3)}});
        return out;
    }
    json::Value add(std::string_view name, std::string_view message)
    {
        if (name.empty() || name.size() > 80 || message.empty() || message.size() > 1000)
            throw HttpError(400, "a name (up to 80 bytes) and a message (up to 1000) are required");
        char time[32];
        std::time_t now = std::time(nullptr);
        std::tm utc{};
        std::strftime(time, sizeof time, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &utc));
        long id = _db->scalar<long>("INSERT INTO entry (name, message, time) VALUES (?, ?, ?) RETURNING id",
                                    name, message, std::string_view(time))
                      .value();
        return {{"id", id}, {"name", name}, {"message", message}, {"time", time}};
    }
    void remove(long id) { _db->exec("DELETE FROM entry WHERE id = ?", id); }

private:
    std::optional<serval::DataSource> _db;
};

/// Shared by all requests: written by Startup before the first one, then read; built at first use.
struct State
{
    Book book;
    std::string adminHash;
    html::Templates templates; ///< WEB-INF/templates/*.html
    serval::Csrf csrf;
};
State& state()
{
    static State s;
    return s;
}

/// Who signed in: the session's "user" attribute, or "" (no session is made to find out).
std::string user(Request& request)
{
    std::optional<serval::Session> session = request.session(false);
    return std::string(session ? session->get("user").value_or("") : "");
}

struct Home : serval::HttpServlet
{
    void doGet(Request& request, Response& response) override
    {
        const html::Templates& t = state().templates;
        std::string base(request.contextPath()), csrf = state().csrf.token(request, response), items;
        bool admin = !user(request).empty();
        for (const json::Value& e : state().book.entries()) {
            std::string id = std::to_string(e["id"].get<long>()), by = e["name"], at = e["time"],
                        text = e["message"];
            html::Safe remove(admin ? t["delete"].render({{"base", base}, {"id", id}, {"csrf", csrf}}) : "");
            items += t["entry"].render(
                {{"id", id}, {"message", text}, {"by", by + ", " + at}, {"delete", remove}});
        }
        html::Safe session(t[admin ? "signed-in" : "signed-out"].render({{"base", base}, {"csrf", csrf}}));
        std::string page = t["page"].render(
            {{"base", base}, {"session", session}, {"csrf", csrf}, {"entries", html::Safe(items)}});
        html::send(response, page);
    }
    void doPost(Request& request, Response& response) override
    {
        state().csrf.require(request);
        state().book.add(request.parameter("name", ""), request.parameter("message", ""));
        response.sendRedirect(std::string(request.contextPath()) + "/", 303);
    }
};

struct Api : serval::HttpServlet
{
    void doGet(Request&, Response& response) override { json::write(response, state().book.entries()); }
    void doPost(Request& request, Response& response) override
    {
        json::Value in = json::read(request);
        auto field = [&](const char* name) { return json::field<std::string>(in, name); };
        json::write(response, state().book.add(field("name"), field("message")), 201);
    }
};

/// /admin/login (the form, then the password), /admin/logout, /admin/delete/N: forms, CSRF-checked.
struct Admin : serval::HttpServlet
{
    void doGet(Request& request, Response& response) override
    {
        std::string csrf = state().csrf.token(request, response);
        html::send(response,
                   state().templates["login"].render({{"base", request.contextPath()}, {"csrf", csrf}}));
    }
    void doPost(Request& request, Response& response) override
    {
        state().csrf.require(request);
        std::string_view action = request.pathParameter(0).value_or("");
        if (action == "login") {
            if (!serval::security::verifyPassword(request.parameter("password", ""), state().adminHash))
                throw HttpError(403, "That is not the admin password.");
            serval::Session session = *request.session(true);
            if (!session.isNew()) session.changeId(); // an id known before the login names nothing
            session.set("user", "admin");
        } else if (action == "logout") {
            if (std::optional<serval::Session> session = request.session(false)) session->invalidate();
        } else if (action == "delete" && !user(request).empty()) {
            state().book.remove(request.pathParameter<long>(1).value_or(0));
        } else {
            throw HttpError(user(request).empty() ? 403 : 404, "sign in first, or no such page");
        }
        response.sendRedirect(std::string(request.contextPath()) + "/", 303);
    }
};

/// On every response, error pages included (declared for REQUEST and ERROR dispatches).
struct SecurityHeaders : serval::Filter
{
    void doFilter(Request& request, Response& response, serval::FilterChain& chain) override
    {
        response.setHeader("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setHeader("Referrer-Policy", "same-origin");
        chain.doFilter(request, response);
    }
};

/// Opens the book and the templates; at the first start, makes the admin password and logs it.
struct Startup : serval::Listener
{
    void contextInitialized(serval::ServletContext& context) override
    {
        std::string data(context.dataDirectory().value_or("."));
        State& s = state();
        s.book.open(context.dataSource("main"));
        s.templates = html::Templates(context, "/WEB-INF/templates");
        if (std::ifstream(data + "/admin.hash") >> s.adminHash) return;
        std::string password = serval::security::randomToken(12);
        s.adminHash = serval::security::hashPassword(password);
        std::ofstream(data + "/admin.hash") << s.adminHash;
        context.log("guestbook: the admin password is " + password + " (delete admin.hash for a new one)");
    }
};

} // namespace

SERVAL_APP("guestbook")
{
    app.servlet<Home>("home", {""})
        .servlet<Api>("api", {"/api/entries"})
        .servlet<Admin>("admin", {"/admin/*"})
        .filter<SecurityHeaders>("security-headers", {"/*"},
                                 serval::Dispatch::Request | serval::Dispatch::Error)
        .listener<Startup>("startup", serval::declared);
}
