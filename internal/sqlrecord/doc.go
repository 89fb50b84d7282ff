// Package sqlrecord holds what the SQL backends (sqlite, postgres and
// mysql) do alike with a revoke.Record: the range of values an SQL row
// keeps exactly (times as int64 nanoseconds since 1970, sequence numbers as
// signed 64-bit integers), the checks of a revocation read back from a
// row, and the state every method of their Tx checks first (TxState). The
// SQL itself, whose dialects differ, stays in each backend.
package sqlrecord
