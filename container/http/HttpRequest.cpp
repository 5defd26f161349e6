#include "http/HttpRequest.h"

#include "util/Strings.h"

namespace serval::http {

std::string_view HttpRequest::header(std::string_view name) const noexcept
{
    for (const Header& h : headers) {
        if (util::equalsIgnoreCase(h.name, name)) return h.value;
    }
    return {};
}

bool HttpRequest::hasHeader(std::string_view name) const noexcept
{
    for (const Header& h : headers) {
        if (util::equalsIgnoreCase(h.name, name)) return true;
    }
    return false;
}

void HttpRequest::clear() noexcept
{
    method.clear();
    target.clear();
    path.clear();
    query.clear();
    versionMajor = 1;
    versionMinor = 1;
    headers.clear();
    body.clear();
}

} // namespace serval::http
