package mcpproc

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

func TestParseVmHWM(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"typical", "Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  148612 kB\nVmRSS:\t 140000 kB\n", 148612 * 1024, false},
		{"zero", "VmHWM:\t0 kB\n", 0, false},
		{"missing (kernel thread)", "Name:\tkthreadd\nState:\tS\n", 0, true},
		{"no unit", "VmHWM:\t12\n", 0, true},
		{"other unit", "VmHWM:\t12 MB\n", 0, true},
		{"negative", "VmHWM:\t-12 kB\n", 0, true},
		{"not a number", "VmHWM:\tlots kB\n", 0, true},
		{"absurd", "VmHWM:\t99999999999999999 kB\n", 0, true},
		{"prefix name is not VmHWM", "VmHWMx:\t12 kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmHWM([]byte(tt.status))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseStatPPID(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    int
		wantErr bool
	}{
		{"plain", "1234 (node) S 99 1234 1234 0 -1", 99, false},
		{"name with spaces and parens", "1234 (my ) (srv) R 42 1 1", 42, false},
		{"init", "1 (systemd) S 0 1 1", 0, false},
		{"no parens", "1234 node S 99", 0, true},
		{"truncated", "1234 (node) S", 0, true},
		{"bad ppid", "1234 (node) S x 1", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatPPID([]byte(tt.stat))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

// writeProc fakes /proc/<pid>/{stat,status}; hwmKB < 0 omits VmHWM.
func writeProc(t *testing.T, root string, pid, ppid int, name string, hwmKB int) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stat := strconv.Itoa(pid) + " (" + name + ") S " + strconv.Itoa(ppid) + " 1 1 0 -1\n"
	status := "Name:\t" + name + "\n"
	if hwmKB >= 0 {
		status += "VmHWM:\t" + strconv.Itoa(hwmKB) + " kB\n"
	}
	for file, body := range map[string]string{"stat": stat, "status": status} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTreePeakRSS(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, 1, 0, "init", 5000)
	writeProc(t, root, 100, 1, "sh wrapper", 1000)      // the server
	writeProc(t, root, 101, 100, "node", 140000)        // its child
	writeProc(t, root, 102, 101, "esbuild) S 1 (x", 10) // grandchild, hostile name
	writeProc(t, root, 103, 100, "zombie", -1)          // no memory lines: skipped
	writeProc(t, root, 200, 1, "unrelated", 999999)
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}

	total, pids, err := TreePeakRSS(root, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(1000+140000+10) * 1024; total != want {
		t.Errorf("total = %d, want %d", total, want)
	}
	if !reflect.DeepEqual(pids, []int{100, 101, 102}) {
		t.Errorf("pids = %v", pids)
	}
	if _, _, err := TreePeakRSS(root, 555); err == nil {
		t.Error("missing root pid: want error")
	}
}

func FuzzParseVmHWM(f *testing.F) {
	for _, s := range []string{"VmHWM:\t  148612 kB\n", "Name:\tx\n", "VmHWM:\n", "VmHWM: 1 kB 2\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, status []byte) {
		n, err := parseVmHWM(status)
		if err == nil && n < 0 {
			t.Fatalf("negative size %d from %q", n, status)
		}
	})
}

func FuzzParseStatPPID(f *testing.F) {
	for _, s := range []string{"1234 (node) S 99 1234", "1 (a)) ) R 0", "(", ")", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stat []byte) {
		n, err := parseStatPPID(stat)
		if err == nil && n < 0 {
			t.Fatalf("negative ppid %d from %q", n, stat)
		}
	})
}
