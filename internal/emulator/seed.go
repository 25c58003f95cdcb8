package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Names in the demo seed that tests and docs refer to.
const (
	DemoWorkspacePayments = "Payments Platform"
	DemoWorkspaceOrders   = "Orders & Checkout"
	DemoWorkspaceGlobex   = "Globex Internal APIs"

	DemoCollectionPayments = "Payments API" // ~300 requests in nested folders
	DemoCollectionSmoke    = "Payments Smoke Tests"
	DemoCollectionOrders   = "Orders API"
	DemoCollectionCheckout = "Checkout Flow"
	DemoCollectionBilling  = "Legacy Billing"

	DemoMonitorPassing = "Payments API smoke (staging)"  // passes on every run
	DemoMonitorFailing = "Orders API nightly regression" // fails on every run: "Create order" answers 500
	DemoMonitorFlaky   = "Checkout flow synthetic"       // "Confirm payment" answers 503 on about a third of runs
	DemoMonitorPaused  = "Legacy billing sync"           // active: false
	DemoMonitorGlobex  = "Inventory health"              // the other team's monitor; passes
)

// DemoSecretValues returns every secret variable value in the demo seed, so tests can assert none of them leaks
// into logs, errors or rendered results.
func DemoSecretValues() []string {
	return []string{
		"stg_tok_8f3a2c71e9d44b0f9a51", "stg_client_secret_2b9e41c7", "whsec_stg_5e1c9a7f2b3d",
		"prod_tok_d41d8cd98f00b204e980", "prod_client_secret_77aa01fe", "Pr0d-DB-p@ssw0rd-7731",
		"local-dev-token-123", "orders_stg_key_1b7e90c3", "globex_api_6a2f9c0d5e",
	}
}

type seedVar struct {
	key, value, typ, desc string
	disabled              bool
	vault                 bool
}

