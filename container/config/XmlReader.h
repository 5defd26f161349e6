#pragma once

// Internal to serval_config: what the server.xml and web.xml readers share (loading, file:line
// errors, attribute and child tables). Not part of the library's interface.

#include "config/ConfigError.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <tinyxml2.h>
#include <vector>

namespace serval::config::xml {

/// A parsed file plus the name used in messages.
struct Document
{
    std::string displayName; ///< "conf/server.xml", "WEB-INF/web.xml"
    tinyxml2::XMLDocument doc;
};

/// Reads and parses `path`; throws ConfigError for a missing/unreadable file or malformed XML.
void load(Document& document, const std::string& path);
/// Parses `text`; throws ConfigError for malformed XML.
void parse(Document& document, const std::string& text);

/// Throws "FILE:LINE: message".
[[noreturn]] void fail(const Document& document, int line, const std::string& message);
[[noreturn]] inline void fail(const Document& document, const tinyxml2::XMLElement& element,
                              const std::string& message)
{
    fail(document, element.GetLineNum(), message);
}

/// "a, b, c"
std::string joinNames(const std::vector<std::string_view>& names);

/// Trimmed text content of an element ("" if empty). Refuses child elements inside.
std::string text(const Document& document, const tinyxml2::XMLElement& element);

/// Unsigned decimal in [min, max], or fail naming the attribute/element and the range.
uint64_t parseNumber(const Document& document, int line, std::string_view what, std::string_view value,
                     uint64_t min, uint64_t max);
/// Signed decimal (load-on-startup may be negative).
int64_t parseSigned(const Document& document, int line, std::string_view what, std::string_view value);
/// A duration in milliseconds: "250ms", "2s", "5m", "1h", or a bare number of milliseconds, at most
/// `maxMs`, or fail naming `what` and the accepted forms.
uint64_t parseDuration(const Document& document, int line, std::string_view what, std::string_view value,
                       uint64_t maxMs);
/// "true"/"false" (case-insensitive), or fail.
bool parseBool(const Document& document, int line, std::string_view what, std::string_view value);

/// A table entry for one attribute of element type T: name and how to apply a value.
template <typename T> struct Attribute
{
    std::string_view name;
    std::function<void(T& target, std::string_view value, const Document& document, int line)> apply;
};

/// Applies every attribute of `element` through `table`; an attribute not in the table fails
/// with the list of expected names.
template <typename T>
void applyAttributes(const Document& document, const tinyxml2::XMLElement& element,
                     const std::vector<Attribute<T>>& table, T& target)
{
    for (const tinyxml2::XMLAttribute* a = element.FirstAttribute(); a != nullptr; a = a->Next()) {
        std::string_view name = a->Name();
        const Attribute<T>* rule = nullptr;
        for (const auto& candidate : table) {
            if (candidate.name == name) rule = &candidate;
        }
        if (rule == nullptr) {
            std::vector<std::string_view> names;
            for (const auto& candidate : table)
                names.push_back(candidate.name);
            fail(document, a->GetLineNum(),
                 "unknown attribute \"" + std::string(name) + "\" on <" + element.Name() +
                     ">; expected one of: " + joinNames(names));
        }
        rule->apply(target, a->Value(), document, a->GetLineNum());
    }
}

/// A data source name as web.xml declares it and server.xml binds it: it names a file
/// (data/<host>/<app>/<name>.db), so letters, digits, '_' and '-', 1 to 64 of them.
bool isDataSourceName(std::string_view name) noexcept;

/// Fails on the first child element of `element` whose name is not in `allowed`.
void checkChildren(const Document& document, const tinyxml2::XMLElement& element,
                   const std::vector<std::string_view>& allowed);

} // namespace serval::config::xml
