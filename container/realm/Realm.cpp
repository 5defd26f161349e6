#include "realm/Realm.h"

#include "util/Log.h"
#include "util/Strings.h"

#include <algorithm>
#include <sys/stat.h>

namespace serval::realm {

namespace {
constexpr size_t MaxTrackedEntries = 10000; // bounds memory under a name/address spraying attack
}

Realm::Realm(std::string usersPath, RealmPolicy policy, Clock clock)
    : _usersPath(std::move(usersPath)), _policy(policy), _clock(std::move(clock))
{
    _dummy.salt = std::string(PasswordHash::SaltBytes, 'x');
    _dummy.hash = std::string(PasswordHash::KeyBytes, '\0');
}

namespace {
std::string fingerprintOf(const std::string& path)
{
    struct stat st
    {
    };
    if (::stat(path.c_str(), &st) != 0) return "missing";
    return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
}
} // namespace

void Realm::reload()
{
    std::string fingerprint = fingerprintOf(_usersPath);
    auto users = UsersFile::load(_usersPath);
    setUsers(std::move(users));
    std::lock_guard<std::mutex> lock(_mutex);
    _fingerprint = fingerprint;
}

void Realm::reloadIfChanged()
{
    std::string fingerprint = fingerprintOf(_usersPath);
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (fingerprint == _fingerprint) return;
        _fingerprint = fingerprint; // a broken file is reported once, not on every login
    }
    try {
        setUsers(UsersFile::load(_usersPath));
        LOG_INFO("realm", "reloaded " + _usersPath);
    } catch (const std::exception& e) {
        LOG_ERROR("realm", std::string(e.what()) + " (keeping the users read before)");
    }
}

void Realm::setUsers(std::vector<User> users)
{
    // Whatever the file holds now counts as seen: reloadIfChanged() acts on later changes only.
    std::string fingerprint = fingerprintOf(_usersPath);
    std::lock_guard<std::mutex> lock(_mutex);
    _fingerprint = fingerprint;
    _users = std::move(users);
    // Unknown users cost as much as the slowest real one.
    unsigned iterations = PasswordHash::MinIterations;
    for (const auto& user : _users)
        iterations = std::max(iterations, user.password.iterations);
    _dummy.iterations = iterations;
}

size_t Realm::userCount() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _users.size();
}

std::vector<std::string> Realm::roles(const std::string& user) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    const User* found = UsersFile::find(_users, user);
    return found ? found->roles : std::vector<std::string>{};
}

void Realm::prune(std::chrono::steady_clock::time_point now)
{
    if (_userFailures.size() > MaxTrackedEntries) {
        for (auto it = _userFailures.begin(); it != _userFailures.end();) {
            it = it->second.lockedUntil <= now ? _userFailures.erase(it) : std::next(it);
        }
    }
    if (_addressFailures.size() > MaxTrackedEntries) {
        for (auto it = _addressFailures.begin(); it != _addressFailures.end();) {
            bool stale = it->second.empty() || it->second.back() + _policy.addressWindow <= now;
            it = stale ? _addressFailures.erase(it) : std::next(it);
        }
    }
}

AuthResult Realm::authenticate(const std::string& user, const std::string& password,
                               const std::string& address)
{
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    AuthResult result;
    std::string key = util::toLower(user);
    PasswordHash hash;
    bool known = false;
    bool locksNow = false;
    std::chrono::steady_clock::time_point attempt;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        attempt = now();
        auto& window = _addressFailures[address];
        while (!window.empty() && window.front() + _policy.addressWindow <= attempt)
            window.pop_front();
        if (window.size() >= _policy.maxAddressFailures) {
            result.status = AuthStatus::RateLimited;
            result.retryAfter =
                duration_cast<seconds>(window.front() + _policy.addressWindow - attempt) + seconds(1);
            return result;
        }
        Failures& failures = _userFailures[key];
        if (failures.lockedUntil > attempt) {
            result.status = AuthStatus::LockedOut;
            result.retryAfter = duration_cast<seconds>(failures.lockedUntil - attempt) + seconds(1);
            return result;
        }
        if (failures.lockedUntil != std::chrono::steady_clock::time_point{}) {
            failures = Failures{}; // an expired lockout starts counting afresh
        }
        // The attempt counts as a failure before its password is checked (and is taken back if
        // it succeeds): parallel logins see each other at once, so no more than maxFailures
        // passwords are ever checked per lockout, and no more than maxAddressFailures per window.
        if (++failures.count >= _policy.maxFailures) {
            failures.lockedUntil = attempt + _policy.lockout;
            failures.count = 0;
            locksNow = true;
        }
        window.push_back(attempt);
        if (const User* found = UsersFile::find(_users, user)) {
            hash = found->password;
            result.user = found->name;
            result.roles = found->roles;
            known = true;
        } else {
            hash = _dummy;
        }
    }

    bool ok = hash.verify(password) && known;

    std::lock_guard<std::mutex> lock(_mutex);
    if (ok) {
        _userFailures.erase(key); // also lifts a lockout this very attempt set
        auto window = _addressFailures.find(address);
        if (window != _addressFailures.end()) {
            auto mine = std::find(window->second.rbegin(), window->second.rend(), attempt);
            if (mine != window->second.rend()) window->second.erase(std::next(mine).base());
        }
        result.status = AuthStatus::Ok;
        return result;
    }
    result.user.clear();
    result.roles.clear();
    result.status = AuthStatus::BadCredentials;
    if (locksNow) {
        LOG_WARN("realm", "user \"" + user + "\" locked out for " + std::to_string(_policy.lockout.count()) +
                              " s after " + std::to_string(_policy.maxFailures) +
                              " failed logins (last from " + address + ")");
    }
    prune(now());
    return result;
}

} // namespace serval::realm
