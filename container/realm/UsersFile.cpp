#include "realm/UsersFile.h"

#include "realm/Secrets.h"
#include "util/FileDescriptor.h"
#include "util/Strings.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <tinyxml2.h>
#include <unistd.h>

namespace serval::realm {

bool User::hasRole(std::string_view role) const noexcept
{
    for (const auto& r : roles) {
        if (r == role) return true;
    }
    return false;
}

namespace {

[[noreturn]] void fail(const std::string& path, int line, const std::string& message)
{
    throw std::runtime_error(path + ":" + std::to_string(line) + ": " + message);
}

std::string systemError(const std::string& what, const std::string& path)
{
    return what + " " + path + ": " + std::strerror(errno);
}

void writeAll(int fd, const std::string& data, const std::string& path)
{
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(systemError("cannot write", path));
        }
        done += static_cast<size_t>(n);
    }
}

std::string directoryOf(const std::string& path)
{
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

} // namespace

bool UsersFile::validName(std::string_view name) noexcept
{
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '@' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::vector<User> UsersFile::load(const std::string& path)
{
    std::vector<User> users;
    if (::access(path.c_str(), F_OK) != 0) return users;

    tinyxml2::XMLDocument document;
    if (document.LoadFile(path.c_str()) != tinyxml2::XML_SUCCESS) {
        fail(path, document.ErrorLineNum(),
             std::string("not well-formed XML (") + document.ErrorStr() +
                 "); fix it or recreate it with `serval passwd`");
    }
    const tinyxml2::XMLElement* root = document.RootElement();
    if (root == nullptr || std::strcmp(root->Name(), "users") != 0) {
        fail(path, root ? root->GetLineNum() : 1, "the root element must be <users>");
    }
    for (const auto* element = root->FirstChildElement(); element; element = element->NextSiblingElement()) {
        int line = element->GetLineNum();
        if (std::strcmp(element->Name(), "user") != 0) {
            fail(path, line,
                 std::string("unknown element <") + element->Name() + ">; only <user> is allowed");
        }
        for (const auto* attribute = element->FirstAttribute(); attribute; attribute = attribute->Next()) {
            std::string_view name = attribute->Name();
            if (name != "name" && name != "roles" && name != "hash" && name != "salt" &&
                name != "iterations") {
                fail(path, line,
                     "unknown attribute \"" + std::string(name) +
                         "\" on <user>; allowed: name, roles, hash, salt, iterations");
            }
        }
        User user;
        const char* name = element->Attribute("name");
        const char* hash = element->Attribute("hash");
        const char* salt = element->Attribute("salt");
        if (!name || !validName(name)) {
            fail(path, line, "<user> needs a name of 1-64 characters from A-Z a-z 0-9 . _ @ -");
        }
        user.name = name;
        if (find(users, user.name)) {
            fail(path, line, "duplicate user \"" + user.name + "\" (names are compared case-insensitively)");
        }
        if (!hash || !salt || !base64Decode(hash, user.password.hash) ||
            !base64Decode(salt, user.password.salt) || user.password.hash.size() != PasswordHash::KeyBytes ||
            user.password.salt.empty()) {
            fail(path, line,
                 "user \"" + user.name + "\" has no valid hash/salt; set a password with `serval passwd " +
                     user.name + "`");
        }
        unsigned iterations = 0;
        if (element->QueryUnsignedAttribute("iterations", &iterations) != tinyxml2::XML_SUCCESS ||
            iterations < PasswordHash::MinIterations) {
            fail(path, line,
                 "user \"" + user.name +
                     "\" needs iterations >= " + std::to_string(PasswordHash::MinIterations));
        }
        user.password.iterations = iterations;
        if (const char* roles = element->Attribute("roles")) {
            for (auto role : util::splitList(roles, ','))
                user.roles.emplace_back(role);
        }
        users.push_back(std::move(user));
    }
    return users;
}

void UsersFile::save(const std::string& path, const std::vector<User>& users)
{
    tinyxml2::XMLDocument document;
    document.InsertEndChild(document.NewDeclaration());
    document.InsertEndChild(document.NewComment(
        " Serval users. Passwords are PBKDF2-HMAC-SHA256 hashes; change them with `serval passwd USER`. "));
    auto* root = document.NewElement("users");
    document.InsertEndChild(root);
    for (const auto& user : users) {
        auto* element = document.NewElement("user");
        element->SetAttribute("name", user.name.c_str());
        std::string roles;
        for (const auto& role : user.roles) {
            if (!roles.empty()) roles += ',';
            roles += role;
        }
        element->SetAttribute("roles", roles.c_str());
        element->SetAttribute("hash", base64Encode(user.password.hash).c_str());
        element->SetAttribute("salt", base64Encode(user.password.salt).c_str());
        element->SetAttribute("iterations", user.password.iterations);
        root->InsertEndChild(element);
    }
    tinyxml2::XMLPrinter printer;
    document.Print(&printer);
    std::string text(printer.CStr(),
                     static_cast<size_t>(printer.CStrSize() > 0 ? printer.CStrSize() - 1 : 0));

    std::string temp = path + ".tmp" + std::to_string(::getpid());
    util::FileDescriptor fd(
        ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw std::runtime_error(systemError("cannot create", temp));
    try {
        ::fchmod(fd.get(), 0600);
        writeAll(fd.get(), text, temp);
        if (::fsync(fd.get()) != 0) throw std::runtime_error(systemError("cannot fsync", temp));
        fd.reset();
        if (::rename(temp.c_str(), path.c_str()) != 0)
            throw std::runtime_error(systemError("cannot replace", path));
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    util::FileDescriptor dir(::open(directoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
}

User* UsersFile::find(std::vector<User>& users, std::string_view name) noexcept
{
    for (auto& user : users) {
        if (util::equalsIgnoreCase(user.name, name)) return &user;
    }
    return nullptr;
}

const User* UsersFile::find(const std::vector<User>& users, std::string_view name) noexcept
{
    return find(const_cast<std::vector<User>&>(users), name);
}

} // namespace serval::realm