func (e *Emulator) seedDemo(now time.Time) {
	day := 24 * time.Hour
	at := func(daysAgo int) time.Time { return now.Add(-time.Duration(daysAgo) * day).Truncate(time.Second) }

	wsPay := e.seedWorkspace("Payments Platform", "team", "team", DemoTeamID, DemoUserID,
		"Payments APIs, environments and the monitors that watch them.", at(420), at(3))
	wsOrders := e.seedWorkspace("Orders & Checkout", "team", "private", DemoTeamID, DemoTeammateID,
		"Order lifecycle and checkout synthetic checks.", at(300), at(1))
	wsDana := e.seedWorkspace("My Workspace", "personal", "personal", 0, DemoUserID, "This is a personal workspace.", at(700), at(12))
	wsSam := e.seedWorkspace("My Workspace", "personal", "personal", 0, DemoTeammateID, "This is a personal workspace.", at(500), at(40))
	wsGlobex := e.seedWorkspace("Globex Internal APIs", "team", "team", OtherTeamID, OtherTeamUserID,
		"Inventory and warehouse services.", at(250), at(2))
	e.seedWorkspace("My Workspace", "personal", "personal", 0, OtherTeamUserID, "This is a personal workspace.", at(260), at(30))

	secrets := DemoSecretValues()
	staging := e.seedEnvironment(wsPay, DemoUserID, "staging", at(400), at(6), []seedVar{
		{key: "baseUrl", value: "https://api.staging.acme-pay.example", typ: "default", desc: "Staging API root."},
		{key: "clientId", value: "acme-staging-client", typ: "default"},
		{key: "clientSecret", value: secrets[1], typ: "secret"},
		{key: "accessToken", value: secrets[0], typ: "secret", desc: "OAuth token for the staging tenant."},
		{key: "webhookSigningSecret", value: secrets[2], typ: "secret"},
		{key: "currency", value: "EUR", typ: "default"},
	})
	e.seedEnvironment(wsPay, DemoUserID, "production", at(400), at(20), []seedVar{
		{key: "baseUrl", value: "https://api.acme-pay.example", typ: "default"},
		{key: "clientId", value: "acme-prod-client", typ: "default"},
		{key: "clientSecret", value: secrets[4], typ: "secret"},
		{key: "accessToken", value: secrets[3], typ: "secret"},
		{key: "dbPassword", value: secrets[5], typ: "secret", desc: "Read replica password for reconciliation reports."},
		{key: "signingKey", typ: "default", vault: true},
		{key: "currency", value: "EUR", typ: "default"},
	})
	e.seedEnvironment(wsPay, DemoTeammateID, "local", at(200), at(15), []seedVar{
		{key: "baseUrl", value: "http://localhost:8080", typ: "default"},
		{key: "accessToken", value: secrets[6], typ: "secret"},
		{key: "debug", value: "true", typ: "default", disabled: true},
	})
	ordersEnv := e.seedEnvironment(wsOrders, DemoTeammateID, "Orders staging", at(280), at(4), []seedVar{
		{key: "baseUrl", value: "https://orders.staging.acme-pay.example", typ: "default"},
		{key: "apiKey", value: secrets[7], typ: "secret"},
		{key: "warehouseId", value: "wh-eu-1", typ: "default"},
	})
	globexEnv := e.seedEnvironment(wsGlobex, OtherTeamUserID, "globex-prod", at(240), at(9), []seedVar{
		{key: "baseUrl", value: "https://inventory.globex.example", typ: "default"},
		{key: "apiToken", value: secrets[8], typ: "secret"},
	})

	payments := e.seedCollection(wsPay, DemoUserID, DemoCollectionPayments,
		"Every public endpoint of the Acme Payments API, grouped by resource.", at(410), at(2), e.paymentsItems())
	payments.auth = bearerAuth("{{accessToken}}")
	payments.variable = []any{
		map[string]any{"key": "apiVersion", "value": "2024-06-01", "description": "Sent as Acme-Version."},
		map[string]any{"key": "pageSize", "value": "25"},
	}
	smoke := e.seedCollection(wsPay, DemoUserID, DemoCollectionSmoke,
		"The handful of calls that must always work in staging.", at(380), at(8), e.smokeItems())
	smoke.auth = bearerAuth("{{accessToken}}")
	billing := e.seedCollection(wsPay, DemoTeammateID, DemoCollectionBilling,
		"Nightly sync between the old billing system and Payments.", at(390), at(60), e.billingItems())
	orders := e.seedCollection(wsOrders, DemoTeammateID, DemoCollectionOrders,
		"Order lifecycle: create, pay, fulfil, return.", at(290), at(1), e.ordersItems())
	orders.auth = apiKeyAuth()
	orders.variable = []any{
		map[string]any{"key": "orderId", "value": "ord_1001", "description": "An order the regression suite owns."},
		map[string]any{"key": "legacyCheckout", "value": "false", "disabled": true, "description": "Kept for the v1 storefront."},
	}
	orders.event = []any{
		map[string]any{"listen": "prerequest", "script": map[string]any{"id": e.seedID("script", "orders", "prerequest"), "type": "text/javascript",
			"exec": []any{`pm.request.headers.upsert({ key: "X-Request-Id", value: pm.variables.replaceIn("{{$guid}}") });`}}},
		map[string]any{"listen": "test", "script": map[string]any{"id": e.seedID("script", "orders", "test"), "type": "text/javascript",
			"exec": []any{`pm.test("Responds within 2 seconds", function () {`, `    pm.expect(pm.response.responseTime).to.be.below(2000);`, `});`}}},
	}
	checkout := e.seedCollection(wsOrders, DemoTeammateID, DemoCollectionCheckout,
		"The storefront checkout, step by step, as a synthetic user.", at(270), at(5), e.checkoutItems())
	checkout.auth = apiKeyAuth()
	danaFork := e.seedCollection(wsDana, DemoUserID, "Orders API – Dana's fork", "A working copy of Orders API.", at(90), at(12), e.forkItems())
	danaFork.fork = &fork{label: "dana-refunds", createdAt: at(90), from: orders.uid()}
	e.seedCollection(wsDana, DemoUserID, "Scratchpad", "", at(60), at(12), []any{
		e.seedRequest("Scratchpad", reqSpec{name: "Echo GET", method: "GET", rawURL: "https://postman-echo.com/get?hello=world", status: 200}),
		e.seedRequest("Scratchpad", reqSpec{name: "Echo POST", method: "POST", rawURL: "https://postman-echo.com/post", status: 200, body: `{"ping": true}`}),
	})
	e.seedCollection(wsSam, DemoTeammateID, "Sam's sandbox", "", at(45), at(40), []any{
		e.seedRequest("Sam's sandbox", reqSpec{name: "Status 418", method: "GET", rawURL: "https://postman-echo.com/status/418"}),
	})
	inventory := e.seedCollection(wsGlobex, OtherTeamUserID, "Inventory API", "Stock levels and reservations.", at(245), at(3), e.inventoryItems())

	passing := e.seedMonitor(wsPay, DemoUserID, DemoMonitorPassing, smoke, staging, "*/15 * * * *", "UTC", true, 5200, runPlan{}, now)
	passing.options.RequestDelay = 250
	passing.notifications.OnError = []emailTarget{{Email: "dana.okafor@acme-pay.example"}}
	e.seedMonitor(wsOrders, DemoTeammateID, DemoMonitorFailing, orders, ordersEnv, "0 2 * * *", "America/New_York", true, 311,
		runPlan{forced: map[string]int{"Create order": 500}}, now)
	e.seedMonitor(wsOrders, DemoTeammateID, DemoMonitorFlaky, checkout, ordersEnv, "*/10 * * * *", "Europe/Berlin", true, 8800,
		runPlan{flaky: map[string]flakyAction{"Confirm payment": {code: 503, percent: 35}}}, now)
	e.seedMonitor(wsPay, DemoTeammateID, DemoMonitorPaused, billing, staging, "0 */6 * * *", "UTC", false, 1460, runPlan{}, now)
	e.seedMonitor(wsGlobex, OtherTeamUserID, DemoMonitorGlobex, inventory, globexEnv, "0 * * * *", "Asia/Tokyo", true, 2100, runPlan{}, now)

	paymentsMock := e.seedMock(wsPay, DemoUserID, "Payments API mock", payments, staging, false, &mockDelay{Type: "fixed", Duration: 120}, at(200))
	if e.opts.PublicURL != "" {
		// Served demo: staging points at the emulator's own mock of the Payments API, which answers from the
		// collection's saved examples; it is public so a collection runner needs no Postman key.
		paymentsMock.isPublic = true
		for i := range staging.values {
			if staging.values[i].Key == "baseUrl" {
				staging.values[i].Value = ptr(e.mockURL(paymentsMock))
			}
		}
	}
	e.seedMock(wsOrders, DemoTeammateID, "Orders mock", orders, ordersEnv, false, &mockDelay{Type: "fixed", Duration: 250}, at(150))
	e.seedMock(wsPay, DemoTeammateID, "Legacy billing mock", billing, nil, true, nil, at(380))
	e.seedMock(wsGlobex, OtherTeamUserID, "Inventory mock", inventory, nil, false, nil, at(100))
}

