package slackrender

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/pmops/pmops/internal/tools"
)

// DefaultWebURL is the Postman web app root used when Options.WebURL is empty.
const DefaultWebURL = "https://go.postman.co"

// Render turns a tool result into a message. Results of types it does not know are shown as their escaped Text().
func Render(res tools.Result, opts Options) Message {
	res = deref(res)
	if res == nil {
		return Text("Nothing to show.")
	}
	d := renderDoc(res, web(opts.WebURL), opts)
	d.share = true
	return d.render(opts, plainDoc(res))
}

func deref(res tools.Result) tools.Result {
	v := reflect.ValueOf(res)
	if !v.IsValid() {
		return nil
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		if r, ok := v.Elem().Interface().(tools.Result); ok {
			return r
		}
	}
	return res
}

func renderDoc(res tools.Result, w webRoot, opts Options) *doc {
	switch r := res.(type) {
	case tools.Account:
		return account(r)
	case tools.WorkspaceList:
		return workspaceList(r, w, opts)
	case tools.WorkspaceDetail:
		return workspaceDetail(r, w)
	case tools.CollectionList:
		return collectionList(r, w, opts)
	case tools.CollectionView:
		return collectionView(r, w, opts)
	case tools.EnvironmentList:
		return environmentList(r, w, opts)
	case tools.EnvironmentView:
		return environmentView(r, w)
	case tools.EnvDiff:
		return envDiff(r, w)
	case tools.MonitorList:
		return monitorList(r, w, opts)
	case tools.MonitorView:
		return monitorView(r, w, opts)
	case tools.RunReport:
		return runReport(r, w)
	case tools.MockList:
		return mockList(r, w, opts)
	case tools.MockRow:
		return mockRow(r, w, opts)
	case tools.Change:
		return change(r, w)
	case tools.MonitorHistory:
		return historyDoc(r, w)
	}
	return plainDoc(res)
}

// plainDoc shows any result as its compact text.
func plainDoc(res tools.Result) *doc {
	text := res.Text()
	d := &doc{summary: firstLine(text), title: firstLine(text)}
	d.add(textBlocks("", text)...)
	if len(d.body) == 0 {
		d.add(sectionBlock("_(nothing to show)_"))
	}
	return d
}

// webRoot builds the best-effort "View in Postman" deep links.
type webRoot string

func web(base string) webRoot {
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	if base == "" {
		base = DefaultWebURL
	}
	if !safeURL(base) {
		return ""
	}
	return webRoot(base)
}

// url is <web>/<kind>/<id>, or "" when there is no usable root or id.
func (w webRoot) url(kind, id string) string {
	id = strings.TrimSpace(id)
	if w == "" || id == "" {
		return ""
	}
	return string(w) + "/" + kind + "/" + url.PathEscape(id)
}

// named is a name linked to its page in Postman when there is one, else the name in bold.
func named(u, name string) string {
	name = clip(nonEmpty(oneLine(name), "(unnamed)"), 200)
	if u == "" {
		return bold(name)
	}
	return link(u, name)
}

// nameOf shows a referenced resource by name, linked to its page: the name from names when the bot knew it,
// else "(unknown <kind>)", never a bare UID.
func nameOf(w webRoot, kind, id string, names map[string]string) string {
	name := names[id]
	if name == "" {
		name = "(unknown " + kind + ")"
	}
	return named(w.url(kind, id), name)
}

// forkNames adds the names of a collection list's own items to names (a fork's source is often listed too).
func forkNames(l tools.CollectionList, names map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range names {
		out[k] = v
	}
	for _, c := range l.Items {
		out[c.UID] = c.Name
	}
	return out
}

func viewIn(u string) string {
	if u == "" {
		return ""
	}
	return "🔗 " + link(u, "View in Postman")
}

