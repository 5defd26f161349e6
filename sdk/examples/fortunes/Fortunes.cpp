// The "fortunes" sample: the four database tests of the TechEmpower Framework Benchmarks
// (https://github.com/TechEmpower/FrameworkBenchmarks/wiki/Project-Information-Framework-Tests-Overview)
// on the data source "main" (serval/db.hpp), the same code on the embedded SQLite database and on
// PostgreSQL:
//   GET /db                -> {"id":N,"randomNumber":M}, one random World row
//   GET /queries?queries=Q -> a JSON array of Q rows (1..500; anything else counts as 1 or 500),
//                             one query (one round trip) per row
//   GET /fortunes          -> every Fortune row plus one added at request time, sorted by message
//                             in app code, as an HTML table with the messages escaped
//   GET /updates?queries=Q -> Q rows read one by one, each given a new random number and written
//                             back (one UPDATE per row, in one transaction), as JSON
// The servlets run on the worker threads (the default dispatch): a database call blocks.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <random>
#include <serval/db.hpp>
#include <serval/html.hpp>
#include <serval/servlet.hpp>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr int kWorldRows = 10000;

/// A random World id (1..10000); one generator per worker thread, no lock.
int randomId()
{
    thread_local std::minstd_rand generator{std::random_device{}()};
    return std::uniform_int_distribution<int>(1, kWorldRows)(generator);
}

/// The `queries` parameter as the rules read it: missing or not a number is 1, then 1..500.
int queryCount(serval::Request& request)
{
    std::string_view text = request.parameter("queries").value_or("1");
    int count = 1;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (error != std::errc() || end != text.data() + text.size()) count = 1;
    return std::clamp(count, 1, 500);
}

struct World
{
    int64_t id;
    int64_t randomNumber;
};

/// One round trip: the World row `id` on `db`.
World readWorld(serval::Connection& db, int id)
{
    auto number = db.scalar<int64_t>("SELECT randomnumber FROM world WHERE id = ?", int64_t(id));
    return World{id, number.value_or(0)};
}

/// `count` random World rows, one query (one round trip) each, as the rules ask.
std::vector<World> readWorlds(serval::Connection& db, int count)
{
    std::vector<World> worlds;
    worlds.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i)
        worlds.push_back(readWorld(db, randomId()));
    return worlds;
}

void appendJson(std::string& out, const World& world)
{
    out += "{\"id\":";
    out += std::to_string(world.id);
    out += ",\"randomNumber\":";
    out += std::to_string(world.randomNumber);
    out += '}';
}

std::string jsonArray(const std::vector<World>& worlds)
{
    std::string out = "[";
    for (size_t i = 0; i < worlds.size(); ++i) {
        if (i) out += ',';
        appendJson(out, worlds[i]);
    }
    return out + "]";
}

void answerJson(serval::Response& response, const std::string& body)
{
    response.setContentType("application/json");
    response.write(body);
}

/// The data source, looked up once per request (a name lookup; the pool lives in the server).
serval::DataSource mainSource(serval::Request& request)
{
    return request.context().dataSource("main");
}

class Db : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        serval::Connection db = mainSource(request).connection();
        std::string body;
        appendJson(body, readWorld(db, randomId()));
        answerJson(response, body);
    }
};

class Queries : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        serval::Connection db = mainSource(request).connection();
        answerJson(response, jsonArray(readWorlds(db, queryCount(request))));
    }
};

class Fortunes : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        std::vector<std::pair<int64_t, std::string>> fortunes;
        fortunes.reserve(16);
        for (serval::Row row : mainSource(request).query("SELECT id, message FROM fortune"))
            fortunes.emplace_back(row.get<int64_t>(0), row.get<std::string>(1));
        fortunes.emplace_back(0, "Additional fortune added at request time.");
        std::sort(fortunes.begin(), fortunes.end(),
                  [](const auto& a, const auto& b) { return a.second < b.second; });
        std::string html = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
                           "<tr><th>id</th><th>message</th></tr>";
        html.reserve(2048);
        for (const auto& [id, message] : fortunes) {
            html += "<tr><td>";
            html += std::to_string(id);
            html += "</td><td>";
            html += serval::html::escape(message); // the five characters the rules name
            html += "</td></tr>";
        }
        html += "</table></body></html>";
        response.setContentType("text/html; charset=utf-8");
        response.write(html);
    }
};

class Updates : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        serval::Connection db = mainSource(request).connection();
        std::vector<World> worlds = readWorlds(db, queryCount(request));
        for (World& world : worlds)
            world.randomNumber = randomId();
        // Rows written in id order, so two concurrent requests never wait on each other in a
        // cycle (PostgreSQL would abort one with a deadlock).
        std::vector<World> ordered = worlds;
        std::sort(ordered.begin(), ordered.end(), [](const World& a, const World& b) { return a.id < b.id; });
        db.transaction([&](serval::Connection& tx) {
            for (const World& world : ordered)
                tx.exec("UPDATE world SET randomnumber = ? WHERE id = ?", world.randomNumber, world.id);
        });
        answerJson(response, jsonArray(worlds));
    }
};

} // namespace

SERVAL_APP("fortunes")
{
    registry.servlet<Db>("fortunes.Db");
    registry.servlet<Queries>("fortunes.Queries");
    registry.servlet<Fortunes>("fortunes.Fortunes");
    registry.servlet<Updates>("fortunes.Updates");
}
