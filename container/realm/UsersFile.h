#pragma once

#include "realm/PasswordHash.h"

#include <string>
#include <vector>

namespace serval::realm {

/// One user of conf/users.xml.
struct User
{
    std::string name;
    std::vector<std::string> roles; ///< "manager-gui", "manager-script", "manager-status"
    PasswordHash password;

    bool hasRole(std::string_view role) const noexcept;
};

/// Reads and writes conf/users.xml:
///
///     <users>
///       <user name="admin" roles="manager-gui,manager-script" hash="BASE64" salt="BASE64"
///             iterations="210000"/>
///     </users>
///
/// Control thread only (start-up, `serval passwd`, the Realm's reload).
class UsersFile
{
public:
    /// Throws std::runtime_error "PATH:LINE: what is wrong; what to do". A missing file is an
    /// empty user list (no users: nobody can log in, which is the safe default).
    static std::vector<User> load(const std::string& path);
    /// Writes atomically: a temp file beside it (mode 0600), fsync, rename, fsync of the
    /// directory. Throws std::runtime_error naming the path and the errno text.
    static void save(const std::string& path, const std::vector<User>& users);
    /// Finds a user by name, ASCII case-insensitively; nullptr if absent.
    static User* find(std::vector<User>& users, std::string_view name) noexcept;
    static const User* find(const std::vector<User>& users, std::string_view name) noexcept;
    /// True for 1-64 characters from [A-Za-z0-9._@-].
    static bool validName(std::string_view name) noexcept;
};

} // namespace serval::realm