// runEmoji is a run status at a glance.
func runEmoji(status string) string {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "success", "passed", "ok":
		return "✅"
	case "failed", "failure", "error", "aborted", "cancelled", "canceled":
		return "❌"
	case "running", "queued", "pending", "in_progress", "in progress", "started":
		return "⏳"
	case "":
		return "⚪"
	}
	return "❔"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// listTail adds a list's count and, when the tool has more, the way to the next page.
func listTail(d *doc, shown, total int, cursor string, opts Options) {
	more := cursor != ""
	if more || (total > shown && total > 0) {
		count := fmt.Sprintf("Showing %d", shown)
		if total > 0 {
			count += fmt.Sprintf(" of %d", total)
		}
		d.note(count)
	}
	if !more {
		return
	}
	if opts.NextPage != nil {
		if a, ok := opts.NextPage(cursor); ok {
			d.next = &a
			return
		}
	}
	d.note("More exist than shown here; narrow the question (for example to one workspace) to see them.")
}

func account(a tools.Account) *doc {
	if a.Quota != nil {
		return quotaSpent(a)
	}
	name := nonEmpty(oneLine(a.FullName), a.Username)
	d := &doc{summary: fmt.Sprintf("Postman account: %s (@%s)", name, a.Username), title: name}
	d.addHead(headerBlock("👤 " + nonEmpty(name, "Postman account")))
	fields := []field{{"Username", escape(clip("@"+oneLine(a.Username), fieldValueMax))}, {"User ID", strconv.FormatInt(a.UserID, 10)}}
	if a.TeamName != "" || a.TeamID != 0 {
		fields = append(fields, field{"Team", escape(flat(a.TeamName, fieldValueMax)) + " (" + strconv.FormatInt(a.TeamID, 10) + ")"})
	}
	if len(a.Roles) > 0 {
		fields = append(fields, field{"Roles", escape(clip(strings.Join(a.Roles, ", "), fieldValueMax))})
	}
	d.addHead(fieldBlocks(fields)...)
	var lines []string
	if u := a.APICalls; u != nil {
		pct := 0.0
		if u.Limit > 0 {
			pct = 100 * u.Used / u.Limit
		}
		icon := "✅"
		switch {
		case pct >= 100 || (a.Rate != nil && a.Rate.QuotaExhausted):
			icon = "🚫"
		case pct >= 80:
			icon = "⚠️"
		}
		line := fmt.Sprintf("%s *API calls this month:* %.0f of %.0f (%.1f%%)", icon, u.Used, u.Limit, pct)
		if u.Overage > 0 {
			line += fmt.Sprintf(", overage %.0f", u.Overage)
		}
		lines = append(lines, line)
	}
	if r := a.Rate; r != nil {
		line := fmt.Sprintf("⏱️ *Rate window:* %d of %d calls left per %ds", r.Remaining, r.Limit, r.WindowSeconds)
		if r.ResetAt != "" {
			line += ", resets " + dateOf(r.ResetAt)
		}
		line += fmt.Sprintf("; %d queued; %s so far", r.Queued, plural(int(r.Count429), "rate-limit refusal (429)", "rate-limit refusals (429)"))
		lines = append(lines, line)
		if r.MonthRemaining > 0 {
			lines = append(lines, fmt.Sprintf("📊 *Left this month:* %d calls", r.MonthRemaining))
		}
		if r.QuotaExhausted {
			lines = append(lines, "🚫 *Monthly quota exhausted:* no Postman API call will succeed until it resets at the start of next month or an admin raises the limit.")
		}
	}
	d.add(lineBlocks(lines)...)
	return d
}

