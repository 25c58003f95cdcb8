package cli

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pmops/pmops/internal/tools"
)

// JUnit XML as GitHub Actions test reporters, GitLab and Jenkins read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes suites as a JUnit XML document named name.
func WriteJUnit(w io.Writer, name string, suites []tools.TestSuite) error {
	doc := junitSuites{Name: name}
	var total float64
	for _, s := range suites {
		js := junitSuite{Name: s.Name, Time: secs(s.Seconds)}
		for _, c := range s.Cases {
			jc := junitCase{Name: c.Name, ClassName: s.Name, Time: secs(c.Seconds)}
			switch {
			case c.Error != "":
				jc.Error = &junitProblem{Message: firstLine(c.Error), Text: c.Error}
				js.Errors++
			case c.Failure != "":
				jc.Failure = &junitProblem{Message: firstLine(c.Failure), Text: c.Failure}
				js.Failures++
			case c.Skipped:
				jc.Skipped = &struct{}{}
				js.Skipped++
			}
			js.Cases = append(js.Cases, jc)
		}
		js.Tests = len(js.Cases)
		doc.Tests += js.Tests
		doc.Failures += js.Failures
		doc.Errors += js.Errors
		total += s.Seconds
		doc.Suites = append(doc.Suites, js)
	}
	doc.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// writeJUnitFile reports a run tool's call: its suites, or one errored case when the call failed.
func writeJUnitFile(path, tool string, res tools.Result, callErr error) error {
	var suites []tools.TestSuite
	if v, ok := res.(tools.Verdict); ok && callErr == nil {
		suites = v.TestSuites()
	} else {
		msg := "no result"
		if callErr != nil {
			msg = callErr.Error()
		}
		suites = []tools.TestSuite{{Name: tool, Cases: []tools.TestCase{{Name: tool, Error: msg}}}}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".junit-*.xml")
	if err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := WriteJUnit(tmp, "pmops "+tool, suites); err != nil {
		tmp.Close()
		return fmt.Errorf("write JUnit report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write JUnit report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write JUnit report %s: %w", path, err)
	}
	return nil
}

func secs(s float64) string { return fmt.Sprintf("%.3f", s) }

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
