#pragma once

// An in-memory ManagerBackend for the ManagerApi unit tests: apps in a map, actions change
// their state, audit rows in a vector.

#include "manager/ManagerBackend.h"

#include <mutex>
#include <stdexcept>
#include <unistd.h>

namespace serval::test {

/// The applications' sessions: a few rows of /hello in memory; invalidate removes by prefix.
class FakeSessions : public manager::SessionDirectory
{
public:
    std::optional<std::map<std::pair<std::string, std::string>, uint64_t>> activeCounts() noexcept override
    {
        if (down) return std::nullopt;
        return std::map<std::pair<std::string, std::string>, uint64_t>{{{"localhost", "/hello"}, ids.size()}};
    }
    std::vector<manager::SessionRow> list(const std::string& host, const std::string& path,
                                          size_t limit) override
    {
        if (down) throw std::runtime_error("redis 127.0.0.1:6379/0: cannot connect: Connection refused");
        std::vector<manager::SessionRow> rows;
        if (host != "localhost" || path != "/hello") return rows;
        for (const std::string& id : ids) {
            if (rows.size() < limit) rows.push_back({id.substr(0, kIdPrefixLength), 1000, 2000, 1800, 2, 42});
        }
        return rows;
    }
    uint64_t invalidate(const std::string&, const std::string& path, const std::string& prefix) override
    {
        if (path != "/hello") return 0;
        std::vector<std::string> kept;
        uint64_t matched = 0;
        for (const std::string& id : ids)
            matched += id.compare(0, prefix.size(), prefix) == 0 ? 1 : 0;
        if (!prefix.empty() && matched > 1)
            throw std::invalid_argument("the id prefix " + prefix + " matches several");
        for (const std::string& id : ids)
            if (id.compare(0, prefix.size(), prefix) != 0) kept.push_back(id);
        ids = kept;
        return matched;
    }
    std::vector<manager::SessionStoreMetrics> storeMetrics() noexcept override
    {
        manager::SessionStoreMetrics m;
        m.store = "sqlite /data/sessions.db";
        m.created = 7;
        m.commits = 10;
        m.transactions = 4;
        m.commitMicrosSum = 2500;
        return {m};
    }

    bool down = false;
    std::vector<std::string> ids = {"aaaaaaaaaaaa1111111111111111111a", "aaaaaaaaaaaa2222222222222222222b",
                                    "bbbbbbbbbbbb3333333333333333333c"};
};

class FakeBackend : public manager::ManagerBackend
{
public:
    FakeBackend()
    {
        manager::AppInfo hello;
        hello.host = "localhost";
        hello.path = "/hello";
        hello.version = "1";
        hello.displayName = "Hello";
        hello.state = "running";
        _apps.push_back(hello);
    }