func workspaceList(l tools.WorkspaceList, w webRoot, opts Options) *doc {
	d := &doc{summary: "Workspaces: " + plural(len(l.Items), "workspace", "workspaces"), title: "Workspaces"}
	d.addHead(headerBlock("🗂️ Workspaces"))
	var lines []string
	for _, x := range l.Items {
		line := "• " + named(w.url("workspace", x.ID), x.Name)
		if x.Type != "" {
			line += " · " + escape(flat(x.Type, 40))
		}
		if x.Visibility != "" && !strings.EqualFold(x.Visibility, x.Type) {
			line += " · " + escape(flat(x.Visibility, 40))
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "_No workspaces._")
	}
	d.add(lineBlocks(lines)...)
	listTail(d, len(l.Items), l.Total, l.NextCursor, opts)
	return d
}

func workspaceDetail(x tools.WorkspaceDetail, w webRoot) *doc {
	name := nonEmpty(oneLine(x.Name), "Workspace")
	d := &doc{summary: fmt.Sprintf("Workspace %s: %s, %s, %s, %s", name,
		plural(len(x.Collections), "collection", "collections"), plural(len(x.Environments), "environment", "environments"),
		plural(len(x.Monitors), "monitor", "monitors"), plural(len(x.Mocks), "mock", "mocks")), title: name}
	d.addHead(headerBlock("🗂️ " + name))
	fields := []field{{"Type", escape(flat(x.Type, fieldValueMax))}}
	if x.Visibility != "" {
		fields = append(fields, field{"Visibility", escape(flat(x.Visibility, fieldValueMax))})
	}
	fields = append(fields,
		field{"Collections", strconv.Itoa(len(x.Collections))}, field{"Environments", strconv.Itoa(len(x.Environments))},
		field{"Monitors", strconv.Itoa(len(x.Monitors))}, field{"Mocks", strconv.Itoa(len(x.Mocks))})
	d.addHead(fieldBlocks(fields)...)
	if strings.TrimSpace(x.Description) != "" {
		d.addHead(textBlocks("", clip(x.Description, 1000))...)
	}
	for _, g := range []struct {
		title, kind string
		els         []tools.Element
	}{{"Collections", "collection", x.Collections}, {"Environments", "environment", x.Environments},
		{"Monitors", "monitor", x.Monitors}, {"Mocks", "", x.Mocks}} {
		if len(g.els) == 0 {
			d.add(sectionBlock(fmt.Sprintf("*%s:* none", g.title)))
			continue
		}
		lines := []string{fmt.Sprintf("*%s* (%d)", g.title, len(g.els))}
		for _, e := range g.els {
			u := ""
			if g.kind != "" {
				u = w.url(g.kind, e.UID)
			}
			lines = append(lines, "• "+named(u, e.Name))
		}
		d.add(lineBlocks(lines)...)
	}
	d.note(viewIn(w.url("workspace", x.ID)), "ID "+code(clip(x.ID, 100)))
	return d
}

func collectionList(l tools.CollectionList, w webRoot, opts Options) *doc {
	d := &doc{summary: "Collections: " + plural(len(l.Items), "collection", "collections"), title: "Collections"}
	d.addHead(headerBlock("📚 Collections"))
	var lines []string
	for _, c := range l.Items {
		line := "• " + named(w.url("collection", c.UID), c.Name)
		if c.UpdatedAt != "" {
			line += " · updated " + dateOf(c.UpdatedAt)
		}
		if c.ForkOf != "" {
			line += " · fork of " + nameOf(w, "collection", c.ForkOf, forkNames(l, opts.Names))
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "_No collections._")
	}
	d.add(lineBlocks(lines)...)
	listTail(d, len(l.Items), l.Total, l.NextCursor, opts)
	return d
}

