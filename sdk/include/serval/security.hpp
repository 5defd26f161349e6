// serval/security.hpp: the security helpers apps keep writing by hand (header-only, ABI 1.1).
//
//   std::string id = serval::security::randomToken();               // 256 bits, URL-safe
//   std::string hash = serval::security::hashPassword(password);    // the container's PBKDF2
//   bool ok = serval::security::verifyPassword(attempt, hash);
//   std::string cookie = serval::security::sign(context, "admin");  // "admin.<mac>"
//   std::optional<std::string> who = serval::security::verify(context, cookie);
//
//   serval::SignedCookie login("login", 8 * 3600);  // a value the client cannot forge
//   login.set(request, response, "ada");  login.get(request) == "ada"
//
//   serval::Csrf csrf;                           // a signed double-submit cookie
//   page.render({{"csrf", csrf.token(request, response)}, ...});  // <input name="_csrf" ...>
//   csrf.require(request);                       // in doPost: 403 unless the token matches
//
// Randomness, password hashes and signatures come from the container (host functions of ABI
// 1.1): one vetted implementation, the realm's, for every app; the signing key never enters
// the app. constantTimeEquals and base64url are local.
//
// THREADS: everything here is safe from any thread; a Csrf object is immutable.
#pragma once

#include "serval/http.hpp"

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace serval {
namespace security {

/// Compares without an early exit, so the time taken does not reveal where two secrets differ
/// (their lengths are not secret).
inline bool constantTimeEquals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i)
        diff = static_cast<unsigned char>(
            diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
    return diff == 0;
}

/// base64url without padding (RFC 4648 section 5): cookie, header and URL safe.
inline std::string base64UrlEncode(std::string_view bytes)
{
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        buffer = (buffer << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(buffer >> bits) & 63];
        }
    }
    if (bits > 0) out += alphabet[(buffer << (6 - bits)) & 63];
    return out;
}

/// The inverse of base64UrlEncode, or nullopt for anything that is not its output.
inline std::optional<std::string> base64UrlDecode(std::string_view text)
{
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-'             ? 62
                : c == '_'             ? 63
                                       : -1;
        if (v < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xff);
        }
    }
    if (bits >= 6 || (buffer & ((1u << bits) - 1)) != 0) return std::nullopt; // not canonical
    return out;
}

/// `count` bytes from the kernel's CSPRNG (through the container).
inline std::string randomBytes(size_t count)
{
    detail::requireHost(SERVAL_HOST_HAS(security_random), "security_random");
    std::string bytes(count, '\0');
    detail::check(detail::host().security_random(bytes.data(), count), "security_random");
    return bytes;
}

/// A random secret of `bytes` bytes (default 32: 256 bits), base64url: session ids, API keys,
/// reset links.
inline std::string randomToken(size_t bytes = 32)
{
    return base64UrlEncode(randomBytes(bytes));
}

/// A storable hash of `password`: the container's PBKDF2-HMAC-SHA256 with a random salt
/// ("pbkdf2-sha256$ITERATIONS$SALT$HASH"). Slow on purpose: call it when a password is set.
inline std::string hashPassword(std::string_view password)
{
    detail::requireHost(SERVAL_HOST_HAS(security_hash_password), "security_hash_password");
    std::string hash(128, '\0');
    while (true) {
        size_t len = 0;
        serval_status_t status =
            detail::host().security_hash_password(detail::str(password), hash.data(), hash.size(), &len);
        if (status == SERVAL_BUFFER_TOO_SMALL) {
            hash.resize(len);
            continue;
        }
        detail::check(status, "security_hash_password");
        hash.resize(len);
        return hash;
    }
}

/// Whether `password` is the one `hash` (from hashPassword) was made of; false for a malformed
/// hash too. As slow as hashing: rate-limit the callers.
inline bool verifyPassword(std::string_view password, std::string_view hash)
{
    detail::requireHost(SERVAL_HOST_HAS(security_verify_password), "security_verify_password");
    bool matches = false;
    serval_status_t status =
        detail::host().security_verify_password(detail::str(password), detail::str(hash), &matches);
    if (status == SERVAL_INVALID_ARGUMENT) return false;
    detail::check(status, "security_verify_password");
    return matches;
}

/// HMAC-SHA256 of `data` under the app's key (held by the container, the same for every
/// version of the app and across restarts): 32 raw bytes.
inline std::string mac(const ServletContext& context, std::string_view data)
{
    detail::requireHost(SERVAL_HOST_HAS(context_sign), "context_sign");
    std::string out(32, '\0');
    detail::check(detail::host().context_sign(context.handle(), detail::str(data), out.data(), out.size()),
                  "context_sign");
    return out;
}

/// `value` + "." + its MAC (base64url): a value the client may hold but not forge, for a
/// cookie. Put an expiry inside `value` if it must end. `value` may hold '.': verify() splits
/// at the last one (a MAC has none).
inline std::string sign(const ServletContext& context, std::string_view value)
{
    return std::string(value) + "." + base64UrlEncode(mac(context, value));
}

/// The value of a string sign() made, or nullopt if it was not made by this app's key.
inline std::optional<std::string> verify(const ServletContext& context, std::string_view signedValue)
{
    size_t dot = signedValue.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    std::string_view value = signedValue.substr(0, dot);
    std::string expected = base64UrlEncode(mac(context, value));
    if (!constantTimeEquals(expected, signedValue.substr(dot + 1))) return std::nullopt;
    return std::string(value);
}

} // namespace security

