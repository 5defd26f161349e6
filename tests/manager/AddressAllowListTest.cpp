#include "manager/AddressAllowList.h"

#include <gtest/gtest.h>

using serval::manager::AddressAllowList;

TEST(AddressAllowListTest, DefaultAllowsLoopbackOnly)
{
    AddressAllowList list;
    std::string error;
    ASSERT_TRUE(list.parse(AddressAllowList::Default, error)) << error;
    EXPECT_TRUE(list.allows("127.0.0.1"));
    EXPECT_TRUE(list.allows("127.255.0.9"));
    EXPECT_TRUE(list.allows("::1"));
    EXPECT_TRUE(list.allows("::ffff:127.0.0.1"));
    EXPECT_FALSE(list.allows("128.0.0.1"));
    EXPECT_FALSE(list.allows("10.0.0.1"));
    EXPECT_FALSE(list.allows("::2"));
    EXPECT_FALSE(list.allows("fe80::1"));
    EXPECT_FALSE(list.allows(""));
    EXPECT_FALSE(list.allows("localhost"));
}

TEST(AddressAllowListTest, CidrPrefixesOnOddBoundaries)
{
    AddressAllowList list;
    std::string error;
    ASSERT_TRUE(list.parse("192.168.4.0/22, 2001:db8:ab00::/41, 127.0.0.1/32", error)) << error;
    EXPECT_TRUE(list.allows("192.168.7.255"));
    EXPECT_FALSE(list.allows("192.168.8.0"));
    EXPECT_FALSE(list.allows("192.168.3.255"));
    EXPECT_TRUE(list.allows("2001:db8:ab7f:ffff::1"));
    EXPECT_FALSE(list.allows("2001:db8:ab80::1"));
    EXPECT_TRUE(list.allows("127.0.0.1"));
    EXPECT_FALSE(list.allows("127.0.0.2"));
}

TEST(AddressAllowListTest, ZeroPrefixAllowsAFamily)
{
    AddressAllowList list;
    std::string error;
    ASSERT_TRUE(list.parse("0.0.0.0/0", error));
    EXPECT_TRUE(list.allows("203.0.113.7"));
    EXPECT_FALSE(list.allows("2001:db8::1"));
}

TEST(AddressAllowListTest, RefusesBadEntriesWithTheirText)
{
    AddressAllowList list;
    std::string error;
    EXPECT_FALSE(list.parse("127.0.0.0/33", error));
    EXPECT_NE(error.find("127.0.0.0/33"), std::string::npos);
    EXPECT_FALSE(list.parse("localhost", error));
    EXPECT_FALSE(list.parse("::1/129", error));
    EXPECT_FALSE(list.parse("10.0.0.0/-1", error));
}