func (e *Emulator) seedWorkspace(name, typ, visibility string, team, creator int64, about string, created, updated time.Time) *workspace {
	if e.userByID[creator] == nil {
		creator = e.anyUser(team)
	}
	w := &workspace{id: e.seedID("workspace", name, fmt.Sprint(creator)), name: name, typ: typ, visibility: visibility, about: about,
		description: about, teamID: team, createdBy: creator, updatedBy: creator, createdAt: created, updatedAt: updated, order: e.nextOrder()}
	e.workspaces[w.id] = w
	return w
}

// anyUser keeps demo objects owned by a known user when Options.Keys replaced some demo users.
func (e *Emulator) anyUser(team int64) int64 {
	var best int64
	for id, u := range e.userByID {
		if (team == 0 || u.TeamID == team) && (best == 0 || id < best) {
			best = id
		}
	}
	if best == 0 {
		return DemoUserID
	}
	return best
}

func (e *Emulator) seedEnvironment(w *workspace, owner int64, name string, created, updated time.Time, vars []seedVar) *environment {
	v := &environment{id: e.seedID("environment", w.name, name), owner: owner, workspaceID: w.id, name: name,
		createdAt: created, updatedAt: updated, order: e.nextOrder(), values: []envValue{}}
	for _, sv := range vars {
		ev := envValue{Key: sv.key, Value: ptr(sv.value), Enabled: ptr(!sv.disabled), Type: sv.typ}
		if sv.desc != "" {
			ev.Description = ptr(sv.desc)
		}
		if sv.vault {
			ev.Value = ptr("")
			ev.Secret = ptr(true)
			ev.Source = map[string]any{"provider": "postman", "postman": map[string]any{
				"secretId": e.seedID("vault-secret", name, sv.key), "type": "cloud", "vaultId": e.seedID("vault", w.name)}}
		}
		v.values = append(v.values, ev)
	}
	e.environments[v.id] = v
	return v
}

func (e *Emulator) seedCollection(w *workspace, owner int64, name, desc string, created, updated time.Time, items []any) *collection {
	col := &collection{id: e.seedID("collection", w.name, name), owner: owner, workspaceID: w.id, createdAt: created,
		lastUpdatedBy: owner, order: e.nextOrder()}
	info := map[string]any{"name": name, "schema": schemaV21}
	if desc != "" {
		info["description"] = desc
	}
	col.info = info
	col.items = e.normalizeItems(items, owner, created, true, nil)
	col.updatedAt = updated
	e.collections[col.id] = col
	return col
}

func (e *Emulator) seedMonitor(w *workspace, owner int64, name string, col *collection, env *environment, cron, tz string,
	active bool, pastRuns int, plan runPlan, now time.Time) *monitor {
	m := &monitor{id: e.seedID("monitor", name), owner: owner, workspaceID: w.id, name: name, active: active,
		collectionUID: col.uid(), notificationLimit: 3, plan: plan, runs: pastRuns,
		options:       monitorOptions{StrictSSL: true, FollowRedirects: true, RequestTimeout: 30000, RequestDelay: 0},
		notifications: monitorNotifications{OnError: []emailTarget{}, OnFailure: []emailTarget{{Email: "payments-oncall@acme-pay.example"}}},
		distribution:  []region{{"eu-central"}}, retryAttempts: 1, createdAt: col.createdAt, order: e.nextOrder()}
	if owner == OtherTeamUserID {
		m.notifications.OnFailure = []emailTarget{{Email: "sre@globex.example"}}
		m.distribution = []region{{"ap-southeast"}}
	}
	if env != nil {
		m.environmentUID = env.uid()
	}
	// The last run happened at the schedule's latest occurrence before now (well before, for a paused monitor).
	m.setSchedule(cron, tz)
	if m.spec != nil {
		horizon := now
		if !active {
			horizon = now.Add(-9 * 24 * time.Hour)
		}
		if last := m.spec.previous(horizon, m.loc); !last.IsZero() {
			rec := e.simulateRun(m, m.runs, last, e.seedID("job", name, fmt.Sprint(m.runs)))
			m.lastRun, m.jobID = &rec, rec.jobID
		}
	}
	m.reschedule(now)
	e.monitors[m.id] = m
	return m
}

