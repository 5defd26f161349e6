// Compile-only check: the header-only C++ layer builds as strict C++17 (-pedantic -Wshadow
// -Wconversion) and a complete app with every kind of class compiles, the optional helper
// headers included.
#include <serval/db.hpp>
#include <serval/html.hpp>
#include <serval/json.hpp>
#include <serval/security.hpp>
#include <serval/servlet.hpp>
#include <type_traits>
#include <utility>

namespace {

// `*db.query(...).begin()` on a temporary Rows gave a Row of a finished statement (values 0
// and ""): begin() is for lvalues only, as range-for uses it.
template <typename T, typename = void> struct CanBegin : std::false_type
{
};
template <typename T> struct CanBegin<T, std::void_t<decltype(std::declval<T>().begin())>> : std::true_type
{
};
static_assert(!CanBegin<serval::Rows>::value, "Rows::begin() must not take a temporary");
static_assert(CanBegin<serval::Rows&>::value, "Rows::begin() on a variable (range-for)");

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

class Database : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        serval::DataSource db = request.context().dataSource("main");
        int id = 1;
        for (serval::Row row : db.query("SELECT id, message, score, data FROM t WHERE id = ? AND note = ?",
                                        id, std::optional<std::string>())) {
            response.write(std::to_string(row.get<int64_t>(0)));
            response.write(row.get<std::string_view>(1));
            std::optional<double> score = row.get<std::optional<double>>(2);
            response.write(score ? "score" : "none");
            response.write(row.get<serval::Blob>(3).bytes);
        }
        int64_t changed = db.transaction([&](serval::Connection& tx) {
            tx.execScript("CREATE TABLE IF NOT EXISTS t (id BIGINT)");
            return tx.exec("UPDATE t SET id = ? WHERE id = ?", 2.5f, true) +
                   tx.exec("INSERT INTO t (id) VALUES (?)", nullptr);
        });
        std::optional<int> n = db.scalar<int>("SELECT count(*) FROM t");
        response.write(std::to_string(changed + n.value_or(0)));
        response.write(request.context().dataDirectory().value_or(""));
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
        .servlet<Database>("check.Database")
        .filter<Wrap>("check.Wrap")
        .listener<Watch>("check.Watch");
    app.servlet<Everything>("every", {"", "/e/*"})
        .filter<Wrap>("wrap", {"/*"}, serval::Dispatch::Request | serval::Dispatch::Error)
        .listener<Watch>("watch", serval::declared);
}
