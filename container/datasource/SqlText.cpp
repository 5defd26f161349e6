#include "datasource/SqlText.h"

namespace serval::datasource {

namespace {

bool isIdentifierChar(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool isSpace(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// Past the closing quote of a literal opened at `pos` (sql[pos] is the quote); a doubled quote
/// stays inside, and so does a backslash-escaped one when `backslashEscapes` (E'...').
size_t skipQuotedBody(std::string_view sql, size_t pos, char quote, bool backslashEscapes) noexcept
{
    size_t i = pos + 1;
    while (i < sql.size()) {
        char c = sql[i];
        if (backslashEscapes && c == '\\') {
            i += 2;
            continue;
        }
        if (c == quote) {
            if (i + 1 < sql.size() && sql[i + 1] == quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        ++i;
    }
    return sql.size();
}

/// A dollar quote's opening tag at `pos` ("$$" or "$tag$"): its length, or 0 if there is none
/// (`$1` is a parameter, `a$b` an identifier).
size_t dollarTagLength(std::string_view sql, size_t pos) noexcept
{
    if (pos > 0 && isIdentifierChar(sql[pos - 1])) return 0;
    size_t i = pos + 1;
    if (i < sql.size() && sql[i] >= '0' && sql[i] <= '9') return 0;
    while (i < sql.size() && isIdentifierChar(sql[i]) && sql[i] != '$')
        ++i;
    if (i < sql.size() && sql[i] == '$') return i + 1 - pos;
    return 0;
}

} // namespace

size_t skipQuoted(std::string_view sql, size_t pos) noexcept
{
    if (pos >= sql.size()) return pos;
    char c = sql[pos];
    char next = pos + 1 < sql.size() ? sql[pos + 1] : '\0';
    if (c == '\'') {
        bool escapes = pos > 0 && (sql[pos - 1] == 'E' || sql[pos - 1] == 'e') &&
                       (pos == 1 || !isIdentifierChar(sql[pos - 2]));
        return skipQuotedBody(sql, pos, '\'', escapes);
    }
    if (c == '"') return skipQuotedBody(sql, pos, '"', false);
    if (c == '-' && next == '-') {
        size_t end = sql.find('\n', pos);
        return end == std::string_view::npos ? sql.size() : end + 1;
    }
    if (c == '/' && next == '*') {
        unsigned depth = 1;
        size_t i = pos + 2;
        while (i < sql.size() && depth > 0) {
            if (sql[i] == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
                ++depth;
                i += 2;
            } else if (sql[i] == '*' && i + 1 < sql.size() && sql[i + 1] == '/') {
                --depth;
                i += 2;
            } else {
                ++i;
            }
        }
        return i;
    }
    if (c == '$') {
        size_t tag = dollarTagLength(sql, pos);
        if (tag == 0) return pos;
        size_t end = sql.find(sql.substr(pos, tag), pos + tag);
        return end == std::string_view::npos ? sql.size() : end + tag;
    }
    return pos;
}

size_t skipSpaceAndComments(std::string_view sql, size_t pos) noexcept
{
    while (pos < sql.size()) {
        if (isSpace(sql[pos])) {
            ++pos;
            continue;
        }
        bool comment = pos + 1 < sql.size() &&
                       ((sql[pos] == '-' && sql[pos + 1] == '-') || (sql[pos] == '/' && sql[pos + 1] == '*'));
        if (!comment) break;
        pos = skipQuoted(sql, pos);
    }
    return pos;
}

RewrittenSql rewritePlaceholders(std::string_view sql)
{
    RewrittenSql out;
    out.sql.reserve(sql.size() + 8);
    size_t i = 0;
    while (i < sql.size()) {
        size_t end = skipQuoted(sql, i);
        if (end != i) {
            out.sql.append(sql.substr(i, end - i));
            i = end;
            continue;
        }
        if (sql[i] != '?') {
            out.sql.push_back(sql[i++]);
            continue;
        }
        if (i + 1 < sql.size() && sql[i + 1] == '?') {
            out.sql.push_back('?');
            i += 2;
            continue;
        }
        out.sql.push_back('$');
        out.sql.append(std::to_string(++out.parameterCount));
        ++i;
    }
    return out;
}

std::vector<StatementSpan> splitStatements(std::string_view script)
{
    std::vector<StatementSpan> out;
    size_t start = skipSpaceAndComments(script, 0);
    size_t i = start;
    auto finish = [&](size_t end) {
        // Trailing comments and blanks belong to no statement; an empty span is no statement.
        size_t last = end;
        while (last > start && isSpace(script[last - 1]))
            --last;
        if (last > start) out.push_back({start, last - start});
    };
    while (i < script.size()) {
        size_t end = skipQuoted(script, i);
        if (end != i) {
            i = end;
            continue;
        }
        if (script[i] == ';') {
            finish(i);
            start = skipSpaceAndComments(script, i + 1);
            i = start;
            continue;
        }
        ++i;
    }
    if (start < script.size()) finish(script.size());
    return out;
}

unsigned lineOf(std::string_view text, size_t offset) noexcept
{
    unsigned line = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') ++line;
    }
    return line;
}

} // namespace serval::datasource
