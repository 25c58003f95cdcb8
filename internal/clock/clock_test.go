package clock

import (
	"testing"
	"time"
)

func TestFakeMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f := NewFake(start)
	if !f.Now().Equal(start) {
		t.Fatal("fake clock moved by itself")
	}
	f.Advance(90 * time.Second)
	if got := f.Now(); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("after Advance: %v", got)
	}
	f.Set(start)
	if !f.Now().Equal(start) {
		t.Fatal("Set did not set")
	}
	if _, ok := Or(nil).(Real); !ok {
		t.Fatal("Or(nil) is not the real clock")
	}
	if Or(f) != Clock(f) {
		t.Fatal("Or replaced a given clock")
	}
}
