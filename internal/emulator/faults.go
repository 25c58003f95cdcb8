package emulator

import (
	"strings"
	"time"
)

// FaultKind is what an injected fault does to a request that passed auth and the rate limits (so it still counts
// against them, as a real server failure would).
type FaultKind int

const (
	FaultLatency        FaultKind = iota + 1 // only adds Fault.Latency, then serves normally
	FaultServerError                         // 500 {"error":{"name":"serverError",…}}
	FaultUnavailable                         // 503 with the legacy "503 service unavailable" body
	FaultDropConnection                      // hijack the connection and close it without a response
	FaultConflict                            // 409 problem+json "Deep update operation is already in progress…"
	FaultBadGateway                          // 502 with an HTML body, as a load balancer sends it
	FaultGatewayTimeout                      // 504 with an HTML body, as a load balancer sends it
	FaultHang                                // read the request, then never answer (the client times out)
	FaultDropAfterServe                      // carry the request out, then close the connection without the answer
)

// Fault describes one injected failure.
type Fault struct {
	Kind FaultKind
	// Route selects requests: "" for every request; an operation key such as "POST /monitors/{monitorId}/run"
	// (see Operations); a path pattern alone ("/monitors/{monitorId}") for any method; a trailing "*" makes
	// either a prefix ("GET /collections*", "/monitors*").
	Route   string
	Key     string        // only requests carrying this API key; "" for all keys
	Times   int           // how many requests it hits; 0 means until cleared
	Latency time.Duration // added before the fault's effect (any kind)
	// RetryAfter, when positive, is sent as a Retry-After header (whole seconds, rounded up) with a 502, 503 or
	// 504 fault.
	RetryAfter time.Duration
}

type faultEntry struct {
	id   int
	f    Fault
	left int
}

// SetFault installs f and returns an ID for ClearFault. Faults are checked in the order they were set; the first
// that matches a request applies.
func (e *Emulator) SetFault(f Fault) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faultSeq++
	e.faults = append(e.faults, &faultEntry{id: e.faultSeq, f: f, left: f.Times})
	return e.faultSeq
}

// ClearFault removes one fault.
func (e *Emulator) ClearFault(id int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, fe := range e.faults {
		if fe.id == id {
			e.faults = append(e.faults[:i], e.faults[i+1:]...)
			return
		}
	}
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

func faultMatches(pattern, op string) bool {
	if pattern == "" {
		return true
	}
	if op == "" {
		return false
	}
	_, path, _ := strings.Cut(op, " ")
	if prefix, isPrefix := strings.CutSuffix(pattern, "*"); isPrefix {
		return strings.HasPrefix(op, prefix) || strings.HasPrefix(path, prefix)
	}
	return pattern == op || pattern == path
}

// takeFaultLocked returns the fault that applies to this request, consuming one of its uses.
func (e *Emulator) takeFaultLocked(op, key string) *Fault {
	for i, fe := range e.faults {
		if (fe.f.Key != "" && fe.f.Key != key) || !faultMatches(fe.f.Route, op) {
			continue
		}
		f := fe.f
		if fe.f.Times > 0 {
			fe.left--
			if fe.left <= 0 {
				e.faults = append(e.faults[:i], e.faults[i+1:]...)
			}
		}
		return &f
	}
	return nil
}
