package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pmops/pmops/internal/cli"
	"github.com/pmops/pmops/internal/tools"
)

// tourSteps show the tool layer on the demo team: who we are, what's there, what's failing and why.
var tourSteps = [][]string{
	{"get_account"},
	{"list_monitors"},
	{"run_monitor", "monitor=Orders API nightly regression"},
	{"explain_monitor_failure", "monitor=Orders API nightly regression"},
	{"get_collection", "collection=Payments API", "depth=1"},
	{"get_environment", "environment=staging"},
	{"set_environment_variables", "environment=staging", `set={"timeout_ms":"8000"}`, "dry_run=true"},
}

func tour(ctx context.Context, env *tools.Env, stdout, stderr io.Writer) int {
	for _, step := range tourSteps {
		fmt.Fprintf(stdout, "$ mcp call %s\n", quoteWords(step))
		if _, err := cli.Call(ctx, env, step[0], step[1:], stdout, cli.Options{}); err != nil {
			fmt.Fprintf(stdout, "error: %v\n", err)
		}
		fmt.Fprintln(stdout)
	}
	return 0
}

func quoteWords(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = w
		if strings.Contains(w, " ") {
			quoted[i] = "'" + w + "'"
		}
	}
	return strings.Join(quoted, " ")
}
