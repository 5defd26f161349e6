#include "config/XmlReader.h"

#include "util/Strings.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace serval::config::xml {
namespace {

/// "XML_ERROR_MISMATCHED_ELEMENT" -> "mismatched element".
std::string describe(tinyxml2::XMLError error)
{
    std::string name = tinyxml2::XMLDocument::ErrorIDToName(error);
    if (util::startsWith(name, "XML_ERROR_")) name = name.substr(10);
    for (char& c : name)
        c = c == '_' ? ' ' : util::asciiLower(c);
    return name;
}

void checkParse(Document& document)
{
    if (document.doc.Error()) {
        fail(document, document.doc.ErrorLineNum(),
             "malformed XML: " + describe(document.doc.ErrorID()) + "; fix the markup at this line");
    }
}

} // namespace

void load(Document& document, const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError(document.displayName + ": cannot read " + path + ": " + std::strerror(errno) +
                          "; check the path (--base) and permissions");
    }
    std::ostringstream content;
    content << in.rdbuf();
    parse(document, content.str());
}

void parse(Document& document, const std::string& text)
{
    document.doc.Parse(text.data(), text.size());
    checkParse(document);
    if (document.doc.RootElement() == nullptr) fail(document, 1, "no root element; the file is empty");
}

void fail(const Document& document, int line, const std::string& message)
{
    throw ConfigError(document.displayName + ":" + std::to_string(line) + ": " + message);
}

std::string joinNames(const std::vector<std::string_view>& names)
{
    std::string out;
    for (std::string_view n : names) {
        if (!out.empty()) out += ", ";
        out += n;
    }
    return out;
}

std::string text(const Document& document, const tinyxml2::XMLElement& element)
{
    if (const tinyxml2::XMLElement* child = element.FirstChildElement()) {
        fail(document, *child,
             "unexpected element <" + std::string(child->Name()) + "> inside <" + element.Name() +
                 ">; it holds text only");
    }
    const char* t = element.GetText();
    if (t == nullptr) return {};
    std::string_view view(t);
    size_t b = view.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    size_t e = view.find_last_not_of(" \t\r\n");
    return std::string(view.substr(b, e - b + 1));
}

uint64_t parseNumber(const Document& document, int line, std::string_view what, std::string_view value,
                     uint64_t min, uint64_t max)
{
    auto n = util::parseUnsigned(value);
    if (!n || *n < min || *n > max) {
        fail(document, line,
             "bad value \"" + std::string(value) + "\" for " + std::string(what) +
                 "; expected a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return *n;
}

int64_t parseSigned(const Document& document, int line, std::string_view what, std::string_view value)
{
    bool negative = !value.empty() && value.front() == '-';
    auto n = util::parseUnsigned(negative ? value.substr(1) : value);
    if (!n || *n > 1000000) {
        fail(document, line,
             "bad value \"" + std::string(value) + "\" for " + std::string(what) +
                 "; expected a whole number");
    }
    return negative ? -static_cast<int64_t>(*n) : static_cast<int64_t>(*n);
}

uint64_t parseDuration(const Document& document, int line, std::string_view what, std::string_view value,
                       uint64_t maxMs)
{
    std::string_view digits = value;
    uint64_t unit = 1;
    if (util::endsWith(value, "ms")) {
        digits.remove_suffix(2);
    } else if (util::endsWith(value, "s")) {
        digits.remove_suffix(1);
        unit = 1000;
    } else if (util::endsWith(value, "m")) {
        digits.remove_suffix(1);
        unit = 60000;
    } else if (util::endsWith(value, "h")) {
        digits.remove_suffix(1);
        unit = 3600000;
    }
    auto n = util::parseUnsigned(digits);
    if (!n || *n > maxMs / unit) {
        fail(document, line,
             "bad value \"" + std::string(value) + "\" for " + std::string(what) +
                 "; expected a duration such as 500ms, 2s or 1m (a bare number is milliseconds), at most " +
                 std::to_string(maxMs / 1000) + "s");
    }
    return *n * unit;
}

bool parseBool(const Document& document, int line, std::string_view what, std::string_view value)
{
    if (util::equalsIgnoreCase(value, "true")) return true;
    if (util::equalsIgnoreCase(value, "false")) return false;
    fail(document, line,
         "bad value \"" + std::string(value) + "\" for " + std::string(what) + "; expected true or false");
}

bool isDataSourceName(std::string_view name) noexcept
{
    bool valid = !name.empty() && name.size() <= 64;
    for (char ch : name)
        valid = valid && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-');
    return valid;
}

void checkChildren(const Document& document, const tinyxml2::XMLElement& element,
                   const std::vector<std::string_view>& allowed)
{
    for (const tinyxml2::XMLElement* c = element.FirstChildElement(); c != nullptr;
         c = c->NextSiblingElement()) {
        std::string_view name = c->Name();
        bool ok = false;
        for (std::string_view a : allowed)
            ok = ok || a == name;
        if (!ok) {
            fail(document, *c,
                 "unknown element <" + std::string(name) + "> in <" + element.Name() +
                     ">; expected one of: " + joinNames(allowed));
        }
    }
}

} // namespace serval::config::xml
