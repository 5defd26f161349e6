#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace serval::datasource {

/// SQL text as the engines need it, scanned with PostgreSQL's lexical rules for what is NOT code:
/// 'strings' ('' inside), E'strings' (backslash escapes), "identifiers" ("" inside), -- comments
/// to the end of the line, /* nested */ comments, and $tag$dollar quotes$tag$. Pure functions,
/// any thread. An unterminated quote or comment runs to the end of the text (the database then
/// reports the syntax error itself).

/// If a quoted literal, identifier, comment or dollar quote starts at `pos`, the index just past
/// its end; otherwise `pos`.
size_t skipQuoted(std::string_view sql, size_t pos) noexcept;

/// The index of the first character at or after `pos` that is neither white space nor inside a
/// comment (used to point an error at a statement's first token, not at the blank line before).
size_t skipSpaceAndComments(std::string_view sql, size_t pos) noexcept;

/// A statement with Serval's portable `?` placeholders rewritten for PostgreSQL: each `?` outside
/// quotes and comments becomes `$1`, `$2`, ... in order, and `??` becomes a literal `?` (pgjdbc's
/// escape, for the jsonb operators `?`, `?|`, `?&`). `parameterCount` is the number of `$n`.
struct RewrittenSql
{
    std::string sql;
    int parameterCount = 0;
};
RewrittenSql rewritePlaceholders(std::string_view sql);

/// Where one statement of a script lies: [offset, offset + length) of the script, from its first
/// token up to (not including) its terminating `;`.
struct StatementSpan
{
    size_t offset = 0;
    size_t length = 0;
};

/// Splits a script (a migration file) into statements at the semicolons outside quotes and
/// comments; statements holding only white space and comments are dropped. A function body in
/// $$dollar quotes$$ stays whole. Not understood: PostgreSQL 14's `BEGIN ATOMIC ... END` bodies
/// (write such functions with a dollar-quoted body). Used for PostgreSQL; SQLite splits with its
/// own parser (sqlite3_prepare's tail), which also knows CREATE TRIGGER ... BEGIN ... END.
std::vector<StatementSpan> splitStatements(std::string_view script);

/// The 1-based line of byte `offset` in `text` (for "file:line" in migration errors).
unsigned lineOf(std::string_view text, size_t offset) noexcept;

} // namespace serval::datasource