func collectionView(v tools.CollectionView, w webRoot, opts Options) *doc {
	name := nonEmpty(oneLine(v.Name), "Collection")
	u := w.url("collection", v.UID)
	counts := plural(v.Requests, "request", "requests") + ", " + plural(v.Folders, "folder", "folders")
	if r := v.Request; r != nil {
		return requestView(name, u, r)
	}
	d := &doc{summary: fmt.Sprintf("Collection %s: %s", name, counts), title: name}
	d.addHead(headerBlock("📚 " + name))
	d.addHead(contextBlock(counts))
	if strings.TrimSpace(v.Description) != "" {
		d.addHead(textBlocks("", clip(v.Description, 1000))...)
	}
	var lines []string
	for _, row := range v.Items {
		depth := 0
		if row.Path != "" {
			depth = strings.Count(row.Path, "/") + 1
		}
		indent := strings.Repeat("\u2003", min(depth, 10))
		switch {
		case row.Folder && row.Requests > 0:
			lines = append(lines, fmt.Sprintf("%s📁 %s _(%s, not expanded)_", indent, bold(clip(row.Name, 200)), plural(row.Requests, "request", "requests")))
		case row.Folder:
			lines = append(lines, indent+"📁 "+bold(clip(row.Name, 200)))
		default:
			line := indent + code(clip(nonEmpty(row.Method, "GET"), 10)) + " " + escape(clip(nonEmpty(oneLine(row.Name), "(unnamed)"), 200))
			if row.URL != "" {
				line += " — " + code(clip(row.URL, 300))
			}
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		lines = append(lines, "_This collection has no requests._")
	}
	d.add(lineBlocks(lines)...)
	d.note(viewIn(u))
	listTail(d, len(v.Items), 0, v.NextCursor, opts)
	return d
}

func requestView(collection, u string, r *tools.RequestDetail) *doc {
	path := nonEmpty(oneLine(r.Path), "request")
	method := nonEmpty(oneLine(r.Method), "GET")
	d := &doc{summary: fmt.Sprintf("%s %s in %s", method, path, collection), title: path}
	d.addHead(headerBlock("📄 " + path))
	d.addHead(sectionBlock(code(clip(method, 10)) + " " + code(clip(r.URL, 2000))))
	d.addHead(contextBlock("in collection " + named(u, collection)))
	var facts []field
	if r.Auth != "" {
		facts = append(facts, field{"Auth", escape(flat(r.Auth, fieldValueMax))})
	}
	if r.BodyMode != "" {
		facts = append(facts, field{"Body", escape(flat(r.BodyMode, fieldValueMax))})
	}
	d.add(fieldBlocks(facts)...)
	if len(r.Headers) > 0 {
		lines := make([]string, 0, len(r.Headers))
		for _, h := range r.Headers {
			lines = append(lines, maskHeader(h))
		}
		d.add(codeBlocks("*Headers*", strings.Join(lines, "\n"))...)
	}
	if r.Body != "" {
		d.add(codeBlocks("*Body*", r.Body)...)
	}
	if strings.TrimSpace(r.Description) != "" {
		d.add(textBlocks("*Description*\n", r.Description)...)
	}
	if len(r.Tests) > 0 {
		d.add(codeBlocks("*Tests*", strings.Join(r.Tests, "\n"))...)
	}
	d.note(viewIn(u))
	return d
}

// maskHeader masks a "Key: value" header line whose key says it carries a secret, unless the value is only a
// {{variable}} reference (the tool layer does the same; this is the second line of defense).
func maskHeader(h string) string {
	key, value, ok := strings.Cut(h, ": ")
	if !ok || !looksSecret(key, "", false) {
		return h
	}
	suffix := ""
	if v, found := strings.CutSuffix(value, " (disabled)"); found {
		value, suffix = v, " (disabled)"
	}
	if value == masked || isTemplate(value) {
		return h
	}
	return key + ": " + masked + suffix
}

func environmentList(l tools.EnvironmentList, w webRoot, opts Options) *doc {
	d := &doc{summary: "Environments: " + plural(len(l.Items), "environment", "environments"), title: "Environments"}
	d.addHead(headerBlock("🌐 Environments"))
	var lines []string
	for _, e := range l.Items {
		line := "• " + named(w.url("environment", e.UID), e.Name)
		if e.UpdatedAt != "" && e.UpdatedAt != "-" {
			line += " · updated " + dateOf(e.UpdatedAt)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "_No environments._")
	}
	d.add(lineBlocks(lines)...)
	listTail(d, len(l.Items), l.Total, l.NextCursor, opts)
	return d
}

// shownValue is a variable's value as Slack may show it: masked when it is or may be a secret.
func shownValue(key, typ, value string, maskedByTool bool) string {
	if value == masked || looksSecret(key, typ, maskedByTool) {
		return masked + " 🔒"
	}
	if value == "" {
		return "_(empty)_"
	}
	return code(clip(value, 500))
}

func environmentView(v tools.EnvironmentView, w webRoot) *doc {
	name := nonEmpty(oneLine(v.Name), "Environment")
	total := len(v.Variables) + v.Truncated
	d := &doc{summary: fmt.Sprintf("Environment %s: %s", name, plural(total, "variable", "variables")), title: name}
	d.addHead(headerBlock("🌐 " + name))
	info := plural(total, "variable", "variables")
	if v.UpdatedAt != "" && v.UpdatedAt != "-" {
		info += " · updated " + dateOf(v.UpdatedAt)
	}
	d.addHead(contextBlock(info, "secret values are always masked in Slack"))
	var lines []string
	for _, x := range v.Variables {
		line := "• " + code(clip(x.Key, 200)) + " = " + shownValue(x.Key, x.Type, x.Value, x.Masked)
		if strings.EqualFold(x.Type, "secret") {
			line += " _secret_"
		}
		if !x.Enabled {
			line += " _(disabled)_"
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "_No variables._")
	}
	d.add(lineBlocks(lines)...)
	if v.Truncated > 0 {
		d.note(fmt.Sprintf("… %s not shown; ask for one with %s", plural(v.Truncated, "more variable", "more variables"),
			code("/postman env get <env> <key>")))
	}
	d.note(viewIn(w.url("environment", v.UID)))
	return d
}

func envDiff(x tools.EnvDiff, w webRoot) *doc {
	name := nonEmpty(oneLine(x.Environment), "environment")
	counts := map[string]int{}
	var lines []string
	val := func(key, v string) string {
		if v == "" {
			return "_(empty)_"
		}
		return shownValue(key, "", v, false)
	}
	for _, c := range x.Changes {
		counts[c.Action]++
		key := code(clip(c.Key, 200))
		switch c.Action {
		case "add":
			lines = append(lines, "➕ "+key+" = "+val(c.Key, c.New))
		case "change":
			lines = append(lines, "✏️ "+key+": "+val(c.Key, c.Old)+" → "+val(c.Key, c.New))
		case "remove":
			lines = append(lines, "➖ "+key+" (was "+val(c.Key, c.Old)+")")
		default:
			lines = append(lines, "▫️ "+key+" unchanged")
		}
	}
	var parts []string
	for _, k := range []struct{ action, word string }{{"add", "added"}, {"change", "changed"}, {"remove", "removed"}, {"unchanged", "unchanged"}} {
		if n := counts[k.action]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k.word))
		}
	}
	if n := len(x.Changes) - counts["add"] - counts["change"] - counts["remove"] - counts["unchanged"]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d unchanged", n))
	}
	tally := nonEmpty(strings.Join(parts, ", "), "no changes")
	d := &doc{title: name}
	if x.Applied {
		d.summary = fmt.Sprintf("✅ Updated %s: %s", name, tally)
		d.addHead(headerBlock("✅ Updated " + name))
	} else {
		d.summary = fmt.Sprintf("📝 Dry run, nothing changed in %s: %s", name, tally)
		d.addHead(headerBlock("📝 Dry run: nothing changed in " + name))
	}
	d.addHead(contextBlock(escape(tally), "secret values are masked"))
	if len(lines) == 0 {
		lines = append(lines, "_No changes._")
	}
	d.add(lineBlocks(lines)...)
	d.note(viewIn(w.url("environment", x.UID)))
	return d
}