func (e *Emulator) seedMock(w *workspace, owner int64, name string, col *collection, env *environment, deactivated bool, delay *mockDelay, created time.Time) *mock {
	m := &mock{id: e.seedID("mock", name), owner: owner, workspaceID: w.id, name: name, collectionUID: col.uid(),
		deactivated: deactivated, delay: delay, headers: []string{}, matchQueryParams: true, matchWildcards: true,
		createdAt: created, updatedAt: created, order: e.nextOrder()}
	if env != nil {
		m.environmentUID = env.uid()
	}
	if name == "Orders mock" {
		m.serverResponseID = e.seedID("server-response", name)
		m.matchBody = true
	}
	e.mocks[m.id] = m
	return m
}

func bearerAuth(token string) map[string]any {
	return map[string]any{"type": "bearer", "bearer": []any{map[string]any{"key": "token", "value": token, "type": "string"}}}
}

func apiKeyAuth() map[string]any {
	return map[string]any{"type": "apikey", "apikey": []any{
		map[string]any{"key": "key", "value": "x-api-key", "type": "string"},
		map[string]any{"key": "value", "value": "{{apiKey}}", "type": "string"},
		map[string]any{"key": "in", "value": "header", "type": "string"},
	}}
}

// reqSpec describes one request item to generate.
type reqSpec struct {
	name, method string
	path         string // appended to {{baseUrl}}
	rawURL       string // a full URL instead of path
	query        [][2]string
	body         string
	desc         string
	status       int  // the status the request's test expects (0: no status test)
	checkJSON    bool // adds a test that reads the JSON body
	maxMillis    int  // adds a response-time test
	// example adds a saved response that satisfies the request's tests (status, and an id when checkJSON), unless
	// exampleCode gives it another status. mockCode adds an x-mock-response-code header, so a mock server picks
	// the example with that status among several for the same method and path (as Postman's mocks do).
	example     bool
	exampleCode int
	mockCode    int
}

// examplesRequest is seedRequest with a saved example (the Payments API, which the demo runs against its mock).
func (e *Emulator) examplesRequest(scope string, rs reqSpec) map[string]any {
	rs.example = true
	return e.seedRequest(scope, rs)
}

func testScript(lines ...string) map[string]any {
	exec := make([]any, len(lines))
	for i, l := range lines {
		exec[i] = l
	}
	return map[string]any{"listen": "test", "script": map[string]any{"type": "text/javascript", "exec": exec}}
}

func (e *Emulator) seedRequest(scope string, rs reqSpec) map[string]any {
	raw := rs.rawURL
	if raw == "" {
		raw = "{{baseUrl}}" + rs.path
	}
	u := map[string]any{}
	base, qs, _ := strings.Cut(raw, "?")
	if strings.HasPrefix(base, "{{") {
		host, path, _ := strings.Cut(base, "}}")
		u["host"] = []any{host + "}}"}
		u["path"] = splitPath(path)
	} else {
		proto, rest, _ := strings.Cut(base, "://")
		host, path, _ := strings.Cut(rest, "/")
		u["protocol"] = proto
		hs := []any{}
		for _, h := range strings.Split(host, ".") {
			hs = append(hs, h)
		}
		u["host"] = hs
		u["path"] = splitPath("/" + path)
	}
	query := []any{}
	if qs != "" {
		for _, kv := range strings.Split(qs, "&") {
			k, v, _ := strings.Cut(kv, "=")
			query = append(query, map[string]any{"key": k, "value": v})
		}
	}
	for _, kv := range rs.query {
		query = append(query, map[string]any{"key": kv[0], "value": kv[1]})
		if qs == "" && len(query) == 1 {
			raw += "?"
		} else {
			raw += "&"
		}
		raw += kv[0] + "=" + kv[1]
	}
	u["raw"] = raw
	if len(query) > 0 {
		u["query"] = query
	}
	headers := []any{map[string]any{"key": "Accept", "value": "application/json", "type": "text"}}
	req := map[string]any{"method": rs.method, "header": headers, "url": u}
	if rs.body != "" {
		headers = append(headers, map[string]any{"key": "Content-Type", "value": "application/json", "type": "text"})
		req["header"] = headers
		req["body"] = map[string]any{"mode": "raw", "raw": rs.body, "options": map[string]any{"raw": map[string]any{"language": "json"}}}
	}
	if rs.mockCode != 0 {
		headers = append(headers, map[string]any{"key": "x-mock-response-code", "value": fmt.Sprint(rs.mockCode), "type": "text",
			"description": "Selects the saved example with this status when the request is sent to a mock server."})
		req["header"] = headers
	}
	if rs.desc != "" {
		req["description"] = rs.desc
	}
	var lines []string
	if rs.status != 0 {
		lines = append(lines, fmt.Sprintf(`pm.test("Status code is %d", function () {`, rs.status),
			fmt.Sprintf(`    pm.response.to.have.status(%d);`, rs.status), `});`)
	}
	if rs.maxMillis != 0 {
		lines = append(lines, fmt.Sprintf(`pm.test("Response time is below %dms", function () {`, rs.maxMillis),
			fmt.Sprintf(`    pm.expect(pm.response.responseTime).to.be.below(%d);`, rs.maxMillis), `});`)
	}
	if rs.checkJSON {
		lines = append(lines, `pm.test("Response has an id", function () {`,
			`    const body = pm.response.json();`, `    pm.expect(body.id).to.be.a("string");`, `});`)
	}
	item := map[string]any{"id": e.seedID("item", scope, rs.name, rs.method, raw), "name": rs.name, "request": req, "response": []any{},
		"protocolProfileBehavior": map[string]any{"disableBodyPruning": true}}
	if len(lines) > 0 {
		item["event"] = []any{testScript(lines...)}
	}
	if rs.example {
		item["response"] = []any{e.seedExample(scope, rs, raw, req)}
	}
	return item
}

