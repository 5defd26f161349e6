#include "support/SessionServer.h"

#include "support/Fixtures.h"
#include "support/Servalctl.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <map>

namespace serval::test {

namespace fs = std::filesystem;

std::string servletMapping(const std::string& cls, const std::string& pattern)
{
    std::string name = cls.substr(cls.find('.') + 1);
    return "  <servlet><servlet-name>" + name + "</servlet-name><servlet-class>" + cls +
           "</servlet-class></servlet>\n  <servlet-mapping><servlet-name>" + name +
           "</servlet-name><url-pattern>" + pattern + "</url-pattern></servlet-mapping>\n";
}

std::string sessionsWebXml(const std::string& extra)
{
    std::string xml = "<web-app>\n";
    for (const char* op :
         {"Get", "Set", "Remove", "Info", "Count", "Login", "Invalidate", "Timeout", "Events", "Flush"}) {
        std::string path = std::string("/") + op;
        for (char& c : path)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        xml += servletMapping(std::string("sessions.") + op, path);
    }
    return xml + "  <listener><listener-class>sessions.Listener</listener-class></listener>\n" + extra +
           "</web-app>\n";
}

std::string cookieValue(const HttpReply& reply, const std::string& name)
{
    for (const auto& [header, value] : reply.headers) {
        if (header != "Set-Cookie" || value.rfind(name + "=", 0) != 0) continue;
        size_t end = value.find(';');
        return value.substr(name.size() + 1,
                            end == std::string::npos ? std::string::npos : end - name.size() - 1);
    }
    return "";
}

std::string jsonString(const std::string& body, const std::string& key)
{
    std::string marker = "\"" + key + "\":\"";
    size_t at = body.find(marker);
    if (at == std::string::npos) return "";
    at += marker.size();
    return body.substr(at, body.find('"', at) - at);
}

const char* const kManagerXml = "  <Manager path=\"/manager\" allow=\"127.0.0.0/8\"/>\n";

void SessionServer::addManagerUser()
{
    CtlRun passwd = runProgram(_base,
                               {ServalProcess::binary(), "passwd", "admin", "--base", _base.path(), "--roles",
                                "manager-gui,manager-script", "--stdin", "--iterations", "1000"},
                               "admin-password\n");
    ASSERT_EQ(passwd.exit, 0) << passwd.out << passwd.err;
}

std::map<std::string, std::string> SessionServer::managerLogin()
{
    HttpReply login =
        httpRequest(port(), "POST", "/manager/api/login", {{"Content-Type", "application/json"}},
                    "{\"user\":\"admin\",\"password\":\"admin-password\"}");
    EXPECT_EQ(login.status, 200) << login.raw;
    std::string setCookie = login.header("Set-Cookie");
    size_t eq = setCookie.find('=');
    if (login.status != 200 || eq == std::string::npos) return {};
    return {{"Cookie", "SERVAL_MANAGER=" + setCookie.substr(eq + 1, setCookie.find(';') - eq - 1)},
            {"X-CSRF-Token", jsonString(login.body, "csrf")}};
}

SessionServer::SessionServer(const std::string& hostXml, const std::string& engineAttributes,
                             const std::string& serverXml, const std::string& isolation)
{
    _base.write("conf/server.xml",
                "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
                "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"1\" workerThreads=\"8\"/>\n"
                "  <Engine defaultHost=\"localhost\"" +
                    engineAttributes + "><Host name=\"localhost\" appBase=\"webapps\" isolation=\"" +
                    isolation + "\">" + hostXml + "</Host></Engine>\n" + serverXml + "</Server>\n");
    install("sessions", "sessions", sessionsWebXml());
    install("c", "sessions_c", "<web-app>\n" + servletMapping("csessions.Op", "/op") + "</web-app>\n");
    _base.write("webapps/ROOT/index.html", "static");
}

void SessionServer::install(const std::string& context, const std::string& library, const std::string& webXml)
{
    std::string dir = "webapps/" + context + "/WEB-INF";
    _base.write(dir + "/web.xml", webXml);
    makeDirs(_base.file(dir + "/lib"));
    fs::copy_file(fixtureLibrary(library), _base.file(dir + "/lib/lib" + library + ".so"),
                  fs::copy_options::overwrite_existing);
}

bool SessionServer::start()
{
    // ServalProcess reads the port from the first "listening on" line: a restart on the same
    // base starts a fresh log (the previous one kept beside it).
    std::string log = _base.file("serval.stderr");
    if (fs::exists(log)) fs::rename(log, log + "." + std::to_string(++_restarts));
    _process = std::make_unique<ServalProcess>(_base.path());
    return _process->start();
}

HttpReply SessionServer::get(const std::string& target, const std::string& cookie)
{
    std::map<std::string, std::string> headers;
    if (!cookie.empty()) headers["Cookie"] = "SERVALSESSION=" + cookie;
    return httpGet(_process->port(), target, headers);
}

} // namespace serval::test
