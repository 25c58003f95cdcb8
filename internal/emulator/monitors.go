package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func monitorNotFound() reply {
	return legacy(http.StatusNotFound, "instanceNotFoundError", "The specified monitor does not exist.")
}

func paramMissing(params ...string) reply {
	return legacyDetails(http.StatusBadRequest, "paramMissingError", "Parameter is missing in the request.", map[string]any{"param": params})
}

func invalidParam(param string) reply {
	return legacyDetails(http.StatusBadRequest, "invalidParamsError", "The request had invalid parameters", map[string]any{"param": param})
}

func cronNotAllowed(pattern string) reply {
	return legacyDetails(http.StatusBadRequest, "cronPatternNotAllowedError",
		`Invalid cron pattern. Enter a valid cron pattern, such as "0 17 * * *"`, map[string]any{"pattern": pattern})
}

func malformedBody(err error) reply {
	return legacy(http.StatusBadRequest, "malformedRequestError", "The request body is not valid JSON: "+err.Error())
}

type monitorSummary struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Active         bool   `json:"active"`
	UID            string `json:"uid"`
	Owner          int64  `json:"owner"`
	CollectionUID  string `json:"collectionUid"`
	EnvironmentUID string `json:"environmentUid,omitempty"`
}

func (c *call) listMonitors() reply {
	q := c.query
	limit := 25
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		switch {
		case err != nil || n < 1:
			return badRequest("Query param limit must be a positive integer.")
		case n > 25:
			return badRequest("Query param limit cannot exceed 25.")
		}
		limit = n
	}
	offset := 0
	if cur := q.Get("cursor"); cur != "" {
		n, okc := decodeCursor(cur)
		if !okc {
			return badRequest("Invalid cursor query parameter passed.")
		}
		offset = n
	}
	var active *bool
	if q.Has("active") {
		b, err := strconv.ParseBool(q.Get("active"))
		if err != nil || (q.Get("active") != "true" && q.Get("active") != "false") {
			return badRequest("Active must be a boolean.")
		}
		active = &b
	}
	var owner int64
	if q.Has("owner") {
		n, err := strconv.ParseInt(q.Get("owner"), 10, 64)
		if err != nil {
			return badRequest("Owner user ID must be an integer.")
		}
		owner = n
	}
	ws := q.Get("workspace")
	if ws != "" {
		if len(ws) != 36 {
			return badRequest(fmt.Sprintf("Workspace ID must be 36 characters (%d).", len(ws)))
		}
		if !c.e.canSeeIn(c.user, ws) {
			return legacy(http.StatusNotFound, "instanceNotFoundError", "Workspace not found")
		}
	}
	colUID, envUID := q.Get("collectionUid"), q.Get("environmentUid")
	all := []monitorSummary{}
	for _, m := range byOrder(c.e.monitors, monOrder) {
		if !c.e.canSeeIn(c.user, m.workspaceID) || (ws != "" && m.workspaceID != ws) ||
			(active != nil && m.active != *active) || (owner != 0 && m.owner != owner) ||
			(colUID != "" && m.collectionUID != colUID) || (envUID != "" && m.environmentUID != envUID) {
			continue
		}
		all = append(all, monitorSummary{ID: m.id, Name: m.name, Active: m.active, UID: m.uid(), Owner: m.owner,
			CollectionUID: m.collectionUID, EnvironmentUID: m.environmentUID})
	}
	start := min(offset, len(all))
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = encodeCursor(end)
	}
	return ok(map[string]any{"monitors": all[start:end], "meta": map[string]any{"nextCursor": next, "limit": limit}})
}

var regions = map[string]bool{"us-east": true, "us-west": true, "ap-southeast": true, "ca-central": true, "eu-central": true,
	"sa-east": true, "uk": true, "us-east-staticip": true, "us-west-staticip": true}