// seedExample is a saved response for a seeded request: JSON with an "id" for a 2xx, an error object otherwise.
func (e *Emulator) seedExample(scope string, rs reqSpec, raw string, req map[string]any) map[string]any {
	code := rs.status
	if rs.exampleCode != 0 {
		code = rs.exampleCode
	}
	if code == 0 {
		code = http.StatusOK
	}
	h := hash64(scope, rs.name, rs.method, raw)
	var body string
	switch {
	case code == http.StatusUnauthorized:
		body = `{"error": {"type": "invalid_client", "message": "Client authentication failed."}}`
	case code >= 400:
		body = fmt.Sprintf(`{"error": {"type": "invalid_request_error", "message": %q}}`, strings.TrimSpace(strings.Split(rs.name, "(")[0])+" is rejected.")
	default:
		body = fmt.Sprintf(`{"id": "obj_%012x", "object": %q, "livemode": false, "created": %d}`, h&0xffffffffffff, strings.ToLower(rs.method)+" "+rs.path, 1717200000+int(h%1000000))
	}
	orig := map[string]any{}
	for k, v := range req {
		orig[k] = v
	}
	return map[string]any{
		"id": e.seedID("example", scope, rs.name, rs.method, raw), "name": fmt.Sprintf("%d %s", code, http.StatusText(code)),
		"originalRequest": orig, "status": http.StatusText(code), "code": code, "_postman_previewlanguage": "json",
		"header": []any{map[string]any{"key": "Content-Type", "value": "application/json"}}, "cookie": []any{}, "body": body,
	}
}

