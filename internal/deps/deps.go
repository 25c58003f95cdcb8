// Package deps pins the third-party modules the project builds on while several packages are written at once.
// It is removed once every dependency has a real importer.
package deps

import (
	_ "github.com/google/uuid"
	_ "github.com/mark3labs/mcp-go/mcp"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/slack-go/slack"
	_ "github.com/sourcegraph/conc/pool"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/sync/singleflight"
	_ "golang.org/x/time/rate"
)
