#include "http/Token.h"

namespace serval::http {

namespace {

/// tchar as a table: isToken() runs for every request and response header name, so one load
/// per byte instead of a chain of compares.
struct TokenTable
{
    bool allowed[256] = {};
    constexpr TokenTable()
    {
        for (int c = '0'; c <= '9'; ++c)
            allowed[c] = true;
        for (int c = 'a'; c <= 'z'; ++c)
            allowed[c] = true;
        for (int c = 'A'; c <= 'Z'; ++c)
            allowed[c] = true;
        for (char c : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'})
            allowed[static_cast<unsigned char>(c)] = true;
    }
};
constexpr TokenTable kTokenTable;

} // namespace

bool isTokenChar(unsigned char c) noexcept
{
    return kTokenTable.allowed[c];
}

bool isToken(std::string_view text) noexcept
{
    if (text.empty()) return false;
    for (char c : text) {
        if (!kTokenTable.allowed[static_cast<unsigned char>(c)]) return false;
    }
    return true;
}

bool isHostValue(std::string_view host) noexcept
{
    for (char ch : host) {
        auto c = static_cast<unsigned char>(ch);
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!ok) {
            switch (c) {
            case '-':
            case '.':
            case '_':
            case '~':
            case '%':
            case '!':
            case '$':
            case '&':
            case '\'':
            case '(':
            case ')':
            case '*':
            case '+':
            case ',':
            case ';':
            case '=':
            case ':':
            case '[':
            case ']':
                ok = true;
                break;
            default:
                break;
            }
        }
        if (!ok) return false;
    }
    return true;
}

} // namespace serval::http
