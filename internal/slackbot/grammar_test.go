package slackbot

import (
	"encoding/json"
	"regexp"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in    string
		tool  string
		args  string
		write bool
		verb  string
	}{
		{"", "", "", false, "help"},
		{"help", "", "", false, "help"},
		{"LOGIN", "", "", false, "login"},
		{"quota", "get_account", `{}`, false, ""},
		{"workspaces", "list_workspaces", `{}`, false, ""},
		{"collections Payments Platform", "list_collections", `{"workspace":"Payments Platform"}`, false, ""},
		{"collection Orders API", "get_collection", `{"collection":"Orders API"}`, false, ""},
		{"envs", "list_environments", `{}`, false, ""},
		{"env get staging", "get_environment", `{"environment":"staging"}`, false, ""},
		{`env get "Orders staging" baseUrl`, "get_environment", `{"environment":"Orders staging","key":"baseUrl"}`, false, ""},
		{`env get “Orders staging” baseUrl`, "get_environment", `{"environment":"Orders staging","key":"baseUrl"}`, false, ""},
		{"env staging baseUrl", "get_environment", `{"environment":"staging","key":"baseUrl"}`, false, ""},
		{"env set staging a=1 b=x=y", "set_environment_variables", `{"environment":"staging","set":{"a":"1","b":"x=y"}}`, true, ""},
		{"env set Orders staging token=abc", "set_environment_variables", `{"environment":"Orders staging","secret":["token"],"set":{"token":"abc"}}`, true, ""},
		{"env set Orders staging token=abc --plain", "set_environment_variables", `{"environment":"Orders staging","set":{"token":"abc"}}`, true, ""},
		{"env set staging apiToken=a dbPassword=b region=eu", "set_environment_variables", `{"environment":"staging","secret":["apiToken","dbPassword"],"set":{"apiToken":"a","dbPassword":"b","region":"eu"}}`, true, ""},
		{"env set-secret staging apiToken", "", `{"environment":"staging","key":"apiToken"}`, false, "set-secret"},
		{"env set-secret staging", "", "", false, "help"},
		{"monitor why Nightly smoke", "explain_monitor_failure", `{"monitor":"Nightly smoke"}`, false, ""},
		{"mocks", "list_mocks", `{}`, false, ""},
		{`env set staging greeting="hello world"`, "set_environment_variables", `{"environment":"staging","set":{"greeting":"hello world"}}`, true, ""},
		{"env unset staging a b", "unset_environment_variables", `{"environment":"staging","keys":["a","b"]}`, true, ""},
		{"monitors", "list_monitors", `{}`, false, ""},
		{"monitor Orders API nightly regression", "get_monitor", `{"monitor":"Orders API nightly regression"}`, false, ""},
		{"monitor run Checkout flow synthetic", "run_monitor", `{"monitor":"Checkout flow synthetic"}`, true, ""},
		{"monitor pause Legacy billing sync", "set_monitor_active", `{"active":false,"monitor":"Legacy billing sync"}`, true, ""},
		{"monitor resume Legacy billing sync", "set_monitor_active", `{"active":true,"monitor":"Legacy billing sync"}`, true, ""},
		{"monitor why Orders", "explain_monitor_failure", `{"monitor":"Orders"}`, false, ""},
		{"mocks", "list_mocks", `{}`, false, ""},
		{"env set staging", "", "", false, "help"},
		{"env set staging =x", "", "", false, "help"},
		{"monitor run", "", "", false, "help"},
		{`env get "unclosed`, "", "", false, "help"},
		{"launch rockets", "", "", false, "help"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			c := ParseCommand(tc.in)
			if c.Verb != tc.verb || c.Tool != tc.tool || c.Write != tc.write {
				t.Fatalf("got %+v", c)
			}
			if tc.args != "" {
				b, _ := json.Marshal(c.Args)
				if string(b) != tc.args {
					t.Fatalf("args %s, want %s", b, tc.args)
				}
			}
		})
	}
}

// FuzzParseCommand: any text a person can type gives either a known tool or help, never a panic.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"env set a b=c", `env get "x y" z`, "monitor run  ", "“", "env unset", "collections\x00", "monitor pause a b c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c := ParseCommand(text)
		if c.Verb == "" && c.Tool == "" {
			t.Fatalf("%q parsed to nothing", text)
		}
		if c.Tool != "" {
			if _, err := json.Marshal(c.Args); err != nil {
				t.Fatalf("%q: args not JSON: %v", text, err)
			}
		}
	})
}

var tokenRE = regexp.MustCompile(`click [A-Za-z0-9_-]{20,}`)
var timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC|\d\d:\d\d:\d\d UTC`)

// stableText blanks tokens and wall-clock times in console output, for golden comparison.
func stableText(s string) string {
	s = tokenRE.ReplaceAllString(s, "click <token>")
	return timeRE.ReplaceAllString(s, "<time>")
}