func monitorList(l tools.MonitorList, w webRoot, opts Options) *doc {
	// Every monitor lands in exactly one group, so the tally adds up to the number listed.
	var passing, failing, paused, unknown int
	var lines []string
	for _, m := range l.Items {
		icon := runEmoji(m.LastRun)
		switch {
		case !m.Active:
			paused++
		case icon == "✅":
			passing++
		case icon == "❌":
			failing++
		default:
			unknown++
		}
		if m.LastRun == "" && m.Error != "" {
			icon = "⚠️"
		}
		line := icon + " " + named(w.url("monitor", m.UID), m.Name)
		if !m.Active {
			line += " · ⏸️ paused"
		}
		if m.LastRun != "" {
			line += " · last run " + escape(flat(m.LastRun, 40))
			if m.LastRunAt != "" && m.LastRunAt != "-" {
				line += " " + dateOf(m.LastRunAt)
			}
		} else if m.Error == "" {
			line += " · no run yet"
		}
		if m.Failed != "" {
			line += " · " + escape(flat(m.Failed, 200))
		}
		if m.Error != "" {
			line += " · status unavailable: " + escape(flat(SlackWords(m.Error), 200))
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "_No monitors._")
	}
	parts := []string{fmt.Sprintf("%d passing", passing), fmt.Sprintf("%d failing", failing)}
	if unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d not run or unknown", unknown))
	}
	parts = append(parts, fmt.Sprintf("%d paused", paused))
	tally := strings.Join(parts, ", ")
	if n := len(l.Items); n > 0 {
		tally = plural(n, "monitor", "monitors") + ": " + tally
	}
	d := &doc{summary: "Monitors, " + tally, title: "Monitors"}
	d.addHead(headerBlock("🩺 Monitors"))
	d.addHead(contextBlock(tally))
	d.add(lineBlocks(lines)...)
	listTail(d, len(l.Items), l.Total, l.NextCursor, opts)
	return d
}

