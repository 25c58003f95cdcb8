package mcpproc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

type messageKind int

const (
	kindInvalid messageKind = iota
	kindRequest
	kindNotification
	kindResponse
)

// envelope is any JSON-RPC 2.0 message, as read from the server.
type envelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *RPCError       `json:"error,omitempty"`
}

func (e *envelope) kind() messageKind {
	hasID := len(e.ID) > 0 && !bytes.Equal(bytes.TrimSpace(e.ID), []byte("null"))
	switch {
	case e.Method != "" && hasID:
		return kindRequest
	case e.Method != "":
		return kindNotification
	case e.Result != nil || e.Error != nil:
		return kindResponse
	}
	return kindInvalid
}

// parseEnvelope decodes one stdout line and checks it is a JSON-RPC 2.0
// message. Result keeps the exact bytes the server sent.
func parseEnvelope(line []byte) (*envelope, error) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, err
	}
	if env.JSONRPC != "2.0" {
		return nil, fmt.Errorf("jsonrpc member is %q, want \"2.0\"", env.JSONRPC)
	}
	if env.kind() == kindInvalid {
		return nil, errors.New("neither request, notification nor response")
	}
	if env.kind() == kindResponse && len(env.ID) == 0 {
		return nil, errors.New("response without id")
	}
	return &env, nil
}
