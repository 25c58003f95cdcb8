package slackbot

import (
	"errors"
	"slices"
	"strings"
	"unicode"

	"github.com/pmops/pmops/internal/slackrender"
)

// Command is one parsed `/postman …` line: a tool call, or one of the bot's own verbs.
type Command struct {
	// Verb is the bot's own action: "help", "login", "logout", "whoami"; empty for a tool call.
	Verb string
	// Tool and Args are the tool call; Write says it changes Postman and needs confirmation and permission.
	Tool  string
	Args  map[string]any
	Write bool
	// Usage is set when the input did not parse: that command's usage (without "/postman "), shown with Problem.
	// An unknown command has no Usage but a Problem: the whole help is shown.
	Usage, Problem string
	// Plain asks env set to store every value as plain text, even for keys that look secret.
	Plain bool
	// Secret names the keys env set stores as secret-type variables.
	Secret []string
}

// ParseCommand reads the text after `/postman`. Names with spaces may be quoted ("Orders staging"); where a name
// is the last argument, the rest of the line is the name, so quotes are optional there.
func ParseCommand(text string) Command {
	words, err := splitWords(text)
	if err != nil {
		return Command{Verb: "help", Problem: err.Error(), Usage: usageFor(text)}
	}
	if len(words) == 0 {
		return Command{Verb: "help"}
	}
	head, rest := strings.ToLower(words[0]), words[1:]
	rejoin := func(ws []string) string { return strings.Join(ws, " ") }
	switch head {
	case "help", "?":
		return Command{Verb: "help"}
	case "login", "logout", "whoami":
		return Command{Verb: head}
	case "quota", "account":
		return tool("get_account", nil)
	case "workspaces":
		return tool("list_workspaces", nil)
	case "workspace":
		if len(rest) == 0 {
			return usage("workspace <name>")
		}
		return tool("get_workspace", map[string]any{"workspace": rejoin(rest)})
	case "collections":
		return tool("list_collections", optional("workspace", rejoin(rest)))
	case "collection":
		if len(rest) == 0 {
			return usage("collection <name>")
		}
		return tool("get_collection", map[string]any{"collection": rejoin(rest)})
	case "envs", "environments":
		return tool("list_environments", optional("workspace", rejoin(rest)))
	case "env", "environment":
		return parseEnv(rest)
	case "monitors":
		return tool("list_monitors", optional("workspace", rejoin(rest)))
	case "monitor":
		return parseMonitor(rest)
	case "subscribe", "unsubscribe", "subscriptions", "mute", "unmute":
		return parseNotify(head, rest)
	case "mocks":
		return tool("list_mocks", optional("workspace", rejoin(rest)))
	case "run":
		return parseRun(rest)
	}
	return Command{Verb: "help", Problem: "Unknown command “" + clipWord(words[0]) + "”."}
}

