package slackrender

import "strings"

// command is one line of the /postman grammar.
type command struct{ usage, what string }

var helpGroups = []struct {
	title    string
	commands []command
}{
	{"Account", []command{
		{"login", "link your Postman API key (opens a private form)"},
		{"logout", "forget your API key"},
		{"whoami", "who you act as in Postman"},
		{"quota", "API calls left this month and the live rate budget"},
	}},
	{"Workspaces and collections", []command{
		{"workspaces", "list the workspaces you can see"},
		{"collections [workspace]", "list collections, optionally in one workspace"},
		{"collection <name>", "outline of a collection's folders and requests"},
	}},
	{"Environments", []command{
		{"envs [workspace]", "list environments"},
		{"env get <env> [key]", "show variables (secret values stay masked)"},
		{"env set <env> <key>=<value> …", "set variables; shows the change and asks you to confirm"},
		{"env unset <env> <key> …", "remove variables; asks you to confirm"},
	}},
	{"Monitors", []command{
		{"monitors [workspace]", "list monitors with their last run"},
		{"monitor <name>", "schedule and last run of one monitor"},
		{"monitor run <name>", "run a monitor now; asks you to confirm"},
		{"monitor pause|resume <name>", "stop or restart a monitor's schedule"},
	}},
	{"Help", []command{
		{"help", "this message"},
	}},
}

var helpExamples = []string{
	"collections Payments Team",
	"collection Orders API",
	"env get Staging baseUrl",
	"env set Staging baseUrl=https://staging.example.com timeout=5000",
	"env unset Staging legacyToken",
	"monitors",
	"monitor run Nightly smoke",
	"monitor pause Nightly smoke",
}

// Help renders the usage of /postman, with examples when asked.
func Help(examples bool) Message {
	d := &doc{summary: "How to use /postman", title: "/postman help"}
	d.addHead(headerBlock("Postman in Slack: /postman"))
	for _, g := range helpGroups {
		lines := []string{"*" + escape(g.title) + "*"}
		for _, c := range g.commands {
			lines = append(lines, code("/postman "+c.usage)+" — "+escape(c.what))
		}
		d.add(lineBlocks(lines)...)
	}
	if examples {
		lines := []string{"*Examples*"}
		for _, e := range helpExamples {
			lines = append(lines, code("/postman "+e))
		}
		d.add(lineBlocks(lines)...)
	}
	d.add(contextBlock(strings.Join([]string{
		"Replies are visible only to you; press *Share to channel* to post one for everyone.",
		"Names may be partial; when several match, pick one from the buttons.",
	}, " ")))
	return d.render(Options{}, nil)
}
