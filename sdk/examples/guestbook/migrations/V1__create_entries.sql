-- The entries. AUTOINCREMENT: an id is never reused, so a stale Delete form cannot hit a newer entry.
CREATE TABLE entry (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  message TEXT NOT NULL,
  time TEXT NOT NULL
);
