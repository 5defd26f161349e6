#include "RemoteCommands.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace serval::deploy {

namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr const char* Usage =
    "remote (manager API; --url URL or SERVAL_URL, --token TOKEN or SERVAL_TOKEN, --json):\n"
    "  list                                  applications on every host\n"
    "  deploy FILE [--path P] [--update]     upload and deploy a bundle; --url repeated: a rolling\n"
    "                                        deploy, one server at a time (--token once, or per --url)\n"
    "  deploy --on-server PATH [--path P]    deploy a bundle or app directory already on the server\n"
    "                                        (inside <Manager deployRoots>; nothing is uploaded)\n"
    "  undeploy P | start P | stop P | reload P\n"
    "  restart-processes P                   replace an isolated app's worker processes (new ones\n"
    "                                        first, no request fails); lifts a quarantine\n"
    "  crashes P [--id ID]                   an isolated app's crash records, newest first;\n"
    "                                        --id: one whole record with its backtrace\n"
    "  status                                server status\n"
    "  history [P]                           deploy history (newest first)\n"
    "  backup HOST/APP NAME -o FILE          consistent copy of an app's embedded database\n";

struct Options
{
    std::string url;                 ///< the server this call goes to
    std::string token;               ///< its token
    std::vector<std::string> urls;   ///< every --url, in order (a rolling deploy has several)
    std::vector<std::string> tokens; ///< every --token: one for all urls, or one per url
    std::string host;
    std::string path;
    std::string output; ///< -o FILE (backup)
    bool json = false;
    bool update = false;
    bool onServer = false; ///< deploy --on-server: FILE is a path on the server
    std::string crashId;   ///< crashes --id: one record
    std::vector<std::string> positional;
};

struct Reply
{
    int status = 0;
    std::string body;
    Object::Ptr json;
};

std::string encode(const std::string& text)
{
    std::string out;
    Poco::URI::encode(text, "&=?#+/ %", out);
    return out;
}

/// One request to the manager API. Throws Poco::Exception on connection errors.
Reply call(const Options& options, const std::string& method, const std::string& endpoint,
           const std::string& body = {}, const std::string& contentType = {})
{
    Poco::URI uri(options.url);
    std::string basePath = uri.getPath();
    while (!basePath.empty() && basePath.back() == '/')
        basePath.pop_back();
    if (basePath.empty()) basePath = "/manager";
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(300, 0)); // deploys run to completion before answering
    Poco::Net::HTTPRequest request(method, basePath + "/api/" + endpoint, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer " + options.token);
    request.set("Accept", "application/json");
    if (!body.empty() || method == "POST") {
        request.setContentLength(static_cast<std::streamsize>(body.size()));
        if (!contentType.empty()) request.setContentType(contentType);
    }
    std::ostream& out = session.sendRequest(request);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = response.getStatus();
    Poco::StreamCopier::copyToString(in, reply.body);
    try {
        reply.json = Poco::JSON::Parser().parse(reply.body).extract<Object::Ptr>();
    } catch (const std::exception&) {
        reply.json = nullptr;
    }
    return reply;
}

std::string str(const Object::Ptr& o, const std::string& key)
{
    if (!o || !o->has(key) || o->isNull(key)) return {};
    return o->get(key).convert<std::string>();
}

