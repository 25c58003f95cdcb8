package store

import "testing"

func TestMemoryContract(t *testing.T) {
	testStore(t, func(*testing.T) Store { return NewMemory() })
}
