// The "sessions" sample: a login that starts an HttpSession (and changes its id, as every login
// should), a page that reads it, and a visit counter that writes it. Every write is durable
// before the response leaves (docs/sessions.md), in data/sessions.db or in Redis. The
// benchmark's `session` workloads (tests/perf/bench.py) run these servlets.
#include <serval/servlet.hpp>
#include <string>

namespace {

/// GET /login?user=NAME -> "Hello, NAME!": a session holding user=NAME and visits=0. Changing
/// the id at login means an id a client held before (planted, say) never names a logged-in
/// session.
class Login : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        std::string user(request.parameter("user").value_or("World"));
        serval::Session session = *request.session(true);
        if (!session.isNew()) session.changeId();
        session.set("user", user);
        session.set("visits", 0);
        response.setContentType("text/plain");
        response.write("Hello, " + user + "!");
    }
};

/// Answers 401 when the request has no session (nobody logged in).
bool loggedOut(std::optional<serval::Session>& session, serval::Response& response)
{
    if (session) return false;
    response.sendError(401, "log in first: /sessions/login?user=NAME");
    return true;
}

/// GET /hello -> "Hello, NAME!" from the session, read only: no store write at all.
class Hello : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        std::optional<serval::Session> session = request.session(false);
        if (loggedOut(session, response)) return;
        response.setContentType("text/plain");
        response.write("Hello, " + std::string(session->get("user").value_or("?")) + "!");
    }
};

/// GET /visit -> "Hello, NAME!" and one more visit: reads one attribute, writes another (one
/// per-attribute write, committed before the response head leaves).
class Visit : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        std::optional<serval::Session> session = request.session(false);
        if (loggedOut(session, response)) return;
        session->set("visits", session->get<int64_t>("visits").value_or(0) + 1);
        response.setContentType("text/plain");
        response.write("Hello, " + std::string(session->get("user").value_or("?")) + "!");
    }
};

/// GET /visits -> the number of visits counted so far.
class Visits : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        std::optional<serval::Session> session = request.session(false);
        if (loggedOut(session, response)) return;
        response.setContentType("text/plain");
        response.write(std::to_string(session->get<int64_t>("visits").value_or(0)));
    }
};

} // namespace

SERVAL_APP("sessions")
{
    registry.servlet<Login>("sessions.Login");
    registry.servlet<Hello>("sessions.Hello");
    registry.servlet<Visit>("sessions.Visit");
    registry.servlet<Visits>("sessions.Visits");
}
