package mcpproc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// TreePeakRSS sums VmHWM over pid and its live descendants, read from the
// proc filesystem mounted at procRoot. Summing counts pages shared between
// processes more than once, which is the usual "memory of a server and its
// helpers" figure and errs on the side of a larger number.
func TreePeakRSS(procRoot string, pid int) (total int64, pids []int, err error) {
	pids, err = descendants(procRoot, pid)
	if err != nil {
		return 0, nil, err
	}
	var counted []int
	for _, p := range pids {
		status, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(p), "status"))
		if err != nil {
			if p == pid {
				return 0, nil, fmt.Errorf("read status of pid %d: %w", pid, err)
			}
			continue // a child exited meanwhile
		}
		hwm, err := parseVmHWM(status)
		if err != nil {
			if p == pid {
				return 0, nil, fmt.Errorf("pid %d: %w", pid, err)
			}
			continue // zombie or kernel thread: no memory lines
		}
		total += hwm
		counted = append(counted, p)
	}
	return total, counted, nil
}

// descendants returns pid followed by all its descendants, found through the
// parent pid in /proc/<n>/stat.
func descendants(procRoot string, pid int) ([]int, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", procRoot, err)
	}
	children := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "stat"))
		if err != nil {
			continue
		}
		ppid, err := parseStatPPID(stat)
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], n)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		kids := children[out[i]]
		slices.Sort(kids)
		for _, k := range kids {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out, nil
}

// parseVmHWM returns the VmHWM line of /proc/<pid>/status in bytes.
func parseVmHWM(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != "VmHWM" {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("unexpected VmHWM value %q", fields[0])
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmHWM line in status")
}

// parseStatPPID returns field 4 (ppid) of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may itself contain spaces and ')', so the
// fields are counted from the last ')'.
func parseStatPPID(stat []byte) (int, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("stat: no ')' after command name")
	}
	fields := strings.Fields(string(stat[end+1:]))
	if len(fields) < 2 {
		return 0, errors.New("stat: too few fields")
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil || ppid < 0 {
		return 0, fmt.Errorf("stat: bad ppid %q", fields[1])
	}
	return ppid, nil
}
