package store

// The SQLite backend lives in internal/sqlitestore (so cmd/mcp does not link SQLite); its contract runs from
// sqlite_contract_test.go (package store_test), through these.
var (
	StoreContract  = testStore
	NotifyContract = testNotifyStore
	BenchTake      = benchTakeAction
)