// monitorFields applies the optional, updatable monitor fields of a POST or PUT body to m.
func (c *call) monitorFields(m *monitor, body map[string]any, now time.Time) *reply {
	fail := func(r reply) *reply { return &r }
	if v, has := body["name"]; has {
		s, okS := v.(string)
		if !okS || strings.TrimSpace(s) == "" {
			return fail(invalidParam("name"))
		}
		m.name = s
	}
	if v, has := body["active"]; has {
		b, okB := v.(bool)
		if !okB {
			return fail(badRequest("Active must be a boolean."))
		}
		m.active = b
	}
	if v, has := body["notificationLimit"]; has {
		n, okN := intValue(v)
		if !okN || n < 1 || n > 99 {
			return fail(invalidParam("notificationLimit"))
		}
		m.notificationLimit = n
	}
	if v, has := body["retry"]; has {
		r, okR := v.(map[string]any)
		if !okR {
			return fail(invalidParam("retry"))
		}
		if a, has := r["attempts"]; has {
			n, okN := intValue(a)
			if !okN || n < 0 || n > 2 {
				return fail(invalidParam("retry.attempts"))
			}
			m.retryAttempts = n
		}
	}
	if v, has := body["options"]; has {
		o, okO := v.(map[string]any)
		if !okO {
			return fail(invalidParam("options"))
		}
		for _, k := range sortedKeys(o) {
			switch k {
			case "strictSSL", "followRedirects":
				b, okB := o[k].(bool)
				if !okB {
					return fail(invalidParam("options." + k))
				}
				if k == "strictSSL" {
					m.options.StrictSSL = b
				} else {
					m.options.FollowRedirects = b
				}
			case "requestTimeout", "requestDelay":
				n, okN := intValue(o[k])
				if !okN || n < 1 || n > 900000 {
					return fail(invalidParam("options." + k))
				}
				if k == "requestTimeout" {
					m.options.RequestTimeout = n
				} else {
					m.options.RequestDelay = n
				}
			default:
				return fail(invalidParam("options." + k))
			}
		}
	}
	if v, has := body["distribution"]; has {
		arr, okA := v.([]any)
		if !okA {
			return fail(invalidParam("distribution"))
		}
		var rs []region
		for _, it := range arr {
			rm, _ := it.(map[string]any)
			name, _ := rm["region"].(string)
			if !regions[name] {
				return fail(invalidParam("distribution"))
			}
			rs = append(rs, region{name})
		}
		m.distribution = rs
	}
	if v, has := body["notifications"]; has {
		nm, okN := v.(map[string]any)
		if !okN {
			return fail(invalidParam("notifications"))
		}
		for _, k := range []string{"onError", "onFailure"} {
			raw, has := nm[k]
			if !has {
				continue
			}
			arr, okA := raw.([]any)
			if !okA {
				return fail(invalidParam("notifications." + k))
			}
			targets := []emailTarget{}
			for _, it := range arr {
				em, _ := it.(map[string]any)
				addr, _ := em["email"].(string)
				if !strings.Contains(addr, "@") {
					return fail(invalidParam("notifications." + k))
				}
				targets = append(targets, emailTarget{addr})
			}
			if k == "onError" {
				m.notifications.OnError = targets
			} else {
				m.notifications.OnFailure = targets
			}
		}
	}
	if v, has := body["schedule"]; has {
		s, okS := v.(map[string]any)
		if !okS {
			return fail(paramMissing("cron"))
		}
		cron, _ := s["cron"].(string)
		if cron == "" {
			return fail(paramMissing("cron"))
		}
		tz := m.timezone
		if t, has := s["timezone"]; has {
			tzs, okT := t.(string)
			if !okT {
				return fail(invalidParam("schedule.timezone"))
			}
			tz = tzs
		}
		if _, _, err := parseSchedule(cron, tz); err != nil { // validation only; setSchedule keeps the parsed form
			if errors.Is(err, errBadTimezone) {
				return fail(invalidParam("schedule.timezone"))
			}
			return fail(cronNotAllowed(cron))
		}
		if tz == "" {
			tz = "UTC"
		}
		m.setSchedule(cron, tz)
	}
	m.reschedule(now)
	return nil
}

// setSchedule stores a validated schedule with its parsed form.
func (m *monitor) setSchedule(cron, tz string) {
	m.cron, m.timezone, m.spec, m.loc = cron, tz, nil, nil
	if spec, loc, err := parseSchedule(cron, tz); err == nil {
		m.spec, m.loc = spec, loc
	}
}