func runLine(s tools.RunSummary) string {
	line := fmt.Sprintf("%s %s: %d of %d requests ok, %d of %d assertions passed, %s",
		runEmoji(s.Status), escape(flat(s.Status, 40)), s.Requests-s.FailedRequests, s.Requests,
		s.Assertions-s.FailedAssertions, s.Assertions, plural(s.Errors, "error", "errors"))
	if s.LatencyMs > 0 {
		line += fmt.Sprintf(", %.0f ms response time", s.LatencyMs)
	}
	return line
}

func monitorView(m tools.MonitorView, w webRoot, opts Options) *doc {
	name := nonEmpty(oneLine(m.Name), "Monitor")
	icon, state := "⚪", "▶️ Active"
	if m.LastRun != nil {
		icon = runEmoji(m.LastRun.Status)
	}
	if !m.Active {
		icon, state = "⏸️", "⏸️ Paused"
	}
	d := &doc{title: name}
	d.summary = fmt.Sprintf("%s Monitor %s (%s)", icon, name, strings.TrimPrefix(strings.TrimPrefix(state, "▶️ "), "⏸️ "))
	d.addHead(headerBlock(icon + " " + name))
	schedule := "—"
	if m.Cron != "" {
		schedule = code(clip(m.Cron, 100))
		if m.Timezone != "" {
			schedule += " " + escape(flat(m.Timezone, 60))
		}
	}
	fields := []field{{"State", state}, {"Schedule", schedule}}
	if m.NextRun != "" {
		fields = append(fields, field{"Next run", dateOf(m.NextRun)})
	}
	if m.Collection != "" {
		fields = append(fields, field{"Collection", nameOf(w, "collection", m.Collection, opts.Names)})
	}
	if m.Environment != "" {
		fields = append(fields, field{"Environment", nameOf(w, "environment", m.Environment, opts.Names)})
	}
	if len(m.Regions) > 0 {
		fields = append(fields, field{"Regions", escape(clip(strings.Join(m.Regions, ", "), fieldValueMax))})
	}
	d.addHead(fieldBlocks(fields)...)
	if r := m.LastRun; r != nil {
		d.add(sectionBlock("*Last run:* " + runLine(*r)))
		d.note(times(r.StartedAt, r.FinishedAt))
	} else {
		d.add(sectionBlock("_No run yet._"))
	}
	d.note(viewIn(w.url("monitor", m.UID)))
	return d
}

