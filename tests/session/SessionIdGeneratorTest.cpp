#include "session/SessionIdGenerator.h"

#include <gtest/gtest.h>
#include <set>

using serval::session::SessionIdGenerator;

TEST(SessionIdGeneratorTest, IdsAre128BitsOfLowerCaseHex)
{
    SessionIdGenerator generator;
    std::string id = generator.generate();
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    EXPECT_GE(SessionIdGenerator::kRandomBytes * 8, 128u);
}

TEST(SessionIdGeneratorTest, IdsDoNotRepeat)
{
    SessionIdGenerator generator;
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i)
        EXPECT_TRUE(seen.insert(generator.generate()).second);
}

TEST(SessionIdGeneratorTest, EveryHexDigitAppearsInEveryPosition)
{
    // Not a randomness test: catches an encoder that leaves positions fixed or skips nibbles.
    std::vector<std::set<char>> seen(SessionIdGenerator::kBaseLength);
    for (int i = 0; i < 2000; ++i) {
        std::string id = SessionIdGenerator::generateBase();
        for (size_t p = 0; p < id.size(); ++p)
            seen[p].insert(id[p]);
    }
    for (size_t p = 0; p < seen.size(); ++p)
        EXPECT_EQ(seen[p].size(), 16u) << "position " << p;
}

TEST(SessionIdGeneratorTest, RouteIsAppendedAfterADot)
{
    SessionIdGenerator generator("node1");
    std::string id = generator.generate();
    ASSERT_EQ(id.size(), 32u + 6u);
    EXPECT_EQ(id.substr(32), ".node1");
    auto parsed = SessionIdGenerator::parse(id);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->base, id.substr(0, 32));
    EXPECT_EQ(parsed->route, "node1");
    EXPECT_EQ(generator.withRoute(parsed->base), id);
}

TEST(SessionIdGeneratorTest, ParseAcceptsOnlyWhatThisServerCouldIssue)
{
    const std::string base(32, 'a');
    EXPECT_TRUE(SessionIdGenerator::parse(base));
    EXPECT_TRUE(SessionIdGenerator::parse(base + ".other-node_2"));
    EXPECT_EQ(SessionIdGenerator::parse(base)->route, "");
    for (const std::string& bad :
         {std::string(), std::string(31, 'a'), std::string(33, 'a'), std::string(32, 'A'),
          std::string(31, 'a') + "g", base + ".", base + ".a.b", base + ".a b", base + "x", base + ".\xff",
          base + "." + std::string(65, 'r'), std::string(16, 'a') + ".node1"}) {
        EXPECT_FALSE(SessionIdGenerator::parse(bad)) << bad;
    }
}

TEST(SessionIdGeneratorTest, RejectsAnInvalidJvmRoute)
{
    EXPECT_THROW(SessionIdGenerator("node 1"), std::invalid_argument);
    EXPECT_THROW(SessionIdGenerator("a.b"), std::invalid_argument);
    EXPECT_NO_THROW(SessionIdGenerator("Node-1_b"));
    EXPECT_EQ(SessionIdGenerator().generate().find('.'), std::string::npos);
}
