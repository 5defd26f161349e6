#include "core/ErrorPage.h"

#include "http/HttpStatus.h"
#include "util/Strings.h"

#include <string>

namespace serval::core {

void writeErrorPage(http::HttpResponse& response, int status, std::string_view message)
{
    response.reset();
    response.setStatus(status);
    response.setContentType("text/html;charset=utf-8");
    response.setHeader("Cache-Control", "no-store");
    std::string title = std::to_string(status) + " " + std::string(http::reasonPhrase(status));
    std::string& body = response.body();
    body.reserve(600 + message.size());
    body += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
    body += title;
    body += "</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem "
            "auto;padding:0 1rem;"
            "color:#222}h1{font-size:1.6rem;margin:0 0 .5rem}p.s{color:#777;border-top:1px solid #ddd;"
            "padding-top:.5rem;font-size:.85rem}</style></head><body><h1>";
    body += title;
    body += "</h1>";
    if (!message.empty()) {
        body += "<p>";
        body += util::htmlEscape(message);
        body += "</p>";
    }
    body += "<p class=\"s\">Serval</p></body></html>\n";
}

} // namespace serval::core
