#include "session/ContextSessions.h"

#include "config/WebAppConfig.h"
#include "core/Context.h"
#include "core/Request.h"
#include "http/HttpRequest.h"
#include "session/RequestSession.h"
#include "session/Session.h"
#include "session/SessionIdGenerator.h"

#include <algorithm>
#include <chrono>

namespace serval::session {

namespace {

uint64_t steadyMicros() noexcept
{
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

/// What an HttpSessionListener sees of a session the sweep removed: its id, nothing else (the
/// store deleted the attributes with it).
class ExpiredHttpSession : public core::HttpSession
{
public:
    explicit ExpiredHttpSession(std::string id) : _id(std::move(id)) {}
    Status resolve(bool) override { return Status::Ok; }
    bool valid() const noexcept override { return true; }
    const std::string& error() const noexcept override { return _none; }
    bool isNew() const noexcept override { return false; }
    std::string id() const override { return _id; }
    int64_t creationTime() const noexcept override { return 0; }
    int64_t lastAccessedTime() const noexcept override { return 0; }
    int32_t maxInactiveInterval() const noexcept override { return 0; }
    void setMaxInactiveInterval(int32_t) override {}
    const std::string* attribute(std::string_view) const override { return nullptr; }
    std::vector<std::string_view> attributeNames() const override { return {}; }
    void setAttribute(std::string, std::string) override {}
    void removeAttribute(std::string_view) override {}
    void invalidate() override {}
    void changeId() override {}
    bool commit(core::Response&, bool, bool) noexcept override { return true; }

private:
    std::string _id;
    std::string _none;
};

} // namespace

ContextSessions::ContextSessions(core::Context& context, SessionStore& store, const SessionIdGenerator& ids,
                                 SessionSettings settings)
    : _manager(store, ids, std::move(settings)), _isolated(context.isolated()), _context(&context)
{}

bool ContextSessions::running() const noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _context != nullptr;
}

void ContextSessions::warnStoreFailure(const http::HttpRequest& request,
                                       std::string_view error) const noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_context != nullptr) _context->warnSessionStoreFailure(request.method, request.path, error);
}

SessionSettings ContextSessions::settingsFor(const std::string& host, const std::string& contextPath,
                                             const config::WebAppConfig& webXml)
{
    SessionSettings s;
    s.scope = sessionScope(host, contextPath);
    // <session-timeout> is in minutes, 30 by default; 0 (or less) means never.
    int minutes = webXml.sessionTimeoutMinutes.value_or(30);
    s.maxInactiveInterval = minutes > 0 ? minutes * 60 : 0;
    const config::SessionCookieDef& cookie = webXml.sessionCookie;
    s.cookieName = cookie.name.value_or("SERVALSESSION");
    s.cookiePath = cookie.path.value_or(contextPath.empty() ? std::string("/") : contextPath);
    s.httpOnly = cookie.httpOnly.value_or(true);
    s.secure = cookie.secure;
    s.sameSite = cookie.sameSite.value_or("Lax");
    return s;
}

std::unique_ptr<core::HttpSession> ContextSessions::open(core::Request& request)
{
    std::vector<std::string> values;
    for (const auto& [name, value] : request.cookies())
        if (name == _manager.settings().cookieName) values.push_back(value);
    std::vector<std::pair<std::string, LoadResult>> ahead;
    std::unique_ptr<http::Prefetched>& prefetched = request.exchange().prefetched;
    if (auto* mine = dynamic_cast<PrefetchedSessions*>(prefetched.get())) {
        if (mine->scope == _manager.settings().scope &&
            steadyMicros() - mine->fetchedAtMicros <= kPrefetchFreshMicros)
            ahead = std::move(mine->answers);
        _prefetchUsed.fetch_add(1, std::memory_order_relaxed);
        prefetched.reset(); // used once, by the request's first lookup
    }
    return std::make_unique<RequestSession>(shared_from_this(), std::move(values), std::move(ahead));
}