/// A cookie the client holds but can neither forge nor extend: "VALUE|EXPIRY" signed with the
/// app's key (security::sign), HttpOnly, Path = the context path, Secure over TLS. What a login
/// is kept in until sessions are in the ABI.
///   serval::SignedCookie admin("admin", 8 * 3600, "Strict");
///   admin.set(request, response, "ada");  ...  std::optional<std::string> who = admin.get(request);
class SignedCookie
{
public:
    /// `maxAge` in seconds (-1: until the browser closes, and no expiry inside the value).
    explicit SignedCookie(std::string name, int64_t maxAge = -1, std::string sameSite = "Lax")
        : _name(std::move(name)), _maxAge(maxAge), _sameSite(std::move(sameSite))
    {}

    /// The value set, or nullopt when the cookie is absent, was not signed by this app, or expired.
    std::optional<std::string> get(Request& request) const
    {
        std::optional<std::string_view> cookie = request.cookie(_name);
        std::optional<std::string> value =
            cookie ? security::verify(request.context(), *cookie) : std::nullopt;
        size_t bar = value ? value->rfind('|') : std::string::npos;
        if (bar == std::string::npos) return std::nullopt;
        long long expiry = 0;
        if (!detail::parseNumber(std::string_view(*value).substr(bar + 1), expiry)) return std::nullopt;
        if (expiry != 0 && expiry <= static_cast<long long>(std::time(nullptr))) return std::nullopt;
        return value->substr(0, bar);
    }
    /// Sets it to `value` (which must be a cookie value: no spaces, ';', ',' or quotes).
    void set(Request& request, Response& response, std::string_view value) const
    {
        long long expiry = _maxAge < 0 ? 0 : static_cast<long long>(std::time(nullptr)) + _maxAge;
        add(request, response,
            security::sign(request.context(), std::string(value) + "|" + std::to_string(expiry)), _maxAge);
    }
    void clear(Request& request, Response& response) const { add(request, response, "", 0); }

private:
    void add(Request& request, Response& response, const std::string& value, int64_t maxAge) const
    {
        std::string path(request.contextPath());
        response.addCookie(Cookie{_name,
                                  value,
                                  path.empty() ? std::string_view("/") : std::string_view(path),
                                  {},
                                  maxAge,
                                  true,
                                  request.isSecure(),
                                  _sameSite});
    }

    std::string _name;
    int64_t _maxAge;
    std::string _sameSite;
};

/// Where a CSRF token lives between the page that shows a form and the POST it sends back.
/// The default, CookieCsrfStore, is a signed cookie; a session-backed store (a session attribute
/// through Request::session(), ABI 1.2) implements the same two calls.
class CsrfStore
{
public:
    virtual ~CsrfStore() = default;
    /// The token stored for this client, or nullopt.
    virtual std::optional<std::string> load(Request& request) const = 0;
    /// Stores `token` for this client (a cookie on `response`, a session attribute, ...).
    virtual void save(Request& request, Response& response, const std::string& token) const = 0;
};

/// The signed double-submit cookie (OWASP): the token in an HttpOnly, SameSite=Strict
/// SignedCookie (so a cookie planted by a sibling subdomain is refused), and in the form.
class CookieCsrfStore : public CsrfStore
{
public:
    explicit CookieCsrfStore(std::string cookieName = "csrf") : _cookie(std::move(cookieName), -1, "Strict")
    {}

    std::optional<std::string> load(Request& request) const override { return _cookie.get(request); }
    void save(Request& request, Response& response, const std::string& token) const override
    {
        _cookie.set(request, response, token);
    }

private:
    SignedCookie _cookie;
};

/// CSRF protection for form posts: token() for the page, require() (or valid()) for the POST.
/// A request is valid when its "_csrf" form field or X-CSRF-Token header equals the stored
/// token (constant time) and, if the browser says so (Sec-Fetch-Site), it is not cross-site.
class Csrf
{
public:
    static constexpr const char* kField = "_csrf";
    static constexpr const char* kHeader = "X-CSRF-Token";

    Csrf() : _store(std::make_shared<CookieCsrfStore>()) {}
    explicit Csrf(std::shared_ptr<const CsrfStore> store) : _store(std::move(store)) {}

    /// The token to put in the form's hidden "_csrf" field: the stored one, or a new one stored
    /// on `response` now (so call it before the response is committed).
    std::string token(Request& request, Response& response) const
    {
        if (std::optional<std::string> stored = _store->load(request)) return *stored;
        std::string fresh = security::randomToken();
        _store->save(request, response, fresh);
        return fresh;
    }
    bool valid(Request& request) const
    {
        std::optional<std::string_view> site = request.header("Sec-Fetch-Site");
        if (site && *site == "cross-site") return false;
        std::optional<std::string> stored = _store->load(request);
        if (!stored) return false;
        std::optional<std::string_view> sent = request.header(kHeader);
        if (!sent) sent = request.parameter(kField);
        return sent && security::constantTimeEquals(*stored, *sent);
    }
    /// Throws HttpError(403) unless valid().
    void require(Request& request) const
    {
        if (!valid(request))
            throw HttpError(403, "the form's CSRF token is missing or wrong: reload the page");
    }

private:
    std::shared_ptr<const CsrfStore> _store;
};

} // namespace serval
