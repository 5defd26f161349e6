#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace serval::realm {

/// `serval passwd USER [--roles r1,r2] [--base DIR] [--stdin] [--iterations N]`: creates a user
/// in BASE/conf/users.xml or changes its password (and roles, if given). The password comes
/// from the terminal (no echo, asked twice) or, with --stdin, from the first line of standard
/// input; never from argv. The `serval` main dispatches here (argv[0] is "passwd").
/// Exit codes: 0 done, 1 failed, 2 usage.
int passwdMain(int argc, char** argv);

/// The same with the arguments after "passwd" and explicit streams (tests). `in` is used for
/// --stdin; without --stdin the terminal (/dev/tty) is used.
int runPasswd(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err);

} // namespace serval::realm
