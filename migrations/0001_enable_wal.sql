-- WAL lets readers proceed while one writer commits and makes each commit
-- cheaper (~0.3 ms instead of ~1 ms here). The setting is stored in the
-- database file, so it holds for every later connection.
PRAGMA journal_mode = WAL;
