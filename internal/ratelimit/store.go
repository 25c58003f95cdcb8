package ratelimit

import (
	"context"
	"time"
)

// WindowStore shares the count of one server window between the processes that use the same API key, so k
// replicas together never send more than the window allows. A nil store means this process is alone.
//
// Add atomically adds n (negative to give back requests that were not sent) to the counter named windowKey,
// creating it with the given ttl if it does not exist, and returns the new total. Keys name one window of one
// key ("<prefix>:<hash of the API key>:<window end, epoch seconds>"), so they expire on their own. In Redis:
// INCRBY key n, then EXPIRE key ttl NX, in one MULTI or Lua script.
//
// When Add fails the gate does not fail open: until the store answers again (it retries one window later) each
// process keeps to Limit/Options.StoreReplicas of every window.
type WindowStore interface {
	Add(ctx context.Context, windowKey string, n int, ttl time.Duration) (count int, err error)
}
