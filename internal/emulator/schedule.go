package emulator

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // monitors name IANA time zones; do not depend on the host's zoneinfo
)

// cronSpec is a parsed monitor schedule: 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading
// seconds field, each a number, a range, a list, "*" or a step ("*/5", "1-30/2"). Month and weekday names are
// accepted. When both day fields are restricted a day matches either (classic cron).
type cronSpec struct {
	sec, min, hour, dom, month, dow uint64
	domAll, dowAll                  bool
}

var cronFields = []struct {
	lo, hi int
	names  map[string]int
}{
	{0, 59, nil}, // seconds
	{0, 59, nil},
	{0, 23, nil},
	{1, 31, nil},
	{1, 12, map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}},
	{0, 7, map[string]int{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}},
}

func parseCron(expr string) (*cronSpec, error) {
	fields := strings.Fields(expr)
	switch len(fields) {
	case 5:
		fields = append([]string{"0"}, fields...)
	case 6:
	default:
		return nil, fmt.Errorf("want 5 or 6 fields, got %d", len(fields))
	}
	var bits [6]uint64
	var all [6]bool
	for i, f := range fields {
		b, star, err := parseCronField(f, cronFields[i].lo, cronFields[i].hi, cronFields[i].names)
		if err != nil {
			return nil, fmt.Errorf("field %d %q: %w", i, f, err)
		}
		bits[i], all[i] = b, star
	}
	if bits[5]&(1<<7) != 0 { // 7 is Sunday too
		bits[5] |= 1
	}
	return &cronSpec{sec: bits[0], min: bits[1], hour: bits[2], dom: bits[3], month: bits[4], dow: bits[5], domAll: all[3], dowAll: all[5]}, nil
}

func parseCronField(f string, lo, hi int, names map[string]int) (uint64, bool, error) {
	var bits uint64
	star := false
	for _, part := range strings.Split(f, ",") {
		if part == "" {
			return 0, false, errors.New("empty list item")
		}
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 || n > hi-lo+1 {
				return 0, false, fmt.Errorf("bad step %q", stepStr)
			}
			step = n
		}
		var a, b int
		switch {
		case rng == "*" || rng == "?":
			a, b = lo, hi
			if !hasStep {
				star = true
			}
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err error
			if a, err = cronValue(x, names); err != nil {
				return 0, false, err
			}
			if b, err = cronValue(y, names); err != nil {
				return 0, false, err
			}
		default:
			n, err := cronValue(rng, names)
			if err != nil {
				return 0, false, err
			}
			a, b = n, n
			if hasStep {
				b = hi
			}
		}
		if a < lo || b > hi || a > b {
			return 0, false, fmt.Errorf("%d-%d outside %d-%d", a, b, lo, hi)
		}
		for v := a; v <= b; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, star, nil
}

func cronValue(s string, names map[string]int) (int, error) {
	if n, ok := names[strings.ToUpper(s)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return n, nil
}

func has(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }

func (s *cronSpec) dayMatches(t time.Time) bool {
	d, w := has(s.dom, t.Day()), has(s.dow, int(t.Weekday()))
	if s.domAll || s.dowAll {
		return d && w
	}
	return d || w
}

// next returns the first matching time strictly after t, evaluated in loc; zero if none within five years. It jumps
// field by field instead of ticking through seconds.
func (s *cronSpec) next(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc).Add(time.Second).Truncate(time.Second)
	limit := t.Year() + 5
wrap:
	if t.Year() > limit {
		return time.Time{}
	}
	for !has(s.month, int(t.Month())) {
		t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		if t.Month() == time.January {
			goto wrap
		}
	}
	for !s.dayMatches(t) {
		t = forward(t, time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc), 24*time.Hour)
		if t.Day() == 1 {
			goto wrap
		}
	}
	if h, ok := nextBit(s.hour, t.Hour(), 23); !ok {
		t = forward(t, time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc), 24*time.Hour)
		goto wrap
	} else if h != t.Hour() {
		t = forward(t, time.Date(t.Year(), t.Month(), t.Day(), h, 0, 0, 0, loc), time.Hour)
		goto wrap
	}
	if m, ok := nextBit(s.min, t.Minute(), 59); !ok {
		t = forward(t, time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc), time.Hour)
		goto wrap
	} else if m != t.Minute() {
		t = t.Truncate(time.Minute).Add(time.Duration(m-t.Minute()) * time.Minute)
		goto wrap
	}
	if sec, ok := nextBit(s.sec, t.Second(), 59); !ok {
		t = t.Truncate(time.Minute).Add(time.Minute)
		goto wrap
	} else {
		t = t.Add(time.Duration(sec-t.Second()) * time.Second)
	}
	return t
}

// nextBit returns the smallest set bit v with from <= v <= hi.
func nextBit(set uint64, from, hi int) (int, bool) {
	rest := set >> uint(from)
	if rest == 0 {
		return 0, false
	}
	v := from + bits.TrailingZeros64(rest)
	return v, v <= hi
}

// previous returns the latest matching time at or before t (searching back at most 8 days).
func (s *cronSpec) previous(t time.Time, loc *time.Location) time.Time {
	for _, back := range []time.Duration{time.Hour, 24 * time.Hour, 8 * 24 * time.Hour} {
		cand := s.next(t.Add(-back), loc)
		if cand.IsZero() || cand.After(t) {
			continue
		}
		for {
			n := s.next(cand, loc)
			if n.IsZero() || n.After(t) {
				return cand
			}
			cand = n
		}
	}
	return time.Time{}
}

// forward returns candidate, unless a daylight-saving jump made it land at or before t (wall-clock times that do
// not exist get normalised backwards); then it steps by the absolute duration instead, so next always advances.
func forward(t, candidate time.Time, step time.Duration) time.Time {
	if candidate.After(t) {
		return candidate
	}
	return t.Add(step).Truncate(time.Minute)
}

// minMonitorInterval is the shortest schedule the emulator accepts; like the vendor it rejects "* * * * *".
const minMonitorInterval = 5 * time.Minute

var (
	errCronTooFrequent = errors.New("runs more often than every 5 minutes")
	errBadTimezone     = errors.New("unknown time zone")
)

// parseSchedule validates a monitor schedule and returns the spec and its time zone.
func parseSchedule(cron, tz string) (*cronSpec, *time.Location, error) {
	spec, err := parseCron(cron)
	if err != nil {
		return nil, nil, err
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || strings.HasPrefix(tz, "/") || strings.Contains(tz, "..") {
		return nil, nil, fmt.Errorf("%w %q", errBadTimezone, tz)
	}
	ref := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	prev := spec.next(ref, loc)
	if prev.IsZero() {
		return nil, nil, errors.New("never fires")
	}
	for range 40 {
		n := spec.next(prev, loc)
		if n.IsZero() {
			break
		}
		if n.Sub(prev) < minMonitorInterval {
			return nil, nil, errCronTooFrequent
		}
		prev = n
	}
	return spec, loc, nil
}
