// serval/html.hpp: HTML escaping and a minimal template that is safe by default (header-only).
//
//   serval::html::Template row("<li>{{name}}: {{message}}</li>");
//   std::string items;
//   for (const Entry& e : entries) items += row.render({{"name", e.name}, {"message", e.message}});
//   page.render({{"title", "Guestbook"}, {"items", serval::html::Safe(items)}});
//
// A template is text with {{name}} placeholders and nothing else: no loops, no conditions, no
// expressions (compose fragments in C++ instead). Every value is HTML-escaped unless it is
// wrapped in html::Safe, the one way to insert markup, which is meant for the output of another
// render() or of escape(). A placeholder without a value is a programming error and throws
// std::invalid_argument (the barrier answers 500); values a template does not use are ignored,
// so one set of values can serve several templates.
//
// Escaping covers element content and quoted attribute values (& < > " '). It does not make a
// value safe inside <script>, <style>, an unquoted attribute or a URL attribute (href="{{x}}"
// with x = "javascript:..."): keep such values out of templates or validate them first.
//
// THREADS: Template and Templates are immutable after construction; render() may run on many
// threads at once.
#pragma once

#include "serval/http.hpp"

#include <dirent.h>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace serval::html {

/// `text` with & < > " ' replaced by entities: safe in element content and quoted attributes.
inline std::string escape(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

/// Markup inserted as it is: the output of render() or escape(), never request input.
class Safe
{
public:
    explicit Safe(std::string html) : _html(std::move(html)) {}
    const std::string& str() const noexcept { return _html; }

private:
    std::string _html;
};

/// One value for a placeholder: text (escaped when rendered) or Safe markup.
class Value
{
public:
    Value(std::string_view text) : _text(escape(text)) {}
    Value(const std::string& text) : _text(escape(text)) {}
    Value(const char* text) : _text(escape(text)) {}
    Value(const Safe& html) : _text(html.str()) {}
    /// Numbers are text too.
    template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
    Value(T number) : _text(std::to_string(number))
    {}
    const std::string& rendered() const noexcept { return _text; }

private:
    std::string _text;
};

/// Text with {{name}} placeholders (names: letters, digits, '_', '-', '.').
class Template
{
public:
    /// Parses `text` once; throws std::invalid_argument for an unclosed or empty placeholder.
    explicit Template(std::string_view text)
    {
        size_t pos = 0;
        while (true) {
            size_t open = text.find("{{", pos);
            _literals.emplace_back(text.substr(pos, open == std::string_view::npos ? open : open - pos));
            if (open == std::string_view::npos) break;
            size_t close = text.find("}}", open + 2);
            if (close == std::string_view::npos)
                throw std::invalid_argument("template: \"{{\" at offset " + std::to_string(open) +
                                            " is not closed");
            std::string_view name = text.substr(open + 2, close - open - 2);
            if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789_-.") != std::string_view::npos) {
                throw std::invalid_argument("template: bad placeholder \"{{" + std::string(name) + "}}\"");
            }
            _names.emplace_back(name);
            pos = close + 2;
        }
    }

    /// The template in a file (say, the app's WEB-INF/templates/page.html through
    /// ServletContext::realPath). Throws std::runtime_error if it cannot be read.
    static Template load(const std::string& path)
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read the template " + path);
        std::ostringstream text;
        text << in.rdbuf();
        return Template(text.str());
    }

    /// Substitutes every placeholder. Throws std::invalid_argument naming a placeholder without
    /// a value.
    std::string render(std::initializer_list<std::pair<std::string_view, Value>> values) const
    {
        std::string out;
        out.reserve(size(values));
        for (size_t i = 0; i < _names.size(); ++i) {
            out += _literals[i];
            size_t index = 0;
            for (const auto& [name, value] : values) {
                if (name == _names[i]) break;
                ++index;
            }
            if (index == values.size())
                throw std::invalid_argument("template: no value for {{" + _names[i] + "}}");
            out += (values.begin() + index)->second.rendered();
        }
        out += _literals.back();
        return out;
    }

private:
    size_t size(std::initializer_list<std::pair<std::string_view, Value>> values) const noexcept
    {
        size_t n = 0;
        for (const std::string& literal : _literals)
            n += literal.size();
        for (const auto& entry : values)
            n += entry.second.rendered().size();
        return n;
    }

    std::vector<std::string> _literals; ///< one more than _names: text around the placeholders
    std::vector<std::string> _names;
};

/// Every NAME.html of a directory in the app's bundle ("/WEB-INF/templates", where no client can
/// fetch them), loaded once (at start: a listener's contextInitialized or a servlet's init) and
/// then only read. templates["page"] is page.html; an unknown name throws std::out_of_range.
class Templates
{
public:
    Templates() = default;
    /// Throws std::runtime_error if the directory or a template cannot be read.
    Templates(const ServletContext& context, std::string_view directory)
    {
        std::string path = context.realPath(directory).value_or("");
        std::unique_ptr<DIR, int (*)(DIR*)> dir(path.empty() ? nullptr : ::opendir(path.c_str()),
                                                &::closedir);
        if (!dir) throw std::runtime_error("cannot read the templates in " + std::string(directory));
        while (dirent* e = ::readdir(dir.get())) {
            std::string name = e->d_name;
            if (name.size() > 5 && name.compare(name.size() - 5, 5, ".html") == 0)
                _templates.emplace(name.substr(0, name.size() - 5), Template::load(path + "/" + name));
        }
    }
    const Template& operator[](const std::string& name) const { return _templates.at(name); }

private:
    std::map<std::string, Template> _templates;
};

/// Answers with `page` as text/html (UTF-8) and `status`.
inline void send(Response& response, const std::string& page, int status = 200)
{
    response.setStatus(status);
    response.setContentType("text/html; charset=utf-8");
    response.write(page);
}

} // namespace serval::html
