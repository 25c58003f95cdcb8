package cli

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/tools"
)

func TestExitCode(t *testing.T) {
	runWith := func(status string) tools.Result { return tools.CollectionRun{Status: status} }
	for _, tc := range []struct {
		tool string
		res  tools.Result
		err  error
		want int
	}{
		{"run_collection", runWith(tools.RunPassed), nil, 0},
		{"run_collection", runWith(tools.RunFailed), nil, 1},
		{"run_collection", runWith(tools.RunError), nil, 2},
		{"run_collection", runWith(tools.RunCancelled), nil, 2},
		{"run_collection", runWith(tools.RunRunning), nil, 2},
		{"run_collection", nil, errors.New("bad"), 2},
		{"get_collection_run", runWith(tools.RunFailed), nil, 1},
		{"run_monitor", tools.RunReport{Passed: true}, nil, 0},
		{"run_monitor", tools.RunReport{Summary: tools.RunSummary{Status: "failed", FailedAssertions: 2}}, nil, 1},
		{"run_monitor", tools.RunReport{Summary: tools.RunSummary{Status: "error", Errors: 1}}, nil, 2},
		{"run_monitor", tools.RunReport{Running: true}, nil, 2},
		{"get_monitor", tools.MonitorView{}, nil, 0},
		{"get_monitor", nil, errors.New("bad"), 1},
	} {
		if got := ExitCode(tc.tool, tc.res, tc.err); got != tc.want {
			t.Errorf("ExitCode(%s, %+v, %v) = %d, want %d", tc.tool, tc.res, tc.err, got, tc.want)
		}
	}
}

func TestFileArguments(t *testing.T) {
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "rows.csv")
	jsonFile := filepath.Join(dir, "rows.json")
	txtFile := filepath.Join(dir, "note.txt")
	for p, body := range map[string]string{csvFile: "id,name\n1,a\n2,\"b, c\"\n", jsonFile: `[{"id":1}]`, txtFile: "plain text\n"} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ParseArgs([]string{"data@=" + csvFile, "rows@=" + jsonFile, "note@=" + txtFile})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"data":[{"id":"1","name":"a"},{"id":"2","name":"b, c"}],"note":"plain text\n","rows":[{"id":1}]}`
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if _, err := ParseArgs([]string{"data@=" + filepath.Join(dir, "missing.csv")}); err == nil || !strings.Contains(err.Error(), "argument data") {
		t.Errorf("missing file: %v", err)
	}
}

func TestWriteJUnit(t *testing.T) {
	var buf bytes.Buffer
	suites := []tools.TestSuite{
		{Name: "Create payment", Seconds: 0.12, Cases: []tools.TestCase{{Name: "status is 201", Failure: "expected 500 to equal 201\nmore"}, {Name: "has id"}}},
		{Name: "Refund", Cases: []tools.TestCase{{Name: "POST http://x/refund", Error: "ECONNREFUSED"}, {Name: "skipped one", Skipped: true}}},
	}
	if err := WriteJUnit(&buf, "pmops run_collection", suites); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if doc.Tests != 4 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 2 {
		t.Errorf("counts %+v\n%s", doc, buf.String())
	}
	if f := doc.Suites[0].Cases[0].Failure; f == nil || f.Message != "expected 500 to equal 201" {
		t.Errorf("failure %+v", f)
	}
	if doc.Suites[1].Cases[1].Skipped == nil {
		t.Error("skipped case not marked")
	}
}

// TestJUnitOnlyForRuns: -junit with a tool that runs nothing is refused before anything is called.
func TestJUnitOnlyForRuns(t *testing.T) {
	_, err := Call(t.Context(), &tools.Env{}, "get_monitor", nil, &bytes.Buffer{}, Options{JUnit: filepath.Join(t.TempDir(), "j.xml")})
	if err == nil || !strings.Contains(err.Error(), "-junit applies to") {
		t.Errorf("err %v", err)
	}
}