func splitPath(p string) []any {
	out := []any{}
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (e *Emulator) seedFolder(scope, name, desc string, children []any) map[string]any {
	f := map[string]any{"id": e.seedID("folder", scope, name), "name": name, "item": children}
	if desc != "" {
		f["description"] = desc
	}
	return f
}

var paymentResources = []struct{ name, path, singular string }{
	{"Accounts", "accounts", "account"}, {"Customers", "customers", "customer"}, {"Payment Methods", "payment_methods", "payment method"},
	{"Payment Intents", "payment_intents", "payment intent"}, {"Charges", "charges", "charge"}, {"Refunds", "refunds", "refund"},
	{"Disputes", "disputes", "dispute"}, {"Payouts", "payouts", "payout"}, {"Transfers", "transfers", "transfer"},
	{"Invoices", "invoices", "invoice"}, {"Subscriptions", "subscriptions", "subscription"}, {"Webhook Endpoints", "webhook_endpoints", "webhook endpoint"},
}

// paymentsItems builds the ~300-request "Payments API": 3 root requests, one folder per resource with three
// sub-folders of 8 requests each, and a "Sandbox" folder.
func (e *Emulator) paymentsItems() []any {
	const scope = DemoCollectionPayments
	items := []any{
		e.examplesRequest(scope, reqSpec{name: "Health check", method: "GET", path: "/health", status: 200, maxMillis: 1000}),
		e.examplesRequest(scope, reqSpec{name: "API version", method: "GET", path: "/v1/version", status: 200}),
		// The one example that fails its request's test: the token call's saved answer is a 401, so a collection
		// run against the mock shows one failing assertion ("Status code is 200").
		e.examplesRequest(scope, reqSpec{name: "Get OAuth token", method: "POST", path: "/oauth/token", status: 200, exampleCode: http.StatusUnauthorized,
			body: `{"grant_type": "client_credentials", "client_id": "{{clientId}}", "client_secret": "{{clientSecret}}"}`,
			desc: "Exchanges the client credentials for an access token."}),
	}
	for _, r := range paymentResources {
		base := "/v1/" + r.path
		happy := []any{
			e.examplesRequest(scope, reqSpec{name: "List " + strings.ToLower(r.name), method: "GET", path: base, query: [][2]string{{"limit", "{{pageSize}}"}}, status: 200, maxMillis: 1500,
				desc: "Lists " + strings.ToLower(r.name) + ", newest first."}),
			e.examplesRequest(scope, reqSpec{name: "Create " + r.singular, method: "POST", path: base, status: 201, checkJSON: true,
				body: fmt.Sprintf(`{"description": "demo %s", "metadata": {"source": "postman"}}`, r.singular)}),
			e.examplesRequest(scope, reqSpec{name: "Retrieve " + r.singular, method: "GET", path: base + "/{{" + strings.ReplaceAll(r.singular, " ", "_") + "_id}}", status: 200, checkJSON: true}),
			e.examplesRequest(scope, reqSpec{name: "Update " + r.singular, method: "PATCH", path: base + "/{{" + strings.ReplaceAll(r.singular, " ", "_") + "_id}}", status: 200,
				body: `{"metadata": {"updated_by": "postman"}}`}),
			e.examplesRequest(scope, reqSpec{name: "Replace " + r.singular, method: "PUT", path: base + "/{{" + strings.ReplaceAll(r.singular, " ", "_") + "_id}}", status: 200,
				body: `{"description": "replaced"}`}),
			e.examplesRequest(scope, reqSpec{name: "Delete " + r.singular, method: "DELETE", path: base + "/{{" + strings.ReplaceAll(r.singular, " ", "_") + "_id}}", status: 200}),
			e.examplesRequest(scope, reqSpec{name: "Search " + strings.ToLower(r.name), method: "GET", path: base + "/search", query: [][2]string{{"query", "created>1700000000"}}, status: 200}),
			e.examplesRequest(scope, reqSpec{name: "Export " + strings.ToLower(r.name), method: "POST", path: base + "/exports", status: 202, body: `{"format": "csv"}`}),
		}
		validation := []any{}
		for i, c := range []struct {
			name   string
			method string
			suffix string
			body   string
			status int
		}{
			{"Create with empty body", "POST", "", `{}`, 400},
			{"Create with unknown field", "POST", "", `{"unknown_field": 1}`, 400},
			{"Create with invalid currency", "POST", "", `{"currency": "XXX"}`, 422},
			{"Retrieve unknown id", "GET", "/does-not-exist", "", 404},
			{"Update with wrong type", "PATCH", "/{{id}}", `{"metadata": "nope"}`, 400},
			{"Delete twice", "DELETE", "/{{id}}", "", 404},
			{"List with bad limit", "GET", "?limit=1000", "", 400},
			{"Unauthenticated request", "GET", "/unauthenticated", "", 401},
		} {
			validation = append(validation, e.examplesRequest(scope+"/"+r.name, reqSpec{name: fmt.Sprintf("%s (%d)", c.name, i+1), method: c.method,
				path: base + c.suffix, body: c.body, status: c.status, mockCode: c.status}))
		}
		paging := []any{}
		for i := 1; i <= 8; i++ {
			paging = append(paging, e.examplesRequest(scope+"/"+r.name, reqSpec{name: fmt.Sprintf("Page %d of %s", i, strings.ToLower(r.name)),
				method: "GET", path: base, query: [][2]string{{"limit", "{{pageSize}}"}, {"starting_after", fmt.Sprintf("cursor_%d", i)}}, status: 200}))
		}
		items = append(items, e.seedFolder(scope, r.name, "Endpoints for "+strings.ToLower(r.name)+".", []any{
			e.seedFolder(scope+"/"+r.name, "Happy path", "", happy),
			e.seedFolder(scope+"/"+r.name, "Validation", "Requests that must be rejected.", validation),
			e.seedFolder(scope+"/"+r.name, "Pagination & filters", "", paging),
		}))
	}
	sandbox := []any{}
	for i := 1; i <= 9; i++ {
		sandbox = append(sandbox, e.examplesRequest(scope+"/Sandbox", reqSpec{name: fmt.Sprintf("Simulate card %d", 4000+i), method: "POST",
			path: "/v1/test_helpers/cards", body: fmt.Sprintf(`{"number": "400000000000%04d"}`, i), status: 200}))
	}
	items = append(items, e.seedFolder(scope, "Sandbox", "Test helpers available only in staging.", sandbox))
	return items
}

func (e *Emulator) smokeItems() []any {
	const scope = DemoCollectionSmoke
	return []any{
		e.seedRequest(scope, reqSpec{name: "Health check", method: "GET", path: "/health", status: 200, maxMillis: 1000}),
		e.seedRequest(scope, reqSpec{name: "Get OAuth token", method: "POST", path: "/oauth/token", status: 200,
			body: `{"grant_type": "client_credentials", "client_id": "{{clientId}}", "client_secret": "{{clientSecret}}"}`}),
		e.seedFolder(scope, "Payments", "", []any{
			e.seedRequest(scope, reqSpec{name: "Create payment intent", method: "POST", path: "/v1/payment_intents", status: 201, checkJSON: true,
				body: `{"amount": 1999, "currency": "{{currency}}"}`}),
			e.seedRequest(scope, reqSpec{name: "Confirm payment intent", method: "POST", path: "/v1/payment_intents/pi_demo/confirm", status: 200}),
			e.seedRequest(scope, reqSpec{name: "List recent charges", method: "GET", path: "/v1/charges", query: [][2]string{{"limit", "5"}}, status: 200, maxMillis: 1500}),
		}),
		e.seedRequest(scope, reqSpec{name: "Refund smoke payment", method: "POST", path: "/v1/refunds", status: 201, body: `{"payment_intent": "pi_demo"}`}),
	}
}

func (e *Emulator) ordersItems() []any {
	const scope = DemoCollectionOrders
	folder := func(name string, specs ...reqSpec) map[string]any {
		items := make([]any, len(specs))
		for i, s := range specs {
			items[i] = e.seedRequest(scope+"/"+name, s)
		}
		return e.seedFolder(scope, name, name+" endpoints of the orders service.", items)
	}
	return []any{
		folder("Orders",
			reqSpec{name: "List orders", method: "GET", path: "/orders", status: 200, maxMillis: 1000},
			reqSpec{name: "Create order", method: "POST", path: "/orders", status: 201, checkJSON: true, maxMillis: 800,
				body: `{"sku": "ACME-TSHIRT-M", "quantity": 2, "warehouse": "{{warehouseId}}"}`, desc: "Creates an order and reserves stock."},
			reqSpec{name: "Get order", method: "GET", path: "/orders/{{orderId}}", status: 200, checkJSON: true},
			reqSpec{name: "Update shipping address", method: "PATCH", path: "/orders/{{orderId}}", status: 200, body: `{"shipping": {"city": "Lisbon"}}`},
			reqSpec{name: "Cancel order", method: "POST", path: "/orders/{{orderId}}/cancel", status: 200},
			reqSpec{name: "Search orders", method: "GET", path: "/orders/search", query: [][2]string{{"status", "paid"}}, status: 200},
		),
		folder("Payments",
			reqSpec{name: "Pay order", method: "POST", path: "/orders/{{orderId}}/pay", status: 200, body: `{"method": "card"}`},
			reqSpec{name: "Get payment status", method: "GET", path: "/orders/{{orderId}}/payment", status: 200},
			reqSpec{name: "Capture payment", method: "POST", path: "/orders/{{orderId}}/capture", status: 200},
		),
		withAuth(folder("Fulfilment",
			reqSpec{name: "Create shipment", method: "POST", path: "/shipments", status: 201, body: `{"order": "{{orderId}}"}`},
			reqSpec{name: "Get shipment", method: "GET", path: "/shipments/{{shipmentId}}", status: 200},
			reqSpec{name: "Mark delivered", method: "POST", path: "/shipments/{{shipmentId}}/delivered", status: 200},
			reqSpec{name: "List pick lists", method: "GET", path: "/warehouses/{{warehouseId}}/pick-lists", status: 200},
		), bearerAuth("{{warehouseToken}}")),
		folder("Returns",
			reqSpec{name: "Open return", method: "POST", path: "/returns", status: 201, body: `{"order": "{{orderId}}", "reason": "size"}`},
			reqSpec{name: "Get return", method: "GET", path: "/returns/{{returnId}}", status: 200},
			reqSpec{name: "Approve return", method: "POST", path: "/returns/{{returnId}}/approve", status: 200},
			reqSpec{name: "Refund return", method: "POST", path: "/returns/{{returnId}}/refund", status: 200},
		),
		e.seedRequest(scope, reqSpec{name: "Orders service health", method: "GET", path: "/health", status: 200}),
	}
}

func withAuth(item map[string]any, auth map[string]any) map[string]any {
	item["auth"] = auth
	return item
}

func (e *Emulator) checkoutItems() []any {
	const scope = DemoCollectionCheckout
	steps := []reqSpec{
		{name: "Open storefront", method: "GET", path: "/storefront", status: 200, maxMillis: 1500},
		{name: "Search products", method: "GET", path: "/products", query: [][2]string{{"q", "t-shirt"}}, status: 200},
		{name: "Add to cart", method: "POST", path: "/cart/items", status: 201, body: `{"sku": "ACME-TSHIRT-M", "quantity": 1}`},
		{name: "Get cart", method: "GET", path: "/cart", status: 200, checkJSON: true},
		{name: "Start checkout", method: "POST", path: "/checkout", status: 201, body: `{"cart": "{{cartId}}"}`},
		{name: "Set shipping", method: "PUT", path: "/checkout/{{checkoutId}}/shipping", status: 200, body: `{"method": "standard"}`},
		{name: "Confirm payment", method: "POST", path: "/checkout/{{checkoutId}}/confirm", status: 200, checkJSON: true, body: `{"payment_method": "pm_card_visa"}`},
		{name: "Get receipt", method: "GET", path: "/checkout/{{checkoutId}}/receipt", status: 200},
	}
	items := make([]any, len(steps))
	for i, s := range steps {
		items[i] = e.seedRequest(scope, s)
	}
	return items
}

func (e *Emulator) billingItems() []any {
	const scope = DemoCollectionBilling
	return []any{
		e.seedRequest(scope, reqSpec{name: "Fetch legacy invoices", method: "GET", path: "/legacy/invoices", status: 200}),
		e.seedRequest(scope, reqSpec{name: "Push invoices to Payments", method: "POST", path: "/v1/invoices/import", status: 202, body: `{"batch": "nightly"}`}),
		e.seedRequest(scope, reqSpec{name: "Reconcile balances", method: "POST", path: "/v1/reconciliation", status: 200, body: `{}`}),
		e.seedRequest(scope, reqSpec{name: "Mark batch done", method: "PUT", path: "/legacy/batches/latest", status: 200, body: `{"state": "done"}`}),
	}
}

func (e *Emulator) forkItems() []any {
	const scope = "Orders API – Dana's fork"
	return []any{
		e.seedRequest(scope, reqSpec{name: "Create order", method: "POST", rawURL: "https://orders.staging.acme-pay.example/orders", status: 201, body: `{"sku": "ACME-MUG"}`}),
		e.seedRequest(scope, reqSpec{name: "Partial refund", method: "POST", rawURL: "https://orders.staging.acme-pay.example/orders/ord_1001/refunds", status: 201, body: `{"amount": 500}`}),
	}
}

func (e *Emulator) inventoryItems() []any {
	const scope = "Inventory API"
	var items []any
	for _, s := range []reqSpec{
		{name: "Health", method: "GET", path: "/health", status: 200},
		{name: "List warehouses", method: "GET", path: "/warehouses", status: 200},
		{name: "Get stock level", method: "GET", path: "/stock/{{sku}}", status: 200, checkJSON: true},
		{name: "Reserve stock", method: "POST", path: "/reservations", status: 201, body: `{"sku": "GX-100", "qty": 3}`},
		{name: "Release reservation", method: "DELETE", path: "/reservations/{{reservationId}}", status: 200},
	} {
		items = append(items, e.seedRequest(scope, s))
	}
	return items
}

// AddGeneratedCollection adds a synthetic collection of n requests (folders of 50, in groups of 10 folders) to
// workspaceID, owned by the user of ownerKey; workspaceID "" means that user's first team workspace, or their
// personal one. It returns the collection's UID. Meant for benchmarks that need, say, a 4,000-request collection.
func (e *Emulator) AddGeneratedCollection(ownerKey, workspaceID, name string, n int) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[ownerKey]
	if u == nil {
		return "", fmt.Errorf("add generated collection: no user has that key")
	}
	if n < 1 {
		return "", fmt.Errorf("add generated collection %q: need at least one request, got %d", name, n)
	}
	var w *workspace
	if workspaceID != "" {
		w = e.visibleWorkspace(u, workspaceID)
		if w == nil {
			return "", fmt.Errorf("add generated collection %q: workspace %s not found for user %d", name, workspaceID, u.ID)
		}
	} else {
		for _, cand := range byOrder(e.workspaces, wsOrder) {
			if cand.typ != "personal" && cand.canSee(u) {
				w = cand
				break
			}
		}
		if w == nil {
			w = e.personalWorkspace(u)
		}
	}
	now := e.now()
	scope := fmt.Sprintf("generated/%s/%d", name, e.nextOrder())
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	var groups []any
	var group, folder []any
	flushFolder := func() {
		if len(folder) > 0 {
			group = append(group, e.seedFolder(scope, fmt.Sprintf("Folder %03d", len(group)+1+10*len(groups)), "", folder))
			folder = nil
		}
	}
	flushGroup := func() {
		flushFolder()
		if len(group) > 0 {
			groups = append(groups, e.seedFolder(scope, fmt.Sprintf("Group %02d", len(groups)+1), "", group))
			group = nil
		}
	}
	for i := range n {
		method := methods[i%len(methods)]
		spec := reqSpec{name: fmt.Sprintf("Request %05d", i+1), method: method, path: fmt.Sprintf("/resources/%d/items/%d", i/50, i), status: 200}
		if method == "POST" || method == "PUT" || method == "PATCH" {
			spec.body = fmt.Sprintf(`{"index": %d}`, i)
		}
		folder = append(folder, e.seedRequest(scope, spec))
		if len(folder) == 50 {
			flushFolder()
		}
		if len(group) == 10 {
			flushGroup()
		}
	}
	flushGroup()
	col := &collection{id: e.newID("collection"), owner: u.ID, workspaceID: w.id, createdAt: now, lastUpdatedBy: u.ID, order: e.nextOrder(),
		info: map[string]any{"name": name, "schema": schemaV21, "description": fmt.Sprintf("Generated collection with %d requests.", n)}}
	col.items = e.normalizeItems(groups, u.ID, now, true, nil)
	col.updatedAt = now
	e.collections[col.id] = col
	return col.uid(), nil
}

// UIDByName finds a visible-to-anyone object by kind ("workspace", "collection", "environment", "monitor",
// "mock") and exact name, returning its UID (a workspace's bare ID). The first match in creation order wins.
func (e *Emulator) UIDByName(kind, name string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch kind {
	case "workspace":
		for _, w := range byOrder(e.workspaces, wsOrder) {
			if w.name == name {
				return w.id, true
			}
		}
	case "collection":
		for _, c := range byOrder(e.collections, colOrder) {
			if c.name() == name {
				return c.uid(), true
			}
		}
	case "environment":
		for _, v := range byOrder(e.environments, envOrder) {
			if v.name == name {
				return v.uid(), true
			}
		}
	case "monitor":
		for _, m := range byOrder(e.monitors, monOrder) {
			if m.name == name {
				return m.uid(), true
			}
		}
	case "mock":
		for _, m := range byOrder(e.mocks, mockOrder) {
			if m.name == name {
				return m.uid(), true
			}
		}
	}
	return "", false
}