void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows)
{
    std::vector<size_t> widths;
    for (const auto& row : rows) {
        if (widths.size() < row.size()) widths.resize(row.size(), 0);
        for (size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out << line << "\n";
    }
}

std::string appState(const Object::Ptr& app)
{
    std::string state = str(app, "state");
    std::string failure = str(app, "failure");
    // An isolated app that runs but whose processes do not ("quarantined", "restarting").
    if (auto isolation = app->getObject("isolation"); isolation && failure.empty()) {
        std::string processes = str(isolation, "state");
        std::string reason = str(isolation, "reason");
        if (state == "running" && !processes.empty() && processes != "running") {
            state = processes;
            failure = reason;
        }
    }
    return failure.empty() ? state : state + " (" + failure + ")";
}

/// "process 2" (isolated, with its worker count) or "none" (in the server).
std::string appMode(const Object::Ptr& app)
{
    std::string mode = str(app, "mode");
    if (mode.empty()) return "none"; // a server from before issue 11
    auto isolation = app->getObject("isolation");
    auto processes = isolation ? isolation->getArray("processes") : nullptr;
    return processes ? mode + " " + std::to_string(processes->size()) : mode;
}

int failed(std::ostream& err, const std::string& command, const Reply& reply)
{
    std::string detail = str(reply.json, "detail");
    if (detail.empty()) detail = "HTTP " + std::to_string(reply.status);
    err << "servalctl " << command << ": " << detail << "\n";
    return 1;
}

/// One call to the manager API, as a command builds it.
struct Call
{
    std::string method;
    std::string endpoint; ///< below /api/, with the query
    std::string body;
    std::string contentType;
};

std::string hostQuery(const Options& options)
{
    return options.host.empty() ? "" : "&host=" + encode(options.host);
}

/// What a command takes after its name.
enum class Operand
{
    None,         ///< extra words are ignored
    OptionalPath, ///< [PATH]
    ContextPath,  ///< exactly one context path
    File,         ///< exactly one FILE
    AppAndName,   ///< HOST/APP NAME (backup)
};

/// One row of the remote command table: adding a command is one row here (and its --help line
/// in deploy/servalctl/Commands.cpp). `build` makes the API call and may throw
/// std::runtime_error with the reason (exit 1); `print` turns a 200 answer into the table a
/// person reads (--json prints the body as it came).
struct RemoteCommand
{
    std::string_view name;
    Operand operand;
    Call (*build)(const std::string& command, const Options& options);
    void (*print)(const std::string& command, const Object::Ptr& json, std::ostream& out);
    /// Commands whose 200 answer is not JSON (backup: a file) take it here instead of `print`.
    void (*save)(const Options& options, const Reply& reply, std::ostream& out) = nullptr;
};

Call listApps(const std::string&, const Options&)
{
    return {"GET", "apps", {}, {}};
}

/// "3d04h", "2h05m", "1m05s", "42s": an uptime a person reads at a glance.
std::string formatUptime(long long seconds)
{
    char text[32];
    if (seconds >= 86400) {
        std::snprintf(text, sizeof text, "%lldd%02lldh", seconds / 86400, seconds % 86400 / 3600);
    } else if (seconds >= 3600) {
        std::snprintf(text, sizeof text, "%lldh%02lldm", seconds / 3600, seconds % 3600 / 60);
    } else if (seconds >= 60) {
        std::snprintf(text, sizeof text, "%lldm%02llds", seconds / 60, seconds % 60);
    } else {
        std::snprintf(text, sizeof text, "%llds", seconds < 0 ? 0 : seconds);
    }
    return text;
}

std::string formatMiB(double bytes)
{
    std::ostringstream text;
    text << std::fixed << std::setprecision(1) << bytes / (1024.0 * 1024.0) << " MiB";
    return text.str();
}

/// The isolated apps' worker processes, one row each, from the JSON the admin page's Processes
/// card reads (appJson's "isolation"); an app with no process (quarantined, restarting) gets
/// one row with "-". Restarts are the app's, by cause. Nothing when no app is isolated.
void printProcesses(const Poco::JSON::Array::Ptr& apps, std::ostream& out)
{
    std::vector<std::vector<std::string>> rows{
        {"HOST", "PATH", "PID", "STATE", "UPTIME", "RSS", "REQUESTS", "RESTARTS"}};
    for (size_t i = 0; apps && i < apps->size(); ++i) {
        auto app = apps->getObject(static_cast<unsigned>(i));
        auto isolation = app ? app->getObject("isolation") : nullptr;
        if (!isolation) continue;
        std::string restarts;
        if (auto causes = isolation->getObject("restarts")) {
            // The manager's causes (core::RemoteStatus::kCauses; servalctl links no container code).
            for (const char* cause : {"crash", "timeout", "memory", "recycle"})
                restarts += (restarts.empty() ? "" : " ") + std::string(cause) + "=" +
                            (causes->has(cause) ? str(causes, cause) : "0");
        }
        auto processes = isolation->getArray("processes");
        if (!processes || processes->size() == 0) {
            rows.push_back(
                {str(app, "host"), str(app, "path"), "-", str(isolation, "state"), "-", "-", "-", restarts});
            continue;
        }
        for (size_t j = 0; j < processes->size(); ++j) {
            auto p = processes->getObject(static_cast<unsigned>(j));
            rows.push_back({str(app, "host"), str(app, "path"), str(p, "pid"), str(p, "state"),
                            formatUptime(static_cast<long long>(p->optValue<double>("uptimeSeconds", 0))),
                            formatMiB(p->optValue<double>("residentBytes", 0)), str(p, "requests"),
                            restarts});
        }
    }
    if (rows.size() == 1) return;
    out << "\nprocesses:\n";
    printTable(out, rows);
}

void printApps(const std::string&, const Object::Ptr& json, std::ostream& out)
{
    std::vector<std::vector<std::string>> rows{
        {"HOST", "PATH", "VERSION", "STATE", "MODE", "REQUESTS", "5XX", "P99", "DEPLOYED"}};
    auto apps = json->getArray("apps");
    for (size_t i = 0; apps && i < apps->size(); ++i) {
        auto app = apps->getObject(static_cast<unsigned>(i));
        std::ostringstream p99;
        p99 << std::fixed << std::setprecision(1) << app->optValue<double>("p99Ms", 0) << "ms";
        rows.push_back({str(app, "host"), str(app, "path"), str(app, "version"), appState(app), appMode(app),
                        str(app, "requests"), str(app, "errors5xx"), p99.str(), str(app, "deployedAt")});
    }
    printTable(out, rows);
    printProcesses(apps, out);
}

Call uploadBundle(const std::string&, const Options& options)
{
    const std::string& file = options.positional[0];
    if (options.onServer) {
        // The server opens it itself, within <Manager deployRoots>, following no link.
        if (file.empty() || file[0] != '/')
            throw std::runtime_error("--on-server needs an absolute path on the server, not " + file);
        std::string query = "deploy?serverPath=" + encode(file) + hostQuery(options);
        if (!options.path.empty()) query += "&path=" + encode(options.path);
        if (options.update) query += "&update=true";
        return {"POST", query, {}, {}};
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file);
    std::string bundle((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto slash = file.find_last_of('/');
    std::string name = slash == std::string::npos ? file : file.substr(slash + 1);
    std::string query = "deploy?file=" + encode(name) + hostQuery(options);
    if (!options.path.empty()) query += "&path=" + encode(options.path);
    if (options.update) query += "&update=true";
    return {"POST", query, std::move(bundle), "application/octet-stream"};
}

void printDeployed(const std::string&, const Object::Ptr& json, std::ostream& out)
{
    auto app = json->getObject("app");
    std::string version = str(app, "version");
    out << "deployed " << str(app, "host") << str(app, "path")
        << (version.empty() ? "" : " version " + version) << ": " << appState(app) << "\n";
}

/// undeploy, start, stop, reload: POST /api/<command>?path=P.
Call appAction(const std::string& command, const Options& options)
{
    return {"POST", command + "?path=" + encode(options.positional[0]) + hostQuery(options), {}, {}};
}

void printAction(const std::string& command, const Object::Ptr& json, std::ostream& out)
{
    auto app = json->getObject("app");
    out << command << " " << str(json, "host") << str(json, "path") << ": ok"
        << (app ? " (" + appState(app) + ")" : "") << "\n";
}

Call serverStatus(const std::string&, const Options&)
{
    return {"GET", "status", {}, {}};
}

void printStatus(const std::string&, const Object::Ptr& s, std::ostream& out)
{
    auto workers = s->getObject("workers");
    std::vector<std::vector<std::string>> rows{
        {"version", str(s, "version")},
        {"uptime", std::to_string(static_cast<long long>(s->optValue<double>("uptimeSeconds", 0))) + " s"},
        {"requests", str(s, "requests")},
        {"rss", std::to_string(s->optValue<uint64_t>("rssBytes", 0) / 1024) + " KiB"},
        {"open fds", str(s, "openFds")},
        {"workers", str(workers, "busy") + " busy / " + str(workers, "threads") + ", " +
                        str(workers, "queued") + " queued"},
        {"deploys", str(s, "deploys") + " (" + str(s, "failedDeploys") + " failed)"}};
    auto connectors = s->getArray("connectors");
    for (size_t i = 0; connectors && i < connectors->size(); ++i) {
        auto c = connectors->getObject(static_cast<unsigned>(i));
        rows.push_back({"connector", str(c, "address") + ":" + str(c, "port") + "  " +
                                         str(c, "openConnections") + " open, " + str(c, "requests") +
                                         " requests"});
    }
    printTable(out, rows);
}

Call deployHistory(const std::string&, const Options& options)
{
    std::string query = "history?limit=100" + hostQuery(options);
    if (!options.positional.empty()) query += "&path=" + encode(options.positional[0]);
    return {"GET", query, {}, {}};
}

void printHistory(const std::string&, const Object::Ptr& json, std::ostream& out)
{
    std::vector<std::vector<std::string>> rows{{"TIME", "EVENT", "HOST", "PATH", "VERSION", "DETAIL"}};
    auto history = json->getArray("history");
    for (size_t i = 0; history && i < history->size(); ++i) {
        auto h = history->getObject(static_cast<unsigned>(i));
        rows.push_back({str(h, "time"), str(h, "event"), str(h, "host"), str(h, "path"), str(h, "version"),
                        str(h, "detail")});
    }
    printTable(out, rows);
}

/// crashes P: GET /api/crashes?path=P; crashes P --id ID: GET /api/crashes/ID.
Call crashRecords(const std::string&, const Options& options)
{
    if (!options.crashId.empty()) return {"GET", "crashes/" + encode(options.crashId), {}, {}};
    return {"GET", "crashes?limit=50&path=" + encode(options.positional[0]) + hostQuery(options), {}, {}};
}

/// One line per crash (time, crash id, signal, faulting function), or one whole record.
void printCrashes(const std::string&, const Object::Ptr& json, std::ostream& out)
{
    auto signalOf = [](const Object::Ptr& c) {
        std::string signal = str(c, "signal");
        return str(c, "cause") == "timeout" ? std::string("timeout") : signal.empty() ? "-" : signal;
    };
    auto functionOf = [](const Object::Ptr& c) {
        std::string function = str(c, "function");
        return function.empty() ? std::string("??") : function;
    };
    auto crashes = json->getArray("crashes");
    if (!crashes) {
        std::vector<std::vector<std::string>> rows{
            {"crash", str(json, "crashId")},
            {"time", str(json, "time")},
            {"app", str(json, "host") + str(json, "path") +
                        (str(json, "version").empty() ? "" : " version " + str(json, "version"))},
            {"pid", str(json, "pid")},
            {"cause", str(json, "cause")},
            {"signal", signalOf(json)},
            {"address", str(json, "address")},
            {"function", functionOf(json)},
            {"request", str(json, "request")},
            {"summary", str(json, "summary")}};
        printTable(out, rows);
        for (const char* block : {"requests", "backtrace"}) {
            std::istringstream lines(str(json, block));
            std::string line;
            bool first = true;
            while (std::getline(lines, line)) {
                if (first) out << block << ":\n";
                first = false;
                out << "  " << line << "\n";
            }
        }
        return;
    }
    std::vector<std::vector<std::string>> rows{{"TIME", "CRASH", "SIGNAL", "FUNCTION"}};
    for (size_t i = 0; i < crashes->size(); ++i) {
        auto c = crashes->getObject(static_cast<unsigned>(i));
        rows.push_back({str(c, "time"), str(c, "crashId"), signalOf(c), functionOf(c)});
    }
    if (rows.size() == 1) {
        out << "no crashes recorded for " << str(json, "host") << str(json, "path") << "\n";
        return;
    }
    printTable(out, rows);
}

/// "localhost/shop" -> host "localhost", path "/shop"; "localhost/" -> ROOT; "/shop" -> the
/// default host (or --host).
std::pair<std::string, std::string> hostAndPath(const std::string& operand, const Options& options)
{
    auto slash = operand.find('/');
    if (slash == std::string::npos)
        throw std::runtime_error("name the app as HOST/APP (localhost/shop, localhost/ for ROOT), not \"" +
                                 operand + "\"");
    std::string host = slash == 0 ? options.host : operand.substr(0, slash);
    std::string path = operand.substr(slash);
    return {host, path};
}

/// backup HOST/APP NAME -o FILE: POST /api/backup?host=H&path=P&name=N answers the database file.
Call backupDataSource(const std::string&, const Options& options)
{
    auto [host, path] = hostAndPath(options.positional[0], options);
    std::string query = "backup?path=" + encode(path) + "&name=" + encode(options.positional[1]);
    if (!host.empty()) query += "&host=" + encode(host);
    return {"POST", query, {}, {}};
}

/// Writes the copy beside FILE and renames it in, so FILE is never half a database.
void saveBackup(const Options& options, const Reply& reply, std::ostream& out)
{
    std::string partial = options.output + ".partial";
    {
        std::ofstream file(partial, std::ios::binary | std::ios::trunc);
        file.write(reply.body.data(), static_cast<std::streamsize>(reply.body.size()));
        file.close();
        if (!file) throw std::runtime_error("cannot write " + partial);
    }
    if (std::rename(partial.c_str(), options.output.c_str()) != 0) {
        std::remove(partial.c_str());
        throw std::runtime_error("cannot rename " + partial + " to " + options.output);
    }
    out << "backed up " << options.positional[0] << " " << options.positional[1] << " to " << options.output
        << " (" << reply.body.size() << " bytes)\n";
}

const RemoteCommand Commands[] = {
    {"list", Operand::None, listApps, printApps},
    {"deploy", Operand::File, uploadBundle, printDeployed},
    {"undeploy", Operand::ContextPath, appAction, printAction},
    {"start", Operand::ContextPath, appAction, printAction},
    {"stop", Operand::ContextPath, appAction, printAction},
    {"reload", Operand::ContextPath, appAction, printAction},
    {"restart-processes", Operand::ContextPath, appAction, printAction},
    {"crashes", Operand::ContextPath, crashRecords, printCrashes},
    {"status", Operand::None, serverStatus, printStatus},
    {"history", Operand::OptionalPath, deployHistory, printHistory},
    {"backup", Operand::AppAndName, backupDataSource, nullptr, saveBackup},
};

const RemoteCommand* findCommand(std::string_view name)
{
    for (const RemoteCommand& c : Commands) {
        if (c.name == name) return &c;
    }
    return nullptr;
}

/// Reads the global options and the operands into `options`. Returns 0, or the usage exit
/// code (2) once it has said why on `err`.
int parseOptions(const std::string& command, const std::vector<std::string>& args, Options& options,
                 std::ostream& err)
{
    const std::pair<const char*, std::string*> valued[] = {{"--host", &options.host},
                                                           {"--path", &options.path},
                                                           {"-o", &options.output},
                                                           {"--output", &options.output}};
    const std::pair<const char*, std::vector<std::string>*> repeated[] = {{"--url", &options.urls},
                                                                          {"--token", &options.tokens}};
    bool seenCommand = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        std::string* target = nullptr;
        std::vector<std::string>* list = nullptr;
        for (const auto& [name, field] : valued) {
            if (arg == name) target = field;
        }
        for (const auto& [name, field] : repeated) {
            if (arg == name) list = field;
        }
        if (arg == "--id" && command == "crashes") target = &options.crashId;
        if ((target || list) && i + 1 >= args.size()) {
            err << "servalctl: " << arg << " needs a value\n";
            return 2;
        }
        if (target) {
            *target = args[++i];
        } else if (list) {
            list->push_back(args[++i]);
        } else if (arg == "--json") {
            options.json = true;
        } else if (arg == "--update") {
            options.update = true;
        } else if (arg == "--on-server" && command == "deploy") {
            options.onServer = true;
        } else if (!seenCommand && arg == command) {
            seenCommand = true;
        } else if (!arg.empty() && arg[0] == '-') {
            err << "servalctl " << command << ": unknown option " << arg << "\n" << Usage;
            return 2;
        } else {
            options.positional.push_back(arg);
        }
    }
    const char* envUrl = std::getenv("SERVAL_URL");
    const char* envToken = std::getenv("SERVAL_TOKEN");
    if (options.urls.empty() && envUrl && *envUrl) options.urls.emplace_back(envUrl);
    if (options.tokens.empty() && envToken && *envToken) options.tokens.emplace_back(envToken);
    if (options.urls.empty()) {
        err << "servalctl " << command << ": give the server with --url http://HOST:PORT (or SERVAL_URL)\n";
        return 2;
    }
    if (options.urls.size() > 1 && command != "deploy") {
        err << "servalctl " << command
            << ": give one --url (only deploy goes to several servers, one at a time)\n";
        return 2;
    }
    if (options.tokens.empty() || options.tokens[0].empty()) {
        err << "servalctl " << command
            << ": give an API token with --token (or SERVAL_TOKEN); create one in the manager page under API "
               "tokens\n";
        return 2;
    }
    if (options.tokens.size() != 1 && options.tokens.size() != options.urls.size()) {
        err << "servalctl " << command
            << ": give --token once (every server accepts it) or once per --url, in "
            << "the same order (" << options.urls.size() << " urls, " << options.tokens.size()
            << " tokens)\n";
        return 2;
    }
    for (const std::string& url : options.urls) {
        Poco::URI uri;
        try {
            uri = Poco::URI(url);
        } catch (const std::exception&) {
            err << "servalctl: bad --url \"" << url << "\"; use http://HOST:PORT\n";
            return 2;
        }
        if (uri.getScheme() != "http" || uri.getHost().empty()) {
            err << "servalctl: bad --url \"" << url << "\"; use http://HOST:PORT (TLS: put nginx in front)\n";
            return 2;
        }
    }
    options.url = options.urls[0];
    options.token = options.tokens[0];
    return 0;
}

/// The app at `host` + `path` in a GET /api/apps answer, or null.
Object::Ptr findApp(const Object::Ptr& json, const std::string& host, const std::string& path)
{
    auto apps = json ? json->getArray("apps") : nullptr;
    for (size_t i = 0; apps && i < apps->size(); ++i) {
        auto app = apps->getObject(static_cast<unsigned>(i));
        if (str(app, "host") == host && str(app, "path") == path) return app;
    }
    return nullptr;
}

/// After a node answered its deploy: polls its app list until `deployed` (host, path, version)
/// is running there, so the next node is only touched once this one serves the new version.
/// Returns "" or why it does not.
std::string waitUntilServing(const Options& node, const Object::Ptr& deployed)
{
    const std::string host = str(deployed, "host");
    const std::string path = str(deployed, "path");
    const std::string version = str(deployed, "version");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string last = "no answer";
    while (true) {
        Reply reply = call(node, "GET", "apps");
        Object::Ptr app = reply.status == 200 ? findApp(reply.json, host, path) : nullptr;
        if (app && str(app, "version") == version && str(app, "state") == "running") return "";
        if (app && str(app, "state") == "failed")
            return "version " + version + " failed: " + str(app, "failure");
        last = app ? "version " + str(app, "version") + " " + appState(app)
                   : "HTTP " + std::to_string(reply.status);
        if (std::chrono::steady_clock::now() >= deadline)
            return "version " + version + " did not serve within 60 s (last seen: " + last + ")";
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

/// `deploy --url A --url B ...`: one server at a time, each only after the previous one serves
/// the new version; the first failure stops it, and the servers after it are not touched.
int rollingDeploy(const Options& options, std::ostream& out, std::ostream& err)
{
    Call request = uploadBundle("deploy", options); // reads the bundle once, before any server
    const size_t count = options.urls.size();
    auto nodeOptions = [&](size_t i) {
        Options node = options;
        node.url = options.urls[i];
        node.token = options.tokens.size() == 1 ? options.tokens[0] : options.tokens[i];
        return node;
    };
    // Every token is tried before any server is touched: a token one server refuses would
    // otherwise stop the roll half-way, the servers on different versions. A server that does
    // not answer yet is left to its turn (it may be back by then).
    for (size_t i = 0; i < count; ++i) {
        Options node = nodeOptions(i);
        Reply reply;
        try {
            reply = call(node, "GET", "apps");
        } catch (const Poco::Exception&) {
            continue;
        }
        if (reply.status != 401 && reply.status != 403) continue;
        std::string why = str(reply.json, "detail");
        err << "servalctl deploy: " << node.url << ": "
            << (why.empty() ? "HTTP " + std::to_string(reply.status) : why) << "\n";
        err << "servalctl deploy: nothing deployed: server " << i + 1 << " of " << count
            << " refuses its token (every token is checked before the first server is touched)\n";
        return 1;
    }
    for (size_t i = 0; i < count; ++i) {
        Options node = nodeOptions(i);
        std::string failure;
        try {
            Reply reply = call(node, request.method, request.endpoint, request.body, request.contentType);
            Object::Ptr app = reply.json ? reply.json->getObject("app") : nullptr;
            if (reply.status != 200 || !app) {
                failure = str(reply.json, "detail");
                if (failure.empty()) failure = "HTTP " + std::to_string(reply.status);
            } else {
                failure = waitUntilServing(node, app);
                if (failure.empty()) {
                    out << "[" << i + 1 << "/" << count << "] " << node.url << ": ";
                    printDeployed("deploy", reply.json, out);
                }
            }
        } catch (const Poco::Exception& e) {
            failure = "cannot reach it: " + e.displayText();
        }
        if (failure.empty()) continue;
        err << "servalctl deploy: " << node.url << ": " << failure << "\n";
        err << "servalctl deploy: stopped at server " << i + 1 << " of " << count;
        if (i > 0) err << "; deployed on the " << i << " before it";
        if (i + 1 < count) {
            err << "; not touched:";
            for (size_t j = i + 1; j < count; ++j)
                err << " " << options.urls[j];
        }
        err << "\n";
        return 1;
    }
    return 0;
}

} // namespace

const char* remoteUsage()
{
    return Usage;
}

int runRemoteCommand(const std::string& command, const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err)
{
    const RemoteCommand* row = findCommand(command);
    if (!row) {
        err << "servalctl: unknown command " << command << "\n" << Usage;
        return 2;
    }
    Options options;
    if (int usage = parseOptions(command, args, options, err)) return usage;
    bool exactlyOne = row->operand == Operand::ContextPath || row->operand == Operand::File;
    if (exactlyOne && options.positional.size() != 1) {
        err << "servalctl " << command << ": needs exactly one "
            << (row->operand == Operand::File ? "FILE" : "context path") << "\n"
            << Usage;
        return 2;
    }
    if (row->operand == Operand::AppAndName && (options.positional.size() != 2 || options.output.empty())) {
        err << "servalctl " << command << ": needs HOST/APP, a data source name and -o FILE\n" << Usage;
        return 2;
    }
    try {
        if (options.urls.size() > 1) return rollingDeploy(options, out, err);
        Call request = row->build(command, options);
        Reply reply = call(options, request.method, request.endpoint, request.body, request.contentType);
        if (reply.status != 200) return failed(err, command, reply);
        if (row->save) {
            row->save(options, reply, out);
        } else if (options.json) {
            out << reply.body;
        } else {
            row->print(command, reply.json, out);
        }
        return 0;
    } catch (const Poco::Exception& e) {
        err << "servalctl " << command << ": cannot reach " << options.url << ": " << e.displayText() << "\n";
        return 1;
    } catch (const std::exception& e) {
        err << "servalctl " << command << ": " << e.what() << "\n";
        return 1;
    }
}

} // namespace serval::deploy