// reschedule sets nextRun from now: none for paused or trigger-only monitors.
func (m *monitor) reschedule(now time.Time) {
	m.nextRun = time.Time{}
	if m.active && m.spec != nil {
		m.nextRun = m.spec.next(now, m.loc)
	}
}

func intValue(v any) (int, bool) {
	switch n := v.(type) {
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		return int(i), err == nil
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

func (c *call) monitorBody() (map[string]any, *reply) {
	v, err := decodeJSON(c.body)
	if err != nil {
		r := malformedBody(err)
		return nil, &r
	}
	top, _ := v.(map[string]any)
	body, okB := top["monitor"].(map[string]any)
	if !okB {
		r := paramMissing("monitor")
		return nil, &r
	}
	return body, nil
}

func (c *call) createMonitor() reply {
	body, rep := c.monitorBody()
	if rep != nil {
		return *rep
	}
	var missing []string
	for _, k := range []string{"name", "collection", "schedule"} {
		if _, has := body[k]; !has {
			missing = append(missing, k)
		}
	}
	if s, okS := body["schedule"].(map[string]any); okS {
		if _, has := s["cron"]; !has {
			missing = append(missing, "cron")
		}
	}
	if missing != nil {
		return paramMissing(missing...)
	}
	w, rep := c.targetWorkspace()
	if rep != nil {
		return *rep
	}
	colRef, _ := body["collection"].(string)
	col := c.e.findCollection(c.user, colRef)
	if col == nil {
		return invalidParam("collection")
	}
	m := &monitor{id: c.e.newID("monitor"), owner: c.user.ID, workspaceID: w.id, active: true, collectionUID: col.uid(),
		notificationLimit: 1, options: monitorOptions{StrictSSL: true, FollowRedirects: true, RequestTimeout: 0, RequestDelay: 0},
		notifications: monitorNotifications{OnError: []emailTarget{}, OnFailure: []emailTarget{}},
		distribution:  []region{{"us-east"}}, retryAttempts: 0, timezone: "UTC", createdAt: c.now, order: c.e.nextOrder()}
	if envRef, has := body["environment"]; has && envRef != nil && envRef != "" {
		s, _ := envRef.(string)
		env := c.e.findEnvironment(c.user, s)
		if env == nil {
			return invalidParam("environment")
		}
		m.environmentUID = env.uid()
	}
	if rep := c.monitorFields(m, body, c.now); rep != nil {
		return *rep
	}
	c.e.monitors[m.id] = m
	return ok(map[string]any{"monitor": map[string]any{"id": m.id, "name": m.name, "active": m.active, "uid": m.uid()}})
}

type scheduleOut struct {
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
	NextRun  string `json:"nextRun,omitempty"`
}

type retryOut struct {
	Attempts int `json:"attempts"`
}

type lastRunOut struct {
	Status     string   `json:"status"`
	StartedAt  string   `json:"startedAt"`
	FinishedAt string   `json:"finishedAt"`
	JobID      string   `json:"jobId"`
	Stats      runStats `json:"stats"`
}

type monitorOut struct {
	ID                string               `json:"id"`
	Name              string               `json:"name"`
	UID               string               `json:"uid"`
	Owner             int64                `json:"owner"`
	Active            bool                 `json:"active"`
	NotificationLimit int                  `json:"notificationLimit"`
	CollectionUID     string               `json:"collectionUid"`
	EnvironmentUID    string               `json:"environmentUid,omitempty"`
	JobID             string               `json:"jobId,omitempty"`
	Options           monitorOptions       `json:"options"`
	Notifications     monitorNotifications `json:"notifications"`
	Distribution      []region             `json:"distribution"`
	Schedule          *scheduleOut         `json:"schedule,omitempty"`
	Retry             retryOut             `json:"retry"`
	LastRun           *lastRunOut          `json:"lastRun,omitempty"`
}

func (c *call) getMonitor() reply {
	m := c.e.findMonitor(c.user, c.params["monitorId"])
	if m == nil {
		return monitorNotFound()
	}
	out := monitorOut{ID: m.id, Name: m.name, UID: m.uid(), Owner: m.owner, Active: m.active, NotificationLimit: m.notificationLimit,
		CollectionUID: m.collectionUID, EnvironmentUID: m.environmentUID, JobID: m.jobID, Options: m.options,
		Notifications: m.notifications, Distribution: m.distribution, Retry: retryOut{m.retryAttempts}}
	if out.Distribution == nil {
		out.Distribution = []region{}
	}
	if m.cron != "" {
		out.Schedule = &scheduleOut{Cron: m.cron, Timezone: m.timezone}
		if !m.nextRun.IsZero() {
			out.Schedule.NextRun = ts(m.nextRun)
		}
	}
	if r := m.lastRun; r != nil {
		out.LastRun = &lastRunOut{Status: r.status, StartedAt: ts(r.startedAt), FinishedAt: ts(r.finishedAt), JobID: r.jobID, Stats: r.stats}
	}
	return ok(map[string]any{"monitor": out})
}

func (c *call) updateMonitor() reply {
	m := c.e.findMonitor(c.user, c.params["monitorId"])
	if m == nil {
		return monitorNotFound()
	}
	body, rep := c.monitorBody()
	if rep != nil {
		return *rep
	}
	var notAllowed []string
	for _, k := range []string{"collection", "environment"} {
		if _, has := body[k]; has {
			notAllowed = append(notAllowed, k)
		}
	}
	if notAllowed != nil {
		return legacyDetails(http.StatusBadRequest, "parameterNotAllowedError", "The specified parameter cannot be updated.",
			map[string]any{"param": notAllowed})
	}
	updated := *m
	if rep := c.monitorFields(&updated, body, c.now); rep != nil {
		return *rep
	}
	*m = updated
	return ok(map[string]any{"monitor": map[string]any{"id": m.id, "name": m.name, "active": m.active, "uid": m.uid()}})
}

func (c *call) deleteMonitor() reply {
	m := c.e.findMonitor(c.user, c.params["monitorId"])
	if m == nil {
		return monitorNotFound()
	}
	delete(c.e.monitors, m.id)
	return ok(map[string]any{"monitor": map[string]string{"id": m.id, "uid": m.uid()}})
}

// createWebhook creates a trigger-only monitor: it runs when its webhook URL is called, never on a schedule.
func (c *call) createWebhook() reply {
	v, err := decodeJSON(c.body)
	if err != nil {
		return malformedBody(err)
	}
	top, _ := v.(map[string]any)
	body, okB := top["webhook"].(map[string]any)
	if !okB {
		return paramMissing("webhook")
	}
	var missing []string
	for _, k := range []string{"name", "collection"} {
		if s, _ := body[k].(string); s == "" {
			missing = append(missing, k)
		}
	}
	if missing != nil {
		return paramMissing(missing...)
	}
	w, rep := c.targetWorkspace()
	if rep != nil {
		return *rep
	}
	col := c.e.findCollection(c.user, body["collection"].(string))
	if col == nil {
		return invalidParam("collection")
	}
	m := &monitor{id: c.e.newID("monitor"), owner: c.user.ID, workspaceID: w.id, name: body["name"].(string), active: true,
		collectionUID: col.uid(), notificationLimit: 1, options: monitorOptions{StrictSSL: true, FollowRedirects: true},
		notifications: monitorNotifications{OnError: []emailTarget{}, OnFailure: []emailTarget{}},
		distribution:  []region{{"us-east"}}, createdAt: c.now, order: c.e.nextOrder()}
	if envRef, _ := body["environment"].(string); envRef != "" {
		env := c.e.findEnvironment(c.user, envRef)
		if env == nil {
			return invalidParam("environment")
		}
		m.environmentUID = env.uid()
	}
	m.webhookURL = fmt.Sprintf("https://newman-api.postman.com/run/%d/%s", c.user.ID, c.e.newID("webhook"))
	c.e.monitors[m.id] = m
	return ok(map[string]any{"webhook": map[string]string{"id": m.id, "name": m.name, "collection": m.collectionUID,
		"webhookUrl": m.webhookURL, "uid": m.uid()}})
}
