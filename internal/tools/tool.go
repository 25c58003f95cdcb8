package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Toolset groups tools that serve one area of Postman; adapters enable or hide whole toolsets.
type Toolset string

const (
	ToolsetAccount      Toolset = "account"
	ToolsetWorkspaces   Toolset = "workspaces"
	ToolsetCollections  Toolset = "collections"
	ToolsetEnvironments Toolset = "environments"
	ToolsetMonitors     Toolset = "monitors"
	ToolsetMocks        Toolset = "mocks"
)

// Hints are the behaviour annotations every tool states explicitly (MCP's defaults would call every tool
// destructive and open-world, so none is left to a default).
type Hints struct {
	ReadOnly    bool // does not change anything in Postman
	Destructive bool // may delete or overwrite data that cannot be recovered
	Idempotent  bool // calling twice with the same arguments has no extra effect
	OpenWorld   bool // talks to a system outside this process (Postman's API)
}

// Result is what a tool returns: a typed value that is also its own compact text rendering.
// Adapters send the value as structured data and Text() to readers that want prose.
type Result interface {
	Text() string
}

// Tool is one operation, defined once and served by every adapter (MCP, Slack, CLI).
type Tool struct {
	Name        string
	Title       string
	Description string
	Toolset     Toolset
	Hints       Hints
	// InputSchema and OutputSchema are JSON Schemas derived from the argument and result types.
	InputSchema  json.RawMessage
	OutputSchema json.RawMessage

	argsType reflect.Type
	decode   func(raw json.RawMessage) error
	run      func(ctx context.Context, env *Env, raw json.RawMessage) (Result, error)
	// schemas fills InputSchema and OutputSchema, once (sync.OnceFunc). A server serves only some tools, so All,
	// Lookup and Select run it only for the tools they hand out. It takes them from schemas_gen.go, written from
	// derive by TestGeneratedSchemas -update, and derives them by reflection only for a tool missing there:
	// reflection over the argument and result types was the largest part of a stdio server's own start-up work.
	schemas func()
	// derive computes the schemas by reflection from the argument and result types.
	derive func() (in, out json.RawMessage)
}

// withSchemas derives t's schemas if that has not happened yet, and returns t.
func (t *Tool) withSchemas() *Tool {
	if t.schemas != nil {
		t.schemas()
	}
	return t
}

// Call decodes raw arguments, runs the tool and returns its result. Every failure a caller can act on is an
// *Error (see AsError); anything else is a bug.
func (t *Tool) Call(ctx context.Context, env *Env, raw json.RawMessage) (_ Result, err error) {
	defer observeCall(t.Name, time.Now(), &err)
	if env == nil || env.Client == nil {
		return nil, &Error{Kind: KindUnauthorized, Message: "no Postman API key is configured", Hint: "set POSTMAN_API_KEY (or log in) and try again"}
	}
	return t.run(ctx, env, raw)
}

// Args returns the argument type, for adapters that build arguments from other input (Slack commands).
func (t *Tool) Args() reflect.Type { return t.argsType }

// define builds a Tool from its metadata and a typed handler; its schemas are set when it is first handed out
// (withSchemas). Schema derivation errors are programming errors and panic, which TestGeneratedSchemas exercises
// (it derives every tool's).
func define[A any, R Result](meta Tool, run func(ctx context.Context, env *Env, args A) (R, error)) *Tool {
	t := meta
	t.derive = func() (json.RawMessage, json.RawMessage) {
		in, err := schemaFor(reflect.TypeFor[A]())
		if err != nil {
			panic(fmt.Sprintf("tool %s: input schema: %v", meta.Name, err))
		}
		out, err := outputSchemaFor(reflect.TypeFor[R]())
		if err != nil {
			panic(fmt.Sprintf("tool %s: output schema: %v", meta.Name, err))
		}
		return in, out
	}
	t.schemas = sync.OnceFunc(func() {
		if in, out, ok := generatedSchemas(t.Name); ok {
			t.InputSchema, t.OutputSchema = json.RawMessage(in), json.RawMessage(out)
			return
		}
		t.InputSchema, t.OutputSchema = t.derive()
	})
	t.argsType = reflect.TypeFor[A]()
	t.decode = func(raw json.RawMessage) error {
		_, err := decodeArgs[A](raw)
		return err
	}
	t.run = func(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
		args, err := decodeArgs[A](raw)
		if err != nil {
			return nil, err
		}
		st := &callState{tool: t.Name, readOnly: t.Hints.ReadOnly}
		ctx = context.WithValue(ctx, stateKey{}, st)
		// Cursors are bound here, once for every tool: the handler sees only the position inside.
		cur, bind, paged := pagingOf(reflect.ValueOf(&args).Elem())
		if paged && cur.String() != "" {
			c, err := DecodeCursor(t.Name, bind, cur.String())
			if err != nil {
				return nil, err
			}
			st.in = c
			cur.SetString(c.Pos)
		}
		res, err := run(ctx, env, args)
		if err != nil {
			return nil, classify(err)
		}
		v := reflect.ValueOf(&res).Elem()
		if v.Kind() == reflect.Interface {
			return res, nil
		}
		if next, ok := stringField(v, "NextCursor"); ok && next.String() != "" {
			st.mu.Lock()
			keep := st.keep
			st.mu.Unlock()
			keep.Pos = next.String()
			next.SetString(EncodeCursor(t.Name, bind, keep))
		}
		if r, ok := stringField(v, "Resolved"); ok && len(st.resolved) > 0 {
			r.SetString(strings.Join(st.resolved, "; "))
		}
		return res, nil
	}
	return &t
}