    std::vector<manager::AppInfo> apps() override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        std::vector<manager::AppInfo> out = _apps;
        for (auto& app : out) // as EngineBackend: the directory's counts, -1 when it cannot say
            if (app.path == "/hello")
                app.sessions = fakeSessions.down ? -1 : static_cast<int64_t>(fakeSessions.ids.size());
        return out;
    }
    std::optional<manager::AppDetail> app(const std::string& host, const std::string& path) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto* a = find(host, path);
        if (!a) return std::nullopt;
        manager::AppDetail detail;
        detail.info = *a;
        detail.servlets.push_back({"hello", "HelloServlet", {"/hello/*"}});
        return detail;
    }
    manager::ActionResult deployUpload(const std::string& host, const std::string& path,
                                       const std::string& fileName, const std::string& bundle,
                                       bool update) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (bundle == "broken")
            return {false, 422, "deploy_failed", fileName + ": not a zip or tar archive", {}};
        std::string p = path.empty() ? "/" + fileName.substr(0, fileName.find('.')) : path;
        if (find(host, p) && !update)
            return {false, 409, "exists", p + " is already deployed; use update=true", {}};
        if (!find(host, p))
            _apps.push_back(manager::AppInfo{host, p, "1", "", "running", 0, 0, 0, 0, "", "", "", "none",
                                             std::nullopt, 0, 0, 0});
        lastUpload = bundle;
        return {true, 200, "", "", *find(host, p)};
    }
    manager::ActionResult deployStaged(const std::string& host, const std::string& path,
                                       const std::string& fileName, util::FileDescriptor bundle, uint64_t,
                                       bool update) override
    {
        std::string bytes;
        char buffer[4096];
        ssize_t n;
        while ((n = ::read(bundle.get(), buffer, sizeof buffer)) > 0)
            bytes.append(buffer, static_cast<size_t>(n));
        return deployUpload(host, path, fileName, bytes, update);
    }
    manager::ActionResult deployPath(const std::string& host, const std::string& path,
                                     const std::string& serverPath, util::FileDescriptor, uint64_t,
                                     bool update) override
    {
        return deployUpload(host, path, serverPath.substr(serverPath.rfind('/') + 1), "from-disk", update);
    }
    manager::ActionResult undeploy(const std::string& host, const std::string& path) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (auto it = _apps.begin(); it != _apps.end(); ++it) {
            if (it->host == host && it->path == path) {
                _apps.erase(it);
                return {true, 200, "", "", std::nullopt};
            }
        }
        return notFound(host, path);
    }
    manager::ActionResult start(const std::string& host, const std::string& path) override
    {
        return setState(host, path, "running");
    }
    manager::ActionResult stop(const std::string& host, const std::string& path) override
    {
        return setState(host, path, "stopped");
    }
    manager::ActionResult reload(const std::string& host, const std::string& path) override
    {
        return setState(host, path, "running");
    }
    manager::ActionResult restartProcesses(const std::string& host, const std::string& path) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto* a = find(host, path);
        if (!a) return notFound(host, path);
        if (a->mode != "process")
            return {false, 409, "not_isolated", path + " runs in the server", std::nullopt};
        ++restarts;
        return {true, 200, "", "", *a};
    }
    std::vector<manager::CrashInfo> crashes(const std::string& host, const std::string& path,
                                            size_t limit) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        std::vector<manager::CrashInfo> out;
        for (auto it = crashRecords.rbegin(); it != crashRecords.rend() && out.size() < limit; ++it) {
            if (it->host == host && it->path == path) out.push_back(*it);
        }
        return out;
    }
    std::optional<manager::CrashInfo> crash(const std::string& crashId) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (const auto& c : crashRecords) {
            if (c.crashId == crashId) return c;
        }
        return std::nullopt;
    }
    std::vector<manager::HistoryEntry> history(const std::string&, const std::string&, size_t) override
    {
        return {};
    }
    void audit(const manager::AuditEntry& entry) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        audits.push_back(entry);
    }
    std::vector<manager::AuditEntry> auditLog(size_t) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return {audits.rbegin(), audits.rend()};
    }
    manager::ServerStatus status() override
    {
        manager::ServerStatus s;
        s.version = "test";
        s.connectors.push_back({"127.0.0.1", 8080, 3, 100, 1000, 2000, false, {}});
        if (!certificates.empty())
            s.connectors.push_back({"127.0.0.1", 8443, 1, 10, 100, 200, true, certificates});
        return s;
    }
    std::string defaultHost() override { return "localhost"; }
    std::vector<manager::CertificateStatus> certificates; ///< set: a second, TLS connector has these
    manager::SessionDirectory* sessions() noexcept override { return &fakeSessions; }

    FakeSessions fakeSessions;

    std::string state(const std::string& path)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto* a = find("localhost", path);
        return a ? a->state : "";
    }

    /// Makes /hello an isolated app ("process" mode) with `crashes` records, oldest first.
    void isolate(std::vector<manager::CrashInfo> crashes)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _apps.front().mode = "process";
        crashRecords = std::move(crashes);
    }

    std::vector<manager::AuditEntry> audits;
    std::vector<manager::CrashInfo> crashRecords; ///< oldest first
    int restarts = 0;                             ///< restartProcesses() calls that succeeded
    std::string lastUpload;

private:
    manager::AppInfo* find(const std::string& host, const std::string& path)
    {
        for (auto& a : _apps) {
            if (a.host == host && a.path == path) return &a;
        }
        return nullptr;
    }
    static manager::ActionResult notFound(const std::string& host, const std::string& path)
    {
        return {false, 404, "not_found", "no application at " + host + path, std::nullopt};
    }
    manager::ActionResult setState(const std::string& host, const std::string& path, const std::string& state)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto* a = find(host, path);
        if (!a) return notFound(host, path);
        a->state = state;
        return {true, 200, "", "", *a};
    }

    std::mutex _mutex;
    std::vector<manager::AppInfo> _apps;
};

} // namespace serval::test
