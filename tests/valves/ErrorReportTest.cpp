#include "valves/ErrorReport.h"

#include <gtest/gtest.h>

using serval::valves::renderErrorReport;

TEST(ErrorReportTest, ShowsStatusAndReason)
{
    std::string page = renderErrorReport(404);
    EXPECT_NE(page.find("<title>404 Not Found</title>"), std::string::npos);
    EXPECT_NE(page.find("<h1>404 Not Found</h1>"), std::string::npos);
    EXPECT_EQ(page.find("<p>"), std::string::npos); // no message, no paragraph
    EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
}

TEST(ErrorReportTest, EscapesTheMessage)
{
    std::string page = renderErrorReport(400, "bad <script>alert(\"x\")</script> & 'y'");
    EXPECT_EQ(page.find("<script>"), std::string::npos);
    EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);
    EXPECT_NE(page.find("&amp;"), std::string::npos);
}

TEST(ErrorReportTest, LeaksNoVersionAndHasNoScript)
{
    std::string page = renderErrorReport(500, "boom");
    EXPECT_EQ(page.find("Serval/"), std::string::npos);
    EXPECT_EQ(page.find("0.1"), std::string::npos);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_NE(page.find("500 Internal Server Error"), std::string::npos);
}

TEST(ErrorReportTest, OutOfRangeStatusBecomes500)
{
    EXPECT_NE(renderErrorReport(42).find("500"), std::string::npos);
}
