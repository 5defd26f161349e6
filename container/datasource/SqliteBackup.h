#pragma once

#include <string>

namespace serval::datasource {

/// Copies the SQLite database at `source` into `destination` with SQLite's online backup API,
/// while other connections (and processes) keep reading and writing it: all pages are copied in
/// one step, inside one read transaction, so the copy is the database as of one commit, and in
/// WAL mode writers are never blocked (only checkpoints wait). The copy is written to
/// "<destination>.partial", synced, then renamed over `destination`: a failed or interrupted
/// backup never leaves a half file under the final name.
///
/// Control plane (servalctl backup, the admin page's button): throws DataSourceError with a
/// one-line message. Any thread; takes as long as reading the database.
void backupSqlite(const std::string& source, const std::string& destination);

} // namespace serval::datasource
