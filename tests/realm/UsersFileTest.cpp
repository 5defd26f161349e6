#include "realm/UsersFile.h"

#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace serval::realm;
using serval::test::TempDir;

TEST(UsersFileTest, RoundTripKeepsNamesRolesAndHashes)
{
    TempDir dir;
    std::vector<User> users;
    users.push_back(
        User{"admin", {"manager-gui", "manager-script"}, PasswordHash::create("secret-one", 1000)});
    users.push_back(User{"viewer", {"manager-status"}, PasswordHash::create("secret-two", 2000)});
    UsersFile::save(dir.file("users.xml"), users);

    struct stat st
    {
    };
    ASSERT_EQ(::stat(dir.file("users.xml").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    auto loaded = UsersFile::load(dir.file("users.xml"));
    ASSERT_EQ(loaded.size(), 2u);
    EXPECT_EQ(loaded[0].name, "admin");
    EXPECT_EQ(loaded[0].roles, (std::vector<std::string>{"manager-gui", "manager-script"}));
    EXPECT_TRUE(loaded[0].password.verify("secret-one"));
    EXPECT_EQ(loaded[1].password.iterations, 2000u);
    EXPECT_TRUE(loaded[1].password.verify("secret-two"));
    EXPECT_FALSE(loaded[1].password.verify("secret-one"));
    EXPECT_NE(UsersFile::find(loaded, "ADMIN"), nullptr);
}

TEST(UsersFileTest, MissingFileIsNoUsers)
{
    TempDir dir;
    EXPECT_TRUE(UsersFile::load(dir.file("nope.xml")).empty());
}

TEST(UsersFileTest, ErrorsNameFileAndLine)
{
    TempDir dir;
    dir.write("users.xml",
              "<users>\n  <user name=\"a\" roles=\"manager-gui\" password=\"plain\"/>\n</users>\n");
    try {
        UsersFile::load(dir.file("users.xml"));
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("users.xml:2: unknown attribute \"password\""),
                  std::string::npos)
            << e.what();
    }
}

TEST(UsersFileTest, RefusesCaseOnlyDuplicates)
{
    TempDir dir;
    std::vector<User> users{User{"admin", {}, PasswordHash::create("password1", 1000)},
                            User{"Admin", {}, PasswordHash::create("password2", 1000)}};
    UsersFile::save(dir.file("users.xml"), users);
    EXPECT_THROW(UsersFile::load(dir.file("users.xml")), std::runtime_error);
}
