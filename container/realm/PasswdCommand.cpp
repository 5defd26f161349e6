#include "realm/PasswdCommand.h"

#include "realm/UsersFile.h"
#include "util/Strings.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

namespace serval::realm {

namespace {

constexpr const char* Usage =
    "usage: serval passwd USER [--roles ROLE,...] [--base DIR] [--stdin] [--iterations N]\n"
    "  Creates USER in DIR/conf/users.xml or changes its password. The password is read from the\n"
    "  terminal (asked twice) or, with --stdin, from the first line of standard input.\n"
    "  Roles: manager-gui (the admin page), manager-script (API tokens), manager-status (read-only).\n"
    "  New users get manager-gui unless --roles is given.\n";

const char* const KnownRoles[] = {"manager-gui", "manager-script", "manager-status"};

// Reads one line from the terminal with echo off. Returns false if there is no terminal.
bool readHidden(const char* prompt, std::string& out)
{
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    ::write(fd, prompt, std::strlen(prompt));
    termios saved{};
    bool restore = ::tcgetattr(fd, &saved) == 0;
    if (restore) {
        termios quiet = saved;
        quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
        quiet.c_lflag |= ECHONL;
        ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    out.clear();
    char c = 0;
    while (true) {
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n') break;
        out.push_back(c);
    }
    if (restore) ::tcsetattr(fd, TCSAFLUSH, &saved);
    ::close(fd);
    if (!out.empty() && out.back() == '\r') out.pop_back();
    return true;
}

} // namespace

int runPasswd(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err)
{
    std::string user;
    std::string base = ".";
    std::string roles;
    bool rolesGiven = false;
    bool fromStdin = false;
    unsigned iterations = PasswordHash::DefaultIterations;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&](std::string& target) {
            if (i + 1 >= args.size()) return false;
            target = args[++i];
            return true;
        };
        if (arg == "--help" || arg == "-h") {
            out << Usage;
            return 0;
        } else if (arg == "--roles") {
            if (!value(roles)) {
                err << "serval passwd: --roles needs a list such as manager-gui,manager-status\n";
                return 2;
            }
            rolesGiven = true;
        } else if (arg == "--base") {
            if (!value(base)) {
                err << "serval passwd: --base needs a directory\n" << Usage;
                return 2;
            }
        } else if (arg == "--stdin") {
            fromStdin = true;
        } else if (arg == "--iterations") {
            std::string text;
            auto parsed = value(text) ? util::parseUnsigned(text) : std::nullopt;
            if (!parsed || *parsed < PasswordHash::MinIterations || *parsed > 100000000) {
                err << "serval passwd: --iterations needs a number >= " << PasswordHash::MinIterations
                    << "\n";
                return 2;
            }
            iterations = static_cast<unsigned>(*parsed);
        } else if (!arg.empty() && arg[0] == '-') {
            err << "serval passwd: unknown option " << arg << "\n" << Usage;
            return 2;
        } else if (user.empty()) {
            user = arg;
        } else {
            err << "serval passwd: the password is never taken from the command line; use --stdin or the "
                   "terminal\n";
            return 2;
        }
    }
    if (rolesGiven && roles.empty()) {
        err << "serval passwd: --roles needs a list such as manager-gui,manager-status\n";
        return 2;
    }
    if (user.empty()) {
        err << "serval passwd: missing USER\n" << Usage;
        return 2;
    }
    if (!UsersFile::validName(user)) {
        err << "serval passwd: invalid user name \"" << user
            << "\": use 1-64 characters from A-Z a-z 0-9 . _ @ -\n";
        return 2;
    }
    std::vector<std::string> roleList;
    for (auto role : util::splitList(roles, ',')) {
        bool known = false;
        for (const char* k : KnownRoles)
            known = known || role == k;
        if (!known) {
            err << "serval passwd: unknown role \"" << role
                << "\"; known roles: manager-gui, manager-script, manager-status\n";
            return 2;
        }
        roleList.emplace_back(role);
    }

    std::string password;
    if (fromStdin) {
        if (!std::getline(in, password)) password.clear();
        if (!password.empty() && password.back() == '\r') password.pop_back();
    } else {
        std::string again;
        if (!readHidden("New password: ", password) || !readHidden("Repeat password: ", again)) {
            err << "serval passwd: no terminal to ask for the password; pipe it in with --stdin\n";
            return 2;
        }
        if (password != again) {
            err << "serval passwd: the two passwords differ; nothing changed\n";
            return 1;
        }
    }
    if (password.size() < 8) {
        err << "serval passwd: the password must have at least 8 characters; nothing changed\n";
        return 1;
    }

    std::string confDir = base + "/conf";
    std::string path = confDir + "/users.xml";
    try {
        if (::mkdir(confDir.c_str(), 0755) != 0 && errno != EEXIST) {
            err << "serval passwd: cannot create " << confDir << ": " << std::strerror(errno) << "\n";
            return 1;
        }
        auto users = UsersFile::load(path);
        User* existing = UsersFile::find(users, user);
        bool created = existing == nullptr;
        if (created) {
            users.push_back(User{user, rolesGiven ? roleList : std::vector<std::string>{"manager-gui"}, {}});
            existing = &users.back();
        } else if (rolesGiven) {
            existing->roles = roleList;
        }
        existing->password = PasswordHash::create(password, iterations);
        UsersFile::save(path, users);
        out << (created ? "created" : "updated") << " user " << existing->name << " in " << path << "\n";
        return 0;
    } catch (const std::exception& e) {
        err << "serval passwd: " << e.what() << "\n";
        return 1;
    }
}

int passwdMain(int argc, char** argv)
{
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i)
        args.emplace_back(argv[i]);
    return runPasswd(args, std::cin, std::cout, std::cerr);
}

} // namespace serval::realm
