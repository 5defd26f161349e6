#include "util/IdMap.h"

#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <random>

namespace serval::util {
namespace {

TEST(IdMapTest, FindsWhatWasInsertedAndNothingElse)
{
    IdMap<int*> map;
    int a = 1, b = 2;
    EXPECT_EQ(map.find(7), nullptr);
    EXPECT_TRUE(map.insert(7, &a));
    EXPECT_TRUE(map.insert(8, &b));
    EXPECT_FALSE(map.insert(7, &b)) << "a second insert of a key is refused";
    ASSERT_NE(map.find(7), nullptr);
    EXPECT_EQ(*map.find(7), &a);
    EXPECT_EQ(*map.find(8), &b);
    EXPECT_EQ(map.find(9), nullptr);
    EXPECT_EQ(map.size(), 2u);
    EXPECT_EQ(map.take(7), &a);
    EXPECT_EQ(map.find(7), nullptr);
    EXPECT_EQ(map.take(7), nullptr);
    EXPECT_FALSE(map.erase(7));
    EXPECT_TRUE(map.erase(8));
    EXPECT_TRUE(map.empty());
}

TEST(IdMapTest, OwnsMoveOnlyValuesAndGivesThemBack)
{
    IdMap<std::unique_ptr<std::string>> map;
    EXPECT_TRUE(map.insert(1, std::make_unique<std::string>("one")));
    auto two = std::make_unique<std::string>("two");
    EXPECT_FALSE(map.insert(1, std::move(two)));
    ASSERT_TRUE(two) << "a refused value stays with the caller";
    std::unique_ptr<std::string> back = map.take(1);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, "one");
}

// The forwarding pattern: ids counting up, a window of them in flight, some held for long
// (a long poll, a WebSocket), every operation checked against std::map, across growth and
// the wrap of the 32-bit counter.
TEST(IdMapTest, AgreesWithAStdMapUnderSequentialIdsWithLongLivedOnesAndRandomErases)
{
    IdMap<uint64_t> map;
    std::map<uint32_t, uint64_t> reference;
    std::mt19937 random(42);
    uint32_t next = 0xFFFFF000u; // wraps past zero below
    for (int step = 0; step < 200000; ++step) {
        uint32_t op = random() % 100;
        if (op < 50 || reference.empty()) {
            uint32_t id = next++;
            uint64_t value = (static_cast<uint64_t>(id) << 8) | (step & 0xff);
            ASSERT_EQ(map.insert(id, uint64_t(value)), reference.emplace(id, value).second);
        } else if (op < 95) {
            // Erase one of the oldest (most finish in order) or a random one.
            auto it = reference.begin();
            if (op >= 80)
                std::advance(it, random() % reference.size());
            else if (reference.size() > 8 && it->first % 97 == 0)
                ++it; // every 97th lives on
            ASSERT_EQ(map.take(it->first), it->second);
            reference.erase(it);
        } else {
            uint32_t probe = next - 1 - random() % 4096;
            auto it = reference.find(probe);
            const uint64_t* found = map.find(probe);
            if (it == reference.end())
                ASSERT_EQ(found, nullptr) << probe;
            else {
                ASSERT_NE(found, nullptr) << probe;
                ASSERT_EQ(*found, it->second);
            }
        }
        ASSERT_EQ(map.size(), reference.size());
    }
    size_t visited = 0;
    map.forEach([&](uint32_t key, uint64_t& value) {
        ++visited;
        auto it = reference.find(key);
        ASSERT_NE(it, reference.end());
        EXPECT_EQ(value, it->second);
    });
    EXPECT_EQ(visited, reference.size());
    for (const auto& [key, value] : reference)
        ASSERT_EQ(map.take(key), value);
    EXPECT_TRUE(map.empty());
    map.clear();
    EXPECT_EQ(map.find(1), nullptr);
}

} // namespace
} // namespace serval::util
