package measure

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteMarkdown renders results as one Markdown table, a row per server,
// followed by a line on methodology.
func WriteMarkdown(w io.Writer, results []Result) error {
	var b strings.Builder
	b.WriteString("| server | tools | tools/list bytes (framed) | initialize ms, median (min–max) | tools/list ms, median | peak RSS MiB, median (processes) | probe call ms, median |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %s (%s) | %s | %s | %s | %s |\n",
			escapeCell(r.Name),
			r.Tools,
			groupDigits(int64(r.ToolsListBytes)),
			groupDigits(int64(r.ToolsListMsgBytes)),
			durationSpread(r.InitTimes),
			ms(Median(r.ToolsListTimes)),
			rssCell(r),
			probeCell(r),
		)
	}
	fmt.Fprintf(&b, "\nEach server was started n times (see the initialize column) as a fresh process. initialize = spawn until the initialize "+
		"response line arrived; tools/list bytes = the JSON-RPC `result` member as sent, summed over pages (framed = whole response lines); peak RSS = VmHWM "+
		"summed over the server and its child processes, read after tools/list.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func durationSpread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	return fmt.Sprintf("%s (%s–%s, n=%d)", ms(Median(ds)), ms(slices.Min(ds)), ms(slices.Max(ds)), len(ds))
}

func rssCell(r Result) string {
	if len(r.PeakRSS) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f (%d)", float64(r.PeakRSSMedian())/(1<<20), r.PeakRSSProcs)
}

func probeCell(r Result) string {
	if r.ProbeTool == "" {
		return "–"
	}
	cell := fmt.Sprintf("%s: %s (n=%d)", r.ProbeTool, ms(Median(r.ProbeTimes)), len(r.ProbeTimes))
	if r.ProbeIsError {
		cell += " isError"
	}
	return escapeCell(cell)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}

// groupDigits writes 164656 as 164,656.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func escapeCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
