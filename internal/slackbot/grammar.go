package slackbot

import (
	"fmt"
	"strings"
	"unicode"
)

// Command is one parsed `/postman …` line: a tool call, or one of the bot's own verbs.
type Command struct {
	// Verb is the bot's own action: "help", "login", "logout", "whoami"; empty for a tool call.
	Verb string
	// Tool and Args are the tool call; Write says it changes Postman and needs confirmation and permission.
	Tool  string
	Args  map[string]any
	Write bool
	// Usage is set when the input did not parse: the line to show with help.
	Usage string
}

// ParseCommand reads the text after `/postman`. Names with spaces may be quoted ("Orders staging"); where a name
// is the last argument, the rest of the line is the name, so quotes are optional there.
func ParseCommand(text string) Command {
	words, err := splitWords(text)
	if err != nil {
		return Command{Verb: "help", Usage: err.Error()}
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
	}
	return Command{Verb: "help", Usage: fmt.Sprintf("unknown command %q", words[0])}
}

func parseEnv(rest []string) Command {
	if len(rest) == 0 {
		return usage("env get|set|unset <env> …")
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
		return usage(`env get <env> [key] (quote names with spaces: env get "Orders staging" baseUrl)`)
	case "set":
		// The environment is every word before the first key=value pair.
		i := 0
		for i < len(args) && !strings.Contains(args[i], "=") {
			i++
		}
		if i == 0 || i == len(args) {
			return usage("env set <env> <key>=<value> …")
		}
		set := map[string]any{}
		for _, kv := range args[i:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return usage(fmt.Sprintf("env set <env> <key>=<value> … (%q is not key=value)", kv))
			}
			set[k] = v
		}
		c := tool("set_environment_variables", map[string]any{"environment": strings.Join(args[:i], " "), "set": set})
		c.Write = true
		return c
	case "unset":
		if len(args) < 2 {
			return usage(`env unset <env> <key> … (quote names with spaces: env unset "Orders staging" token)`)
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

func usage(u string) Command { return Command{Verb: "help", Usage: "usage: /postman " + u} }

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
		return nil, fmt.Errorf("unclosed quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
