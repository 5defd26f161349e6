#include "datasource/SqlText.h"

#include <gtest/gtest.h>

using namespace serval::datasource;

namespace {

std::vector<std::string> statements(std::string_view script)
{
    std::vector<std::string> out;
    for (const StatementSpan& span : splitStatements(script))
        out.emplace_back(script.substr(span.offset, span.length));
    return out;
}

} // namespace

TEST(SqlTextTest, QuestionMarksBecomeNumberedParameters)
{
    RewrittenSql r = rewritePlaceholders("select * from t where a = ? and b in (?, ?)");
    EXPECT_EQ(r.sql, "select * from t where a = $1 and b in ($2, $3)");
    EXPECT_EQ(r.parameterCount, 3);
}

TEST(SqlTextTest, QuestionMarksInQuotesAndCommentsStay)
{
    RewrittenSql r =
        rewritePlaceholders("select '?', 'it''s ?', \"a?\" -- why?\n, ? /* what? /* nested? */ ? */ , ?");
    EXPECT_EQ(r.sql, "select '?', 'it''s ?', \"a?\" -- why?\n, $1 /* what? /* nested? */ ? */ , $2");
    EXPECT_EQ(r.parameterCount, 2);
}

TEST(SqlTextTest, EscapeStringsAndDollarQuotesStay)
{
    RewrittenSql r = rewritePlaceholders("select E'\\' ?', $$ ? $$, $fn$ ? $$ ? $fn$, a$b, ?");
    EXPECT_EQ(r.sql, "select E'\\' ?', $$ ? $$, $fn$ ? $$ ? $fn$, a$b, $1");
    // Outside E'', a backslash is an ordinary character (standard_conforming_strings).
    EXPECT_EQ(rewritePlaceholders("select '\\', ?").sql, "select '\\', $1");
}

TEST(SqlTextTest, DoubledQuestionMarkIsALiteralOperator)
{
    RewrittenSql r = rewritePlaceholders("select doc ?? 'key', doc ??| ?");
    EXPECT_EQ(r.sql, "select doc ? 'key', doc ?| $1");
    EXPECT_EQ(r.parameterCount, 1);
}

TEST(SqlTextTest, UnterminatedQuoteRunsToTheEnd)
{
    EXPECT_EQ(rewritePlaceholders("select 'open ?").sql, "select 'open ?");
    EXPECT_EQ(rewritePlaceholders("select /* open ?").parameterCount, 0);
}

TEST(SqlTextTest, ScriptsSplitAtTopLevelSemicolons)
{
    auto parts =
        statements("create table a (x int);\n-- comment; with semicolon\ninsert into a values (';');;\n"
                   "  /* c; */ select 1");
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0], "create table a (x int)");
    EXPECT_EQ(parts[1], "insert into a values (';')");
    EXPECT_EQ(parts[2], "select 1");
}

TEST(SqlTextTest, FunctionBodiesInDollarQuotesStayWhole)
{
    auto parts =
        statements("create function f() returns int as $body$ begin return 1; end; $body$ language plpgsql;\n"
                   "select f();");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0],
              "create function f() returns int as $body$ begin return 1; end; $body$ language plpgsql");
    EXPECT_EQ(parts[1], "select f()");
}

TEST(SqlTextTest, SpansPointAtTheFirstToken)
{
    std::string_view script = "\n\n-- header\n  select 1;\n\nselect 2 -- tail\n";
    auto spans = splitStatements(script);
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(lineOf(script, spans[0].offset), 4u);
    EXPECT_EQ(lineOf(script, spans[1].offset), 6u);
    EXPECT_TRUE(splitStatements("  -- nothing\n ; ;").empty());
}
