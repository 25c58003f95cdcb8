package app

import "github.com/pmops/pmops/internal/tools"

// SetRunHistory gives every tool environment handed out from now on the notifier's run history, and makes every
// run a tool starts (run_monitor) known to observe. Call it before the first Env.
func (b *Backend) SetRunHistory(h tools.RunHistory, observe func(tools.ObservedRun)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.history = h
	for _, e := range b.clients {
		if e.env != nil {
			e.env.History = h
		}
	}
	if observe != nil {
		b.runs.SetObserver(observe)
	}
}
