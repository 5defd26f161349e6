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
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace serval::deploy {

namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr const char* Usage =
    "remote (manager API; --url URL or SERVAL_URL, --token TOKEN or SERVAL_TOKEN, --json):\n"
    "  list                                  applications on every host\n"
    "  deploy FILE [--path P] [--update]     upload and deploy a bundle\n"
    "  undeploy P | start P | stop P | reload P\n"
    "  status                                server status\n"
    "  history [P]                           deploy history (newest first)\n";

struct Options
{
    std::string url;
    std::string token;
    std::string host;
    std::string path;
    bool json = false;
    bool update = false;
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
    return failure.empty() ? state : state + " (" + failure + ")";
}

int failed(std::ostream& err, const std::string& command, const Reply& reply)
{
    std::string detail = str(reply.json, "detail");
    if (detail.empty()) detail = "HTTP " + std::to_string(reply.status);
    err << "servalctl " << command << ": " << detail << "\n";
    return 1;
}

} // namespace

const char* remoteUsage()
{
    return Usage;
}

bool isRemoteCommand(std::string_view name)
{
    for (const char* c : {"list", "deploy", "undeploy", "start", "stop", "reload", "status", "history"}) {
        if (name == c) return true;
    }
    return false;
}

int runRemoteCommand(const std::string& command, const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err)
{
    Options options;
    if (const char* url = std::getenv("SERVAL_URL")) options.url = url;
    if (const char* token = std::getenv("SERVAL_TOKEN")) options.token = token;
    bool seenCommand = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&](std::string& target) {
            if (i + 1 >= args.size()) {
                err << "servalctl: " << arg << " needs a value\n";
                return false;
            }
            target = args[++i];
            return true;
        };
        if (arg == "--url") {
            if (!value(options.url)) return 2;
        } else if (arg == "--token") {
            if (!value(options.token)) return 2;
        } else if (arg == "--host") {
            if (!value(options.host)) return 2;
        } else if (arg == "--path") {
            if (!value(options.path)) return 2;
        } else if (arg == "--json") {
            options.json = true;
        } else if (arg == "--update") {
            options.update = true;
        } else if (!seenCommand && arg == command) {
            seenCommand = true;
        } else if (!arg.empty() && arg[0] == '-') {
            err << "servalctl " << command << ": unknown option " << arg << "\n" << Usage;
            return 2;
        } else {
            options.positional.push_back(arg);
        }
    }
    if (options.url.empty()) {
        err << "servalctl " << command << ": give the server with --url http://HOST:PORT (or SERVAL_URL)\n";
        return 2;
    }
    if (options.token.empty()) {
        err << "servalctl " << command
            << ": give an API token with --token (or SERVAL_TOKEN); create one in the manager page under API "
               "tokens\n";
        return 2;
    }
    Poco::URI uri;
    try {
        uri = Poco::URI(options.url);
    } catch (const std::exception&) {
        err << "servalctl: bad --url \"" << options.url << "\"; use http://HOST:PORT\n";
        return 2;
    }
    if (uri.getScheme() != "http" || uri.getHost().empty()) {
        err << "servalctl: bad --url \"" << options.url
            << "\"; use http://HOST:PORT (TLS: put nginx in front)\n";
        return 2;
    }

    bool needsPath = command == "undeploy" || command == "start" || command == "stop" || command == "reload";
    if ((needsPath || command == "deploy") && options.positional.size() != 1) {
        err << "servalctl " << command << ": needs exactly one "
            << (command == "deploy" ? "FILE" : "context path") << "\n"
            << Usage;
        return 2;
    }
    std::string hostQuery = options.host.empty() ? "" : "&host=" + encode(options.host);

    try {
        Reply reply;
        if (command == "list") {
            reply = call(options, "GET", "apps");
            if (reply.status != 200) return failed(err, command, reply);
            if (options.json) {
                out << reply.body;
                return 0;
            }
            std::vector<std::vector<std::string>> rows{
                {"HOST", "PATH", "VERSION", "STATE", "REQUESTS", "5XX", "P99", "DEPLOYED"}};
            auto apps = reply.json->getArray("apps");
            for (size_t i = 0; apps && i < apps->size(); ++i) {
                auto app = apps->getObject(static_cast<unsigned>(i));
                std::ostringstream p99;
                p99 << std::fixed << std::setprecision(1) << app->optValue<double>("p99Ms", 0) << "ms";
                rows.push_back({str(app, "host"), str(app, "path"), str(app, "version"), appState(app),
                                str(app, "requests"), str(app, "errors5xx"), p99.str(),
                                str(app, "deployedAt")});
            }
            printTable(out, rows);
            return 0;
        }
        if (command == "deploy") {
            const std::string& file = options.positional[0];
            std::ifstream in(file, std::ios::binary);
            if (!in) {
                err << "servalctl deploy: cannot read " << file << "\n";
                return 1;
            }
            std::string bundle((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            std::string name =
                file.substr(file.find_last_of('/') == std::string::npos ? 0 : file.find_last_of('/') + 1);
            std::string query = "deploy?file=" + encode(name) + hostQuery;
            if (!options.path.empty()) query += "&path=" + encode(options.path);
            if (options.update) query += "&update=true";
            reply = call(options, "POST", query, bundle, "application/octet-stream");
            if (reply.status != 200) return failed(err, command, reply);
            if (options.json) {
                out << reply.body;
                return 0;
            }
            auto app = reply.json->getObject("app");
            out << "deployed " << str(app, "host") << str(app, "path")
                << (str(app, "version").empty() ? "" : " version " + str(app, "version")) << ": "
                << appState(app) << "\n";
            return 0;
        }
        if (needsPath) {
            reply = call(options, "POST", command + "?path=" + encode(options.positional[0]) + hostQuery);
            if (reply.status != 200) return failed(err, command, reply);
            if (options.json) {
                out << reply.body;
                return 0;
            }
            auto app = reply.json->getObject("app");
            out << command << " " << str(reply.json, "host") << str(reply.json, "path") << ": ok"
                << (app ? " (" + appState(app) + ")" : "") << "\n";
            return 0;
        }
        if (command == "status") {
            reply = call(options, "GET", "status");
            if (reply.status != 200) return failed(err, command, reply);
            if (options.json) {
                out << reply.body;
                return 0;
            }
            auto s = reply.json;
            auto workers = s->getObject("workers");
            std::vector<std::vector<std::string>> rows{
                {"version", str(s, "version")},
                {"uptime",
                 std::to_string(static_cast<long long>(s->optValue<double>("uptimeSeconds", 0))) + " s"},
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
            return 0;
        }
        if (command == "history") {
            std::string query = "history?limit=100" + hostQuery;
            if (!options.positional.empty()) query += "&path=" + encode(options.positional[0]);
            reply = call(options, "GET", query);
            if (reply.status != 200) return failed(err, command, reply);
            if (options.json) {
                out << reply.body;
                return 0;
            }
            std::vector<std::vector<std::string>> rows{
                {"TIME", "EVENT", "HOST", "PATH", "VERSION", "DETAIL"}};
            auto history = reply.json->getArray("history");
            for (size_t i = 0; history && i < history->size(); ++i) {
                auto h = history->getObject(static_cast<unsigned>(i));
                rows.push_back({str(h, "time"), str(h, "event"), str(h, "host"), str(h, "path"),
                                str(h, "version"), str(h, "detail")});
            }
            printTable(out, rows);
            return 0;
        }
    } catch (const Poco::Exception& e) {
        err << "servalctl " << command << ": cannot reach " << options.url << ": " << e.displayText() << "\n";
        return 1;
    } catch (const std::exception& e) {
        err << "servalctl " << command << ": " << e.what() << "\n";
        return 1;
    }
    err << "servalctl: unknown command " << command << "\n" << Usage;
    return 2;
}

int remoteMain(int argc, char** argv)
{
    if (argc < 1) return 2;
    std::vector<std::string> args;
    for (int i = 0; i < argc; ++i)
        args.emplace_back(argv[i]);
    return runRemoteCommand(args[0], args, std::cout, std::cerr);
}

} // namespace serval::deploy