// clipWord keeps an echoed word short.
func clipWord(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// usageFor guesses which command a line that did not split meant, from its first word, for its usage line.
func usageFor(text string) string {
	f := strings.Fields(strings.NewReplacer(`"`, " ", "'", " ", "“", " ", "”", " ").Replace(text))
	if len(f) == 0 {
		return "help"
	}
	switch strings.ToLower(f[0]) {
	case "env", "environment":
		if len(f) > 1 {
			switch strings.ToLower(f[1]) {
			case "set":
				return "env set <env> <key>=<value> … [--plain]"
			case "unset":
				return "env unset <env> <key> …"
			case "set-secret":
				return "env set-secret <env> <key>"
			}
		}
		return "env get <env> [key]"
	case "monitor":
		return "monitor <name> | monitor run|pause|resume|why <name>"
	case "collection":
		return "collection <name>"
	case "workspace":
		return "workspace <name>"
	case "run":
		return runUsage
	}
	return "help"
}

func parseEnv(rest []string) Command {
	if len(rest) == 0 {
		return usage("env get|set|set-secret|unset <env> …")
	}
	sub, args := strings.ToLower(rest[0]), rest[1:]
	switch sub {
	case "get", "show":
		switch len(args) {
		case 0:
			return usage("env get <env> [key]")
		case 1:
			return tool("get_environment", map[string]any{"environment": args[0]})
		case 2:
			return tool("get_environment", map[string]any{"environment": args[0], "key": args[1]})
		}
		return usageWhy("env get <env> [key]", `Quote names with spaces: env get "Orders staging" baseUrl`)
	case "set-secret":
		if len(args) != 2 {
			return usageWhy("env set-secret <env> <key>", `Name the environment and one key; quote names with spaces: env set-secret "Orders staging" apiToken`)
		}
		return Command{Verb: "set-secret", Args: map[string]any{"environment": args[0], "key": args[1]}}
	case "set":
		plain := false
		args = slices.DeleteFunc(slices.Clone(args), func(a string) bool {
			if a == "--plain" {
				plain = true
				return true
			}
			return false
		})
		// The environment is every word before the first key=value pair.
		i := 0
		for i < len(args) && !strings.Contains(args[i], "=") {
			i++
		}
		if i == 0 || i == len(args) {
			return usage("env set <env> <key>=<value> … [--plain]")
		}
		set := map[string]any{}
		var secret []string
		for _, kv := range args[i:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return usageWhy("env set <env> <key>=<value> … [--plain]", "“"+clipWord(kv)+"” is not key=value.")
			}
			set[k] = v
			if !plain && slackrender.LooksSecretKey(k) && !slices.Contains(secret, k) {
				secret = append(secret, k)
			}
		}
		slices.Sort(secret)
		c := tool("set_environment_variables", map[string]any{"environment": strings.Join(args[:i], " "), "set": set})
		if len(secret) > 0 {
			list := make([]any, len(secret))
			for j, k := range secret {
				list[j] = k
			}
			c.Args["secret"] = list
		}
		c.Write, c.Plain, c.Secret = true, plain, secret
		return c
	case "unset":
		if len(args) < 2 {
			return usageWhy("env unset <env> <key> …", `Quote names with spaces: env unset "Orders staging" token`)
		}
		keys := make([]any, 0, len(args)-1)
		for _, k := range args[1:] {
			keys = append(keys, k)
		}
		c := tool("unset_environment_variables", map[string]any{"environment": args[0], "keys": keys})
		c.Write = true
		return c
	}
	// `env <name> [key]` reads as `env get`.
	return parseEnv(append([]string{"get"}, rest...))
}

func parseMonitor(rest []string) Command {
	if len(rest) == 0 {
		return usage("monitor <name> | monitor run|pause|resume|why <name>")
	}
	sub, args := strings.ToLower(rest[0]), strings.Join(rest[1:], " ")
	switch sub {
	case "run", "pause", "resume", "why", "explain", "history":
		if args == "" {
			return usage("monitor " + sub + " <name>")
		}
	}
	switch sub {
	case "run":
		c := tool("run_monitor", map[string]any{"monitor": args})
		c.Write = true
		return c
	case "pause", "resume":
		c := tool("set_monitor_active", map[string]any{"monitor": args, "active": sub == "resume"})
		c.Write = true
		return c
	case "why", "explain":
		return tool("explain_monitor_failure", map[string]any{"monitor": args})
	case "history":
		return tool("monitor_history", map[string]any{"monitor": args})
	}
	return tool("get_monitor", map[string]any{"monitor": strings.Join(rest, " ")})
}

func tool(name string, args map[string]any) Command {
	if args == nil {
		args = map[string]any{}
	}
	return Command{Tool: name, Args: args}
}

func optional(key, value string) map[string]any {
	if value == "" {
		return nil
	}
	return map[string]any{key: value}
}

func usage(u string) Command { return Command{Verb: "help", Usage: u} }

func usageWhy(u, problem string) Command { return Command{Verb: "help", Usage: u, Problem: problem} }

// splitWords splits on spaces, keeping "double" or 'single' or “smart” quoted runs together (Slack clients turn
// straight quotes into smart ones).
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote || (quote == '“' && r == '”') || (quote == '‘' && r == '’') {
				quote = 0
				continue
			}
			cur.WriteRune(r)
		case r == '"' || r == '\'' || r == '“' || r == '‘':
			quote = r
			inWord = true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("A quote is opened but not closed; close it (\"Orders staging\") or leave it out.")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
