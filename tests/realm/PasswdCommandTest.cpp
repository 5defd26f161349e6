#include "realm/PasswdCommand.h"

#include "realm/UsersFile.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <sstream>

using namespace serval::realm;
using serval::test::TempDir;

namespace {
int passwd(const std::vector<std::string>& args, const std::string& input, std::string* errText = nullptr)
{
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    int rc = runPasswd(args, in, out, err);
    if (errText) *errText = err.str();
    return rc;
}
} // namespace

TEST(PasswdCommandTest, CreatesAUserFromStdinAndChangesItsPassword)
{
    TempDir base;
    ASSERT_EQ(passwd({"admin", "--base", base.path(), "--roles", "manager-gui,manager-script", "--stdin",
                      "--iterations", "1000"},
                     "first-password\n"),
              0);
    auto users = UsersFile::load(base.file("conf/users.xml"));
    ASSERT_EQ(users.size(), 1u);
    EXPECT_TRUE(users[0].password.verify("first-password"));
    EXPECT_TRUE(users[0].hasRole("manager-script"));

    // Without --roles the roles stay; the name matches case-insensitively.
    ASSERT_EQ(
        passwd({"ADMIN", "--base", base.path(), "--stdin", "--iterations", "1000"}, "second-password\n"), 0);
    users = UsersFile::load(base.file("conf/users.xml"));
    ASSERT_EQ(users.size(), 1u);
    EXPECT_FALSE(users[0].password.verify("first-password"));
    EXPECT_TRUE(users[0].password.verify("second-password"));
    EXPECT_TRUE(users[0].hasRole("manager-script"));
}

TEST(PasswdCommandTest, NeverTakesThePasswordFromArgv)
{
    TempDir base;
    std::string err;
    EXPECT_EQ(passwd({"admin", "hunter22", "--base", base.path(), "--stdin"}, "", &err), 2);
    EXPECT_NE(err.find("never taken from the command line"), std::string::npos);
    EXPECT_TRUE(UsersFile::load(base.file("conf/users.xml")).empty());
}

TEST(PasswdCommandTest, RefusesShortPasswordsAndUnknownRoles)
{
    TempDir base;
    EXPECT_EQ(passwd({"admin", "--base", base.path(), "--stdin"}, "short\n"), 1);
    EXPECT_EQ(passwd({"admin", "--base", base.path(), "--stdin", "--roles", "root"}, "long-enough\n"), 2);
    EXPECT_EQ(passwd({"--base", base.path(), "--stdin"}, "long-enough\n"), 2);
    EXPECT_TRUE(UsersFile::load(base.file("conf/users.xml")).empty());
}
