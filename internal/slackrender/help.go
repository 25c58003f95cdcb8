package slackrender

import (
	"strings"
)

// command is one line of the /postman grammar, with one example of it.
type command struct{ usage, what, example string }

var helpGroups = []struct {
	title    string
	commands []command
}{
	{"Account", []command{
		{"login", "link your Postman API key (opens a private form)", "login"},
		{"logout", "forget your API key", "logout"},
		{"whoami", "who you act as in Postman", "whoami"},
		{"quota", "API calls left this month and the live rate budget", "quota"},
	}},
	{"Workspaces and collections", []command{
		{"workspaces", "list the workspaces you can see", "workspaces"},
		{"workspace <name>", "what one workspace holds", "workspace Payments Team"},
		{"collections [workspace]", "list collections, optionally in one workspace", "collections Payments Team"},
		{"collection <name>", "outline of a collection's folders and requests", "collection Orders API"},
	}},
	{"Collection runs", []command{
		{"run <collection> [env <environment>] [folder <folder>]", "run a collection's requests with Newman; asks you to confirm, shows progress, then failures and a Re-run button", "run Payments API env staging"},
	}},
	{"Environments", []command{
		{"envs [workspace]", "list environments", "envs"},
		{"env get <env> [key]", "show variables (secret values stay masked)", "env get Staging baseUrl"},
		{"env set <env> <key>=<value> … [--plain]", "set variables; keys that look secret are stored as secrets unless --plain; shows the change and asks you to confirm", "env set Staging baseUrl=https://staging.example.com timeout=5000"},
		{"env set-secret <env> <key>", "set one secret value in a private form, so it never appears in a command", "env set-secret Staging apiToken"},
		{"env unset <env> <key> …", "remove variables; asks you to confirm", "env unset Staging legacyToken"},
	}},
	{"Monitors", []command{
		{"monitors [workspace]", "list monitors with their last run", "monitors"},
		{"monitor <name>", "schedule and last run of one monitor", "monitor Nightly smoke"},
		{"monitor why <name>", "why the last run failed", "monitor why Nightly smoke"},
		{"monitor run <name>", "run a monitor now; asks you to confirm", "monitor run Nightly smoke"},
		{"monitor pause|resume <name>", "stop or restart a monitor's schedule; asks you to confirm", "monitor pause Nightly smoke"},
	}},
	{"Mock servers", []command{
		{"mocks [workspace]", "list mock servers", "mocks"},
	}},
	{"Help", []command{
		{"help", "this message", "help"},
	}},
}

// Commands lists every command's usage and example, for tests and the manifest's usage hint.
func Commands() (usages, examples []string) {
	for _, g := range helpGroups {
		for _, c := range g.commands {
			usages = append(usages, c.usage)
			examples = append(examples, c.example)
		}
	}
	return usages, examples
}

// Help renders the usage of /postman: every command with one example each.
func Help(examples bool) Message {
	d := &doc{summary: "How to use /postman", title: "/postman help"}
	d.addHead(headerBlock("Postman in Slack: /postman"))
	for _, g := range helpGroups {
		lines := []string{"*" + escape(g.title) + "*"}
		for _, c := range g.commands {
			line := code("/postman "+c.usage) + " — " + escape(c.what)
			if examples && c.example != c.usage {
				line += "\n\u2003e.g. " + code("/postman "+c.example)
			}
			lines = append(lines, line)
		}
		d.add(lineBlocks(lines)...)
	}
	d.add(contextBlock(strings.Join([]string{
		"Replies are visible only to you; press *Share to channel* to post one for everyone.",
		"Reading accepts part of a name; changes need the whole name, and when several match you pick one from the buttons.",
	}, " ")))
	return d.render(Options{}, nil)
}

// Usage renders what went wrong with a command and that command's usage only (with its example), not the whole
// help. problem and usage are plain text.
func Usage(problem, usage string) Message {
	d := &doc{summary: nonEmpty(oneLine(problem), "usage: /postman "+usage), title: "/postman " + usage}
	var lines []string
	if strings.TrimSpace(problem) != "" {
		lines = append(lines, "⚠️ "+escape(flat(problem, 500)))
	}
	lines = append(lines, "*Usage:* "+code("/postman "+clip(usage, 300)))
	if ex := exampleFor(usage); ex != "" {
		lines = append(lines, "*Example:* "+code("/postman "+ex))
	}
	d.add(lineBlocks(lines)...)
	d.add(contextBlock("All commands: " + code("/postman help")))
	return d.render(Options{}, nil)
}

// exampleFor finds the example of the help line whose usage starts like usage.
func exampleFor(usage string) string {
	words := strings.Fields(usage)
	if len(words) == 0 {
		return ""
	}
	best, bestN := "", 0
	for _, g := range helpGroups {
		for _, c := range g.commands {
			cw := strings.Fields(c.usage)
			n := 0
			for n < len(cw) && n < len(words) && cw[n] == words[n] {
				n++
			}
			if n > bestN {
				best, bestN = c.example, n
			}
		}
	}
	return best
}
