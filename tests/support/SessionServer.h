#pragma once

#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <map>
#include <memory>
#include <string>

namespace serval::test {

/// `<servlet>` plus `<servlet-mapping>` for `cls` ("sessions.Get") at `pattern`.
std::string servletMapping(const std::string& cls, const std::string& pattern);

/// web.xml of the C++ session fixture (tests/fixtures/apps/Sessions.cpp): one servlet per
/// operation (/get, /set, /remove, /info, /count, /login, /invalidate, /timeout, /events,
/// /flush) and its HttpSessionListener; `extra` goes before </web-app>.
std::string sessionsWebXml(const std::string& extra = "");

/// The value of cookie `name` in the reply's Set-Cookie headers ("" when none).
std::string cookieValue(const HttpReply& reply, const std::string& name = "SERVALSESSION");

/// The string value of "key" in a flat JSON object ("" when absent).
std::string jsonString(const std::string& body, const std::string& key);

/// serverXml for SessionServer: the admin <Manager> at /manager for loopback clients.
extern const char* const kManagerXml;

/// One serval in a temp base with the session fixture apps: /sessions (C++ layer) and /c (the
/// C ABI, tests/fixtures/apps/SessionsC.c), plus a static ROOT. Used by the session end-to-end
/// tests and the cluster scenario (tests/integration/ClusterTest.cpp), which runs two.
class SessionServer
{
public:
    /// `hostXml` goes inside the <Host> (a session <Manager>), `engineAttributes` on <Engine>
    /// (" jvmRoute=\"node1\""), `serverXml` inside <Server> (the admin <Manager>), `isolation`
    /// on the <Host>: "process" (the default: the apps run in worker processes) or "none".
    explicit SessionServer(const std::string& hostXml = "", const std::string& engineAttributes = "",
                           const std::string& serverXml = "", const std::string& isolation = "process");

    /// Installs the fixture library lib`library`.so as webapps/`context` with `webXml`.
    void install(const std::string& context, const std::string& library, const std::string& webXml);

    /// conf/users.xml gets "admin" (password "admin-password", manager-gui and manager-script),
    /// as `serval passwd` makes it. Before start().
    void addManagerUser();
    /// Logs "admin" in to the manager API: the Cookie and X-CSRF-Token headers a state change
    /// needs (empty when the login failed; the test's EXPECT says why).
    std::map<std::string, std::string> managerLogin();

    /// Starts serval on this base (a restart keeps data/ and starts a fresh log).
    bool start();
    void stop() { _process.reset(); }
    void kill() { _process->kill(); }
    ServalProcess& process() { return *_process; }
    const TempDir& base() const { return _base; }
    uint16_t port() const { return _process->port(); }

    /// GET on a fresh connection, with SERVALSESSION=`cookie` when given.
    HttpReply get(const std::string& target, const std::string& cookie = "");

private:
    TempDir _base;
    std::unique_ptr<ServalProcess> _process;
    int _restarts = 0;
};

} // namespace serval::test
