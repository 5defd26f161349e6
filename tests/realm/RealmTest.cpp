#include "realm/Realm.h"

#include "support/TempDir.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

using namespace serval::realm;
using namespace std::chrono_literals;

namespace {

struct FakeClock
{
    std::chrono::steady_clock::time_point now{std::chrono::steady_clock::time_point{} + 1000h};
};

class RealmTest : public ::testing::Test
{
protected:
    RealmTest() : realm("/nonexistent/users.xml", RealmPolicy{}, [this] { return clock.now; })
    {
        realm.setUsers({User{"Admin", {"manager-gui"}, PasswordHash::create("right-password", 1000)}});
    }
    FakeClock clock;
    Realm realm;
};

} // namespace

TEST_F(RealmTest, RightPasswordAuthenticatesWithRoles)
{
    auto result = realm.authenticate("admin", "right-password", "127.0.0.1");
    EXPECT_EQ(result.status, AuthStatus::Ok);
    EXPECT_EQ(result.user, "Admin");
    EXPECT_EQ(result.roles, std::vector<std::string>{"manager-gui"});
}

TEST_F(RealmTest, WrongPasswordAndUnknownUserLookTheSame)
{
    auto wrong = realm.authenticate("admin", "wrong", "127.0.0.1");
    auto unknown = realm.authenticate("nobody", "right-password", "127.0.0.1");
    EXPECT_EQ(wrong.status, AuthStatus::BadCredentials);
    EXPECT_EQ(unknown.status, AuthStatus::BadCredentials);
    EXPECT_TRUE(wrong.roles.empty());
}

TEST_F(RealmTest, FiveFailuresLockTheUserForFiveMinutesCaseInsensitively)
{
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(realm.authenticate("admin", "bad", "10.0.0.1").status, AuthStatus::BadCredentials);
    EXPECT_EQ(realm.authenticate("ADMIN", "bad", "10.0.0.2").status, AuthStatus::BadCredentials);
    // Locked now, even with the right password, from any address, in any case.
    auto locked = realm.authenticate("aDmIn", "right-password", "10.0.0.3");
    EXPECT_EQ(locked.status, AuthStatus::LockedOut);
    EXPECT_GT(locked.retryAfter.count(), 290);
    clock.now += 299s;
    EXPECT_EQ(realm.authenticate("admin", "right-password", "10.0.0.3").status, AuthStatus::LockedOut);
    clock.now += 2s;
    EXPECT_EQ(realm.authenticate("admin", "right-password", "10.0.0.3").status, AuthStatus::Ok);
}

TEST_F(RealmTest, SuccessResetsTheFailureCount)
{
    for (int i = 0; i < 4; ++i)
        realm.authenticate("admin", "bad", "10.0.0.1");
    EXPECT_EQ(realm.authenticate("admin", "right-password", "10.0.0.1").status, AuthStatus::Ok);
    for (int i = 0; i < 4; ++i)
        realm.authenticate("admin", "bad", "10.0.0.1");
    EXPECT_EQ(realm.authenticate("admin", "right-password", "10.0.0.1").status, AuthStatus::Ok);
}

TEST_F(RealmTest, ManyFailuresFromOneAddressAreRateLimited)
{
    // Spraying different names from one address: no single user locks, the address does.
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(realm.authenticate("user" + std::to_string(i), "x", "192.0.2.9").status,
                  AuthStatus::BadCredentials);
    }
    auto limited = realm.authenticate("admin", "right-password", "192.0.2.9");
    EXPECT_EQ(limited.status, AuthStatus::RateLimited);
    EXPECT_GT(limited.retryAfter.count(), 0);
    // Other addresses are unaffected.
    EXPECT_EQ(realm.authenticate("admin", "right-password", "192.0.2.10").status, AuthStatus::Ok);
    clock.now += 61s;
    EXPECT_EQ(realm.authenticate("admin", "right-password", "192.0.2.9").status, AuthStatus::Ok);
}

TEST(RealmReloadTest, PicksUpUsersWrittenAfterStart)
{
    serval::test::TempDir dir;
    Realm realm(dir.file("users.xml"));
    realm.reload();
    EXPECT_EQ(realm.userCount(), 0u);
    UsersFile::save(dir.file("users.xml"),
                    {User{"late", {"manager-gui"}, PasswordHash::create("late-password", 1000)}});
    realm.reloadIfChanged();
    EXPECT_EQ(realm.authenticate("late", "late-password", "127.0.0.1").status, AuthStatus::Ok);
    // A broken file keeps the users read before.
    dir.write("users.xml", "<users><user name=");
    realm.reloadIfChanged();
    EXPECT_EQ(realm.authenticate("late", "late-password", "127.0.0.1").status, AuthStatus::Ok);
}

TEST(RealmRaceTest, ParallelWrongPasswordsCheckNoMoreThanTheLimit)
{
    // A hash slow enough that all 30 attempts are in flight together.
    Realm realm("/nonexistent/users.xml");
    realm.setUsers({User{"admin", {"manager-gui"}, PasswordHash::create("right-password", 20000)}});
    std::atomic<int> checked{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> attempts;
    for (int i = 0; i < 30; ++i) {
        attempts.emplace_back([&] {
            auto status = realm.authenticate("admin", "wrong", "10.0.0.1").status;
            if (status == AuthStatus::BadCredentials) ++checked;
            if (status == AuthStatus::LockedOut) ++refused;
        });
    }
    for (auto& t : attempts)
        t.join();
    EXPECT_EQ(checked.load(), 5) << "each attempt is counted before its password is checked";
    EXPECT_EQ(refused.load(), 25);
}
