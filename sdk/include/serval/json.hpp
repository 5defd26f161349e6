// serval/json.hpp: JSON request and response helpers over nlohmann/json (optional, header-only).
//
//   #include <serval/json.hpp>
//
//   void doPost(serval::Request& request, serval::Response& response) override {
//       serval::json::Value entry = serval::json::read(request);        // 415 / 400 on bad input
//       std::string name = serval::json::field<std::string>(entry, "name"); // 400 if missing
//       serval::json::write(response, {{"id", 42}, {"name", name}}, 201);
//   }
//
// Only apps that include this header need nlohmann/json (Debian: nlohmann-json3-dev, header
// only; script/bootstrap installs it). Values are nlohmann::ordered_json: objects keep the
// order their members were added in, so the output reads as the code wrote it.
//
// THREADS: free functions over one request's Request/Response, like the rest of the SDK.
#pragma once

#include "serval/http.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace serval::json {

using Value = nlohmann::ordered_json;

/// True if `contentType` is application/json or a +json type ("application/problem+json"),
/// whatever its parameters.
inline bool isJsonType(std::string_view contentType) noexcept
{
    std::string_view type = detail::trim(contentType.substr(0, contentType.find(';')));
    if (detail::equalsIgnoreCase(type, "application/json")) return true;
    return type.size() > 5 && detail::equalsIgnoreCase(type.substr(type.size() - 5), "+json");
}

/// The request body as JSON. Throws HttpError(415) unless the Content-Type is JSON, and
/// HttpError(400) naming the position when the body does not parse.
inline Value read(Request& request)
{
    if (!isJsonType(request.contentType().value_or("")))
        throw HttpError(415, "the body must be application/json");
    std::string body = request.bodyText();
    try {
        return Value::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        throw HttpError(400, std::string("the body is not valid JSON: ") + e.what());
    }
}

/// Member `name` of a JSON object as T, or HttpError(400) saying which member is missing or of
/// the wrong type: request input is the client's mistake, not a 500.
template <typename T> T field(const Value& object, const char* name)
{
    if (!object.is_object() || !object.contains(name))
        throw HttpError(400, std::string("the JSON body needs a member \"") + name + "\"");
    try {
        return object.at(name).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw HttpError(400, std::string("the JSON member \"") + name + "\" has the wrong type");
    }
}

/// Writes `value` as the body (application/json; charset=utf-8) with `status`. Strings that are
/// not valid UTF-8 are written with U+FFFD instead of failing the response.
inline void write(Response& response, const Value& value, int status = 200)
{
    response.setStatus(status);
    response.setContentType("application/json; charset=utf-8");
    response.write(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

} // namespace serval::json
