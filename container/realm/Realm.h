#pragma once

#include "realm/UsersFile.h"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace serval::realm {

/// Why authenticate() said no (or yes).
enum class AuthStatus
{
    Ok,
    BadCredentials, ///< unknown user or wrong password (never says which)
    LockedOut,      ///< too many failures for this user name
    RateLimited     ///< too many failures from this client address
};

struct AuthResult
{
    AuthStatus status = AuthStatus::BadCredentials;
    std::string user;                   ///< canonical name from users.xml when Ok
    std::vector<std::string> roles;     ///< when Ok
    std::chrono::seconds retryAfter{0}; ///< when LockedOut or RateLimited
};

/// Lockout and rate-limit policy. Defaults: 5 failures lock a user name for 5 minutes;
/// 20 failures from one address within a minute block that address for the rest of the minute.
struct RealmPolicy
{
    unsigned maxFailures = 5;
    std::chrono::seconds lockout{300};
    unsigned maxAddressFailures = 20;
    std::chrono::seconds addressWindow{60};
};

/// Tomcat's LockOutRealm over a users.xml MemoryRealm: users, password hashes and roles from
/// conf/users.xml, with per-user lockout (names compared case-insensitively; unknown names are
/// counted too, so lockout does not reveal which names exist) and a per-address failure limit.
///
/// Each attempt is counted (against the user name and the address) before its password is
/// checked, under the mutex, and taken back if it succeeds: N parallel wrong logins check at most
/// maxFailures passwords before the rest hear LockedOut.
///
/// THREADS: every method is safe from any thread (one mutex; the PBKDF2 work runs outside it).
/// The clock is injectable for tests.
class Realm
{
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    explicit Realm(std::string usersPath, RealmPolicy policy = {}, Clock clock = {});

    /// Re-reads users.xml. Throws std::runtime_error (file:line) and keeps the old users.
    void reload();
    /// Re-reads users.xml if its size or mtime changed since the last read (so `serval passwd`
    /// takes effect without a restart). A broken file is logged and the old users stay.
    void reloadIfChanged();
    /// Replaces the users (tests, or after `serval passwd` wrote the file).
    void setUsers(std::vector<User> users);

    AuthResult authenticate(const std::string& user, const std::string& password, const std::string& address);

    /// Roles of a user, empty if unknown (bearer tokens remember their creator's name).
    std::vector<std::string> roles(const std::string& user) const;
    size_t userCount() const;
    const std::string& usersPath() const noexcept { return _usersPath; }

private:
    struct Failures
    {
        unsigned count = 0;
        std::chrono::steady_clock::time_point lockedUntil{};
    };
    std::chrono::steady_clock::time_point now() const
    {
        return _clock ? _clock() : std::chrono::steady_clock::now();
    }
    void prune(std::chrono::steady_clock::time_point now);

    std::string _usersPath;
    RealmPolicy _policy;
    Clock _clock;
    mutable std::mutex _mutex;
    std::vector<User> _users;
    std::map<std::string, Failures> _userFailures; ///< by lower-case name
    std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> _addressFailures; ///< by address
    PasswordHash _dummy;      ///< verified against for unknown users, so their timing matches
    std::string _fingerprint; ///< size and mtime of users.xml at the last read
};

} // namespace serval::realm
