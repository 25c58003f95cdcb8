// Package sqlitestore is internal/store's SQLite backend: the Store and NotifyStore contracts on one database file
// (pure Go, modernc.org/sqlite, no server), the Slack bot's default. It is its own package, not part of
// internal/store, so that binaries that never open SQLite (cmd/mcp: stdio, HTTP, Redis) do not link it: the SQLite
// library's package initialisation cost every start of them about 1.5 ms. Its contract tests run from
// internal/store (sqlite_contract_test.go) with the same suites as Memory and Redis.
package sqlitestore
