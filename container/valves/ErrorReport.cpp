#include "valves/ErrorReport.h"

#include "http/HttpStatus.h"
#include "util/Strings.h"

namespace serval::valves {

std::string renderErrorReport(int status, std::string_view message)
{
    if (status < 100 || status > 999) status = 500;
    std::string title = std::to_string(status);
    title.push_back(' ');
    title.append(http::reasonPhrase(status));
    std::string escapedTitle = util::htmlEscape(title);

    std::string page;
    page.reserve(640 + message.size());
    page.append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    page.append(escapedTitle);
    page.append("</title>\n<style>body{font-family:system-ui,sans-serif;margin:3rem auto;max-width:40rem;"
                "padding:0 1rem;color:#222;background:#fff}h1{font-size:1.6rem;margin:0 0 1rem}"
                "p{line-height:1.5}@media (prefers-color-scheme:dark){body{color:#ddd;background:#111}}"
                "</style>\n</head>\n<body>\n<h1>");
    page.append(escapedTitle);
    page.append("</h1>\n");
    if (!message.empty()) {
        page.append("<p>");
        page.append(util::htmlEscape(message));
        page.append("</p>\n");
    }
    page.append("</body>\n</html>\n");
    return page;
}

} // namespace serval::valves