func times(started, finished string) string {
	var parts []string
	if started != "" && started != "-" {
		parts = append(parts, "started "+dateOf(started))
	}
	if finished != "" && finished != "-" {
		parts = append(parts, "finished "+dateOf(finished))
	}
	if len(parts) == 0 {
		return ""
	}
	return "🕒 " + strings.Join(parts, " · ")
}

func runReport(r tools.RunReport, w webRoot) *doc {
	name := nonEmpty(oneLine(r.Monitor), "Monitor")
	d := &doc{title: name}
	s := r.Summary
	var headline string
	switch {
	case r.Running:
		headline = "⏳ " + name + " is still running"
	case r.Passed:
		headline = "✅ " + name + " passed"
	case strings.TrimSpace(s.Status) == "":
		headline = "⚪ " + name + ": no run to report"
	default:
		headline = "❌ " + name + " failed"
	}
	d.addHead(headerBlock(headline))
	d.summary = headline
	if !r.Running && strings.TrimSpace(s.Status) != "" {
		d.summary += fmt.Sprintf(": %d of %d requests ok, %d of %d assertions passed", s.Requests-s.FailedRequests, s.Requests,
			s.Assertions-s.FailedAssertions, s.Assertions)
		fields := []field{
			{"Requests", fmt.Sprintf("%d of %d ok", s.Requests-s.FailedRequests, s.Requests)},
			{"Assertions", fmt.Sprintf("%d of %d passed", s.Assertions-s.FailedAssertions, s.Assertions)},
			{"Errors", strconv.Itoa(s.Errors)},
		}
		if s.LatencyMs > 0 {
			fields = append(fields, field{"Response time", fmt.Sprintf("%.0f ms", s.LatencyMs)})
		}
		if r.JobID != "" {
			fields = append(fields, field{"Run", code(clip(r.JobID, 100))})
		}
		d.addHead(fieldBlocks(fields)...)
	} else if r.Running && r.JobID != "" {
		d.addHead(fieldBlocks([]field{{"Run", code(clip(r.JobID, 100))}})...)
	}
	for _, f := range r.Failures {
		head := "❌ " + bold(clip(f.Request, 200))
		if f.Method != "" || f.URL != "" {
			head += " " + code(clip(strings.TrimSpace(f.Method+" "+f.URL), 300))
		}
		if f.Code != 0 {
			head += fmt.Sprintf(" → *%d*", f.Code)
		}
		lines := []string{head}
		for _, p := range f.Problems {
			lines = append(lines, "\u2003• "+escape(flat(p, 500)))
		}
		d.add(lineBlocks(lines)...)
	}
	if r.More > 0 {
		d.add(contextBlock("… and " + plural(r.More, "more failing request", "more failing requests")))
	}
	if note := SlackWords(r.Note); strings.TrimSpace(note) != "" {
		d.add(textBlocks("ℹ️ ", clip(note, 2000))...)
	}
	if !r.Running {
		d.note(times(s.StartedAt, s.FinishedAt))
	}
	if p := r.Previous; p != nil {
		d.note("previous run " + runEmoji(p.Status) + " " + escape(clip(nonEmpty(oneLine(p.Status), "unknown"), 40)))
	}
	d.note(viewIn(w.url("monitor", r.UID)))
	return d
}

