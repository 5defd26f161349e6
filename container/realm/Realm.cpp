#include "realm/Realm.h"

#include "util/Log.h"
#include "util/Strings.h"

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
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto t = now();
        auto& window = _addressFailures[address];
        while (!window.empty() && window.front() + _policy.addressWindow <= t)
            window.pop_front();
        if (window.size() >= _policy.maxAddressFailures) {
            result.status = AuthStatus::RateLimited;
            result.retryAfter =
                duration_cast<seconds>(window.front() + _policy.addressWindow - t) + seconds(1);
            return result;
        }
        auto failures = _userFailures.find(key);
        if (failures != _userFailures.end() && failures->second.lockedUntil > t) {
            result.status = AuthStatus::LockedOut;
            result.retryAfter = duration_cast<seconds>(failures->second.lockedUntil - t) + seconds(1);
            return result;
        }
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
    auto t = now();
    if (ok) {
        _userFailures.erase(key);
        result.status = AuthStatus::Ok;
        return result;
    }
    result.user.clear();
    result.roles.clear();
    result.status = AuthStatus::BadCredentials;
    auto& failures = _userFailures[key];
    if (failures.lockedUntil != std::chrono::steady_clock::time_point{} && failures.lockedUntil <= t) {
        failures = Failures{}; // an expired lockout starts counting afresh
    }
    if (++failures.count >= _policy.maxFailures) {
        failures.lockedUntil = t + _policy.lockout;
        failures.count = 0;
        LOG_WARN("realm", "user \"" + user + "\" locked out for " + std::to_string(_policy.lockout.count()) +
                              " s after " + std::to_string(_policy.maxFailures) +
                              " failed logins (last from " + address + ")");
    }
    _addressFailures[address].push_back(t);
    prune(t);
    return result;
}

} // namespace serval::realm