void ContextSessions::prefetch(const std::vector<http::HttpExchange*>& exchanges) noexcept
{
    SessionStore& store = _manager.store();
    if (!store.remoteLoads() || exchanges.empty()) return;
    // An app whose servlets rarely ask for the session (its cookie rides along on every
    // request) would pay a lookup per request for nothing: once fewer than a quarter of the
    // prefetched requests used their answers, only one batch in 32 is prefetched (to notice
    // when that changes). The counts decay so the choice follows the app's current traffic.
    uint64_t offered = _prefetchOffered.load(std::memory_order_relaxed);
    uint64_t used = _prefetchUsed.load(std::memory_order_relaxed);
    if (offered >= 256 && used * 4 < offered &&
        _prefetchSkipped.fetch_add(1, std::memory_order_relaxed) % 32 != 0)
        return;
    if (offered >= 4096) {
        _prefetchOffered.store(offered / 2, std::memory_order_relaxed);
        _prefetchUsed.store(used / 2, std::memory_order_relaxed);
    }
    const SessionSettings& settings = _manager.settings();
    try {
        std::vector<std::string> ids;                              // distinct, in first-seen order
        std::vector<std::pair<http::HttpExchange*, size_t>> wants; // (exchange, index in ids)
        std::vector<std::pair<std::string, std::string>> cookies;
        for (http::HttpExchange* exchange : exchanges) {
            cookies.clear();
            core::Request::parseCookies(exchange->request, cookies);
            size_t mine = 0;
            const size_t firstWant = wants.size();
            for (const auto& [name, value] : cookies) {
                if (name != settings.cookieName) continue;
                std::optional<SessionId> parsed = SessionIdGenerator::parse(value);
                if (!parsed) continue;                    // never looked up (Session::lookUp skips it too)
                if (++mine > Session::kMaxLookups) break; // nor are these
                size_t at = std::find(ids.begin(), ids.end(), parsed->base) - ids.begin();
                if (at == ids.size()) ids.emplace_back(parsed->base);
                bool again = std::any_of(wants.begin() + static_cast<std::ptrdiff_t>(firstWant), wants.end(),
                                         [&](const auto& w) { return w.second == at; });
                if (!again) wants.emplace_back(exchange, at); // one answer per id per request
            }
        }
        if (ids.empty()) return;
        std::vector<LoadResult> answers = store.loadMany(settings.scope, ids, _manager.now());
        if (answers.size() != ids.size()) return;
        // Fresh from when the store answered: the limit is on how long the servlet waits.
        uint64_t fetchedAt = steadyMicros();
        http::HttpExchange* last = nullptr;
        for (const auto& [exchange, at] : wants) {
            if (answers[at].status == StoreStatus::Unavailable) continue;
            auto* mine = dynamic_cast<PrefetchedSessions*>(exchange->prefetched.get());
            if (mine == nullptr) {
                auto fresh = std::make_unique<PrefetchedSessions>();
                fresh->scope = settings.scope;
                fresh->fetchedAtMicros = fetchedAt;
                mine = fresh.get();
                exchange->prefetched = std::move(fresh);
            }
            mine->answers.emplace_back(ids[at], answers[at]);
            if (exchange != last) _prefetchOffered.fetch_add(1, std::memory_order_relaxed);
            last = exchange;
        }
    } catch (...) {
        // Out of memory: the requests look their sessions up themselves.
    }
}

void ContextSessions::close() noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    _context = nullptr;
}

void ContextSessions::expired(const std::vector<ExpiredSession>& sessions) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_context == nullptr) return;
    for (const ExpiredSession& s : sessions) {
        if (s.scope != _manager.settings().scope) continue;
        try {
            ExpiredHttpSession view(_manager.ids().withRoute(s.id));
            _context->sessionDestroyed(view);
        } catch (...) {
            // Out of memory for one id: the listener misses one notice; the session is gone anyway.
        }
    }
}

} // namespace serval::session