func mockList(l tools.MockList, w webRoot, opts Options) *doc {
	d := &doc{summary: "Mock servers: " + plural(len(l.Items), "mock server", "mock servers"), title: "Mock servers"}
	d.addHead(headerBlock("🎭 Mock servers"))
	var lines []string
	for _, m := range l.Items {
		line := "• " + bold(clip(m.Name, 200))
		if m.URL != "" {
			line += " — " + link(m.URL, clip(m.URL, 300))
		}
		line += mockFlags(m)
		if m.Collection != "" {
			line += " · collection " + nameOf(w, "collection", m.Collection, opts.Names)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "_No mock servers._")
	}
	d.add(lineBlocks(lines)...)
	listTail(d, len(l.Items), l.Total, l.NextCursor, opts)
	return d
}

func mockFlags(m tools.MockRow) string {
	s := ""
	if m.Private {
		s += " · 🔒 private"
	}
	if m.Deactivated {
		s += " · ⛔ deactivated"
	}
	if m.DelayMs > 0 {
		s += fmt.Sprintf(" · %d ms delay", m.DelayMs)
	}
	return s
}

func mockRow(m tools.MockRow, w webRoot, opts Options) *doc {
	name := nonEmpty(oneLine(m.Name), "Mock server")
	d := &doc{summary: "Mock server " + name, title: name}
	icon := "🎭"
	if m.Deactivated {
		icon = "⛔"
	}
	d.addHead(headerBlock(icon + " " + name))
	fields := []field{}
	if m.URL != "" {
		fields = append(fields, field{"URL", link(m.URL, clip(m.URL, fieldValueMax))})
	}
	if m.Collection != "" {
		fields = append(fields, field{"Collection", nameOf(w, "collection", m.Collection, opts.Names)})
	}
	if m.Environment != "" {
		fields = append(fields, field{"Environment", nameOf(w, "environment", m.Environment, opts.Names)})
	}
	vis, state := "Public", "Active"
	if m.Private {
		vis = "🔒 Private"
	}
	if m.Deactivated {
		state = "⛔ Deactivated"
	}
	fields = append(fields, field{"Visibility", vis}, field{"State", state})
	if m.DelayMs > 0 {
		fields = append(fields, field{"Delay", fmt.Sprintf("%d ms", m.DelayMs)})
	}
	d.addHead(fieldBlocks(fields)...)
	d.note("UID " + code(clip(m.UID, 100)))
	return d
}

// changeKind guesses which Postman page a change is about from its action ("created collection" → collection).
func changeKind(action string) string {
	for _, k := range []string{"collection", "environment", "monitor", "workspace"} {
		if strings.Contains(strings.ToLower(action), k) {
			return k
		}
	}
	return ""
}

func change(c tools.Change, w webRoot) *doc {
	action := nonEmpty(oneLine(c.Action), "change")
	name := nonEmpty(oneLine(c.Name), "(unnamed)")
	d := &doc{title: action + " " + name}
	var md string
	if c.Done {
		d.summary = "✅ " + capitalize(action) + ": " + name
		md = "✅ " + escape(capitalize(clip(action, 200))) + " " + bold(clip(name, 200))
	} else {
		d.summary = "📝 Preview, nothing changed: " + action + " " + name
		md = "📝 *Preview, nothing has changed.* Would " + escape(clip(action, 200)) + " " + bold(clip(name, 200))
	}
	lines := []string{md}
	for _, x := range c.Details {
		lines = append(lines, "• "+escape(flat(x, 500)))
	}
	d.add(lineBlocks(lines)...)
	var link string
	if kind := changeKind(action); kind != "" && !strings.HasPrefix(strings.ToLower(action), "delete") {
		id := c.UID
		link = viewIn(w.url(kind, id))
	}
	uid := ""
	if c.UID != "" {
		uid = "UID " + code(clip(c.UID, 100))
	}
	d.note(uid, link)
	return d
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}
