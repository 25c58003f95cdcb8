package tools

import (
	"fmt"
	"slices"
	"strings"
)

// Outcome is how a run ended, for exit codes and CI reports.
type Outcome int

const (
	// OutcomePassed: every request and assertion passed.
	OutcomePassed Outcome = iota
	// OutcomeFailed: the run completed and an assertion (or a request) failed.
	OutcomeFailed
	// OutcomeError: the run could not be completed (cancelled, timed out, a run-level error).
	OutcomeError
	// OutcomePending: the run is still going (an async handle).
	OutcomePending
)

// Verdict is implemented by the results of the tools that run tests, so the CLI can turn them into an exit code
// and a JUnit report.
type Verdict interface {
	Result
	Outcome() Outcome
	TestSuites() []TestSuite
}

// TestSuite is a group of test cases in a CI report (JUnit's testsuite).
type TestSuite struct {
	Name    string
	Seconds float64
	Cases   []TestCase
}

// TestCase is one check of a run: a passing case has neither Failure nor Error.
type TestCase struct {
	Name    string
	Seconds float64
	Failure string
	Error   string
	Skipped bool
}

var verdictTools = []string{"run_collection", "get_collection_run", "run_monitor"}

// ReportsVerdict says whether tool name returns a Verdict (its errors then mean "the run could not be done").
func ReportsVerdict(name string) bool { return slices.Contains(verdictTools, name) }

// Outcome of a collection run.
func (r CollectionRun) Outcome() Outcome {
	switch r.Status {
	case RunPassed:
		return OutcomePassed
	case RunFailed:
		return OutcomeFailed
	case RunQueued, RunRunning:
		return OutcomePending
	}
	return OutcomeError
}

// TestSuites lists one suite per executed request (per iteration when there are several), one case per
// assertion, and an error case for a request that could not be sent or whose script failed.
func (r CollectionRun) TestSuites() []TestSuite {
	var out []TestSuite
	multi := r.Totals != nil && r.Totals.Iterations > 1
	for _, x := range r.executions {
		name := x.Name
		if multi {
			name = fmt.Sprintf("%s [iteration %d]", x.Name, x.Iteration+1)
		}
		s := TestSuite{Name: name, Seconds: float64(x.Ms) / 1000}
		for _, a := range x.Assertions {
			s.Cases = append(s.Cases, TestCase{Name: a.Name, Failure: a.Error, Skipped: a.Skipped})
		}
		if len(x.Errors) > 0 {
			s.Cases = append(s.Cases, TestCase{Name: x.Method + " " + x.URL, Error: strings.Join(x.Errors, "\n")})
		} else if len(x.Assertions) == 0 {
			s.Cases = append(s.Cases, TestCase{Name: fmt.Sprintf("%s %s → %d", x.Method, x.URL, x.Code)})
		}
		out = append(out, s)
	}
	if r.Status == RunError || r.Status == RunCancelled {
		out = append(out, TestSuite{Name: r.Collection, Cases: []TestCase{{Name: "run", Error: r.Error}}})
	}
	return out
}

// Outcome of a monitor run.
func (r RunReport) Outcome() Outcome {
	switch {
	case r.Running:
		return OutcomePending
	case r.Passed:
		return OutcomePassed
	case r.Summary.FailedAssertions > 0 || r.Summary.FailedRequests > 0 || len(r.Failures) > 0:
		return OutcomeFailed
	case r.Summary.Status == "error" || r.Summary.Status == "aborted" || r.Summary.Errors > 0:
		return OutcomeError
	}
	return OutcomeFailed
}

// TestSuites reports a monitor run as one suite: a failing case per failing request and one case for the
// requests that passed (Postman's API does not list a monitor run's passing assertions one by one).
func (r RunReport) TestSuites() []TestSuite {
	s := TestSuite{Name: r.Monitor}
	for _, f := range r.Failures {
		name := f.Request
		if f.Method != "" {
			name = fmt.Sprintf("%s (%s %s)", f.Request, f.Method, f.URL)
		}
		s.Cases = append(s.Cases, TestCase{Name: name, Failure: strings.Join(f.Problems, "\n")})
	}
	if ok := r.Summary.Requests - r.Summary.FailedRequests; ok > 0 {
		s.Cases = append(s.Cases, TestCase{Name: fmt.Sprintf("%d of %d requests passed", ok, r.Summary.Requests)})
	}
	if r.Outcome() == OutcomeError && len(s.Cases) == 0 {
		s.Cases = append(s.Cases, TestCase{Name: "run", Error: "monitor run ended with status " + r.Summary.Status})
	}
	return []TestSuite{s}
}
