package tools

import (
	"sync/atomic"
	"time"
)

// CallObserver is told about every Tool.Call: the tool, its outcome ("ok", or the error's Kind, or "error" for an
// unclassified one) and how long it took. It is the metrics hook (internal/metrics); it must not block.
type CallObserver func(tool, outcome string, took time.Duration)

var callObserver atomic.Pointer[CallObserver]

// SetCallObserver installs fn for every tool call of the process (nil removes it).
func SetCallObserver(fn CallObserver) {
	if fn == nil {
		callObserver.Store(nil)
		return
	}
	callObserver.Store(&fn)
}

func observeCall(tool string, start time.Time, err *error) {
	p := callObserver.Load()
	if p == nil {
		return
	}
	outcome := "ok"
	if *err != nil {
		outcome = "error"
		if e, ok := AsError(*err); ok && e.Kind != "" {
			outcome = string(e.Kind)
		}
	}
	(*p)(tool, outcome, time.Since(start))
}
