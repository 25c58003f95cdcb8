package main

import (
	"encoding/json"
	"errors"
	"fmt"
)

// itemSteps are the write tools of the collection-item, mock and global-variable endpoints (issue 11): the peer
// creates a folder, a request in it and a saved response, reads and updates each, creates and updates a mock
// server of the collection, replaces and reads the workspace's globals, then deletes what it created.
var itemSteps = []step{
	{
		tool: "createCollectionFolder",
		args: collectionArgs(func(s *session) map[string]any {
			return map[string]any{"name": "Peer fidelity folder"}
		}),
		check: itemCheck("folder", func(s *session, id string) { s.folderID = id }),
	},
	{
		tool: "createCollectionRequest",
		args: collectionArgs(func(s *session) map[string]any {
			if s.folderID == "" {
				return nil
			}
			return map[string]any{"folder": s.folderID, "name": "Peer fidelity request", "method": "GET",
				"url": "https://example.invalid/ping?verbose=1", "headerData": []any{map[string]any{"key": "Accept", "value": "application/json"}},
				"events": []any{map[string]any{"listen": "test", "script": map[string]any{"type": "text/javascript",
					"exec": []any{`pm.test("Status code is 200", function () { pm.response.to.have.status(200); });`}}}}}
		}),
		check: itemCheck("request", func(s *session, id string) { s.requestID = id }),
	},
	{
		tool:  "getCollectionRequest",
		args:  collectionArgs(func(s *session) map[string]any { return idArg("requestId", s.requestID) }),
		check: itemCheck("request", nil),
	},
	{
		tool: "updateCollectionRequest",
		args: collectionArgs(func(s *session) map[string]any {
			m := idArg("requestId", s.requestID)
			if m != nil {
				m["name"] = "Peer fidelity request (renamed)"
			}
			return m
		}),
		check: itemCheck("request", nil),
	},
	{
		tool: "createCollectionResponse",
		args: collectionArgs(func(s *session) map[string]any {
			m := idArg("request", s.requestID)
			if m != nil {
				m["name"] = "200 OK"
				m["responseCode"] = map[string]any{"code": 200, "name": "OK"}
				m["headers"] = []any{map[string]any{"key": "Content-Type", "value": "application/json"}}
				m["text"] = `{"pong": true}`
				m["language"] = "json"
			}
			return m
		}),
		check: itemCheck("response", func(s *session, id string) { s.responseID = id }),
	},
	{
		tool:  "getCollectionResponse",
		args:  collectionArgs(func(s *session) map[string]any { return idArg("responseId", s.responseID) }),
		check: itemCheck("response", nil),
	},
	{
		tool: "updateCollectionResponse",
		args: collectionArgs(func(s *session) map[string]any {
			m := idArg("responseId", s.responseID)
			if m != nil {
				m["name"] = "200 OK (renamed)"
			}
			return m
		}),
		check: itemCheck("response", nil),
	},
	{
		tool:  "getCollectionFolder",
		args:  collectionArgs(func(s *session) map[string]any { return idArg("folderId", s.folderID) }),
		check: itemCheck("folder", nil),
	},
	{
		tool: "updateCollectionFolder",
		args: collectionArgs(func(s *session) map[string]any {
			m := idArg("folderId", s.folderID)
			if m != nil {
				m["description"] = "Written by the peer fidelity check."
			}
			return m
		}),
		check: itemCheck("folder", nil),
	},
	{
		tool: "createMock",
		args: func(s *session) (map[string]any, error) {
			if s.workspaceID == "" || s.collectionUID == "" {
				return nil, errNoInput
			}
			return map[string]any{"workspace": s.workspaceID, "mock": map[string]any{"collection": s.collectionUID, "name": "Peer fidelity mock"}}, nil
		},
		check: mockCheck(func(s *session, id string) { s.mockID = id }),
	},
	{
		tool: "updateMock",
		args: func(s *session) (map[string]any, error) {
			if s.mockID == "" {
				return nil, errNoInput
			}
			// The peer's schema requires mock.collection on updates too.
			return map[string]any{"mockId": s.mockID, "mock": map[string]any{"name": "Peer fidelity mock (renamed)", "collection": s.collectionUID}}, nil
		},
		check: mockCheck(nil),
	},
	{
		tool: "updateWorkspaceGlobalVariables",
		args: func(s *session) (map[string]any, error) {
			if s.workspaceID == "" {
				return nil, errNoInput
			}
			return map[string]any{"workspaceId": s.workspaceID, "values": []any{
				map[string]any{"key": "region", "type": "default", "value": "eu", "enabled": true, "description": "Peer fidelity check."}}}, nil
		},
		check: globalsCheck,
	},
	{
		tool: "getWorkspaceGlobalVariables",
		args: func(s *session) (map[string]any, error) {
			if s.workspaceID == "" {
				return nil, errNoInput
			}
			return map[string]any{"workspaceId": s.workspaceID}, nil
		},
		check: globalsCheck,
	},
	{
		tool:  "deleteCollectionResponse",
		args:  collectionArgs(func(s *session) map[string]any { return idArg("responseId", s.responseID) }),
		check: itemCheck("response", nil),
	},
	{
		tool:  "deleteCollectionRequest",
		args:  collectionArgs(func(s *session) map[string]any { return idArg("requestId", s.requestID) }),
		check: itemCheck("request", nil),
	},
	{
		tool:  "deleteCollectionFolder",
		args:  collectionArgs(func(s *session) map[string]any { return idArg("folderId", s.folderID) }),
		check: itemCheck("folder", nil),
	},
	{
		tool: "deleteMock",
		args: func(s *session) (map[string]any, error) {
			if s.mockID == "" {
				return nil, errNoInput
			}
			return map[string]any{"mockId": s.mockID}, nil
		},
		check: mockCheck(nil),
	},
}

// collectionArgs adds collectionId to the arguments extra builds; extra returning nil means an earlier step
// did not yield what this one needs.
func collectionArgs(extra func(*session) map[string]any) func(*session) (map[string]any, error) {
	return func(s *session) (map[string]any, error) {
		if s.collectionUID == "" {
			return nil, errNoInput
		}
		m := extra(s)
		if m == nil {
			return nil, errNoInput
		}
		m["collectionId"] = s.collectionUID
		return m, nil
	}
}

func idArg(name, id string) map[string]any {
	if id == "" {
		return nil
	}
	return map[string]any{name: id}
}

// itemCheck reads the item envelope {model_id, meta: {model}, data: {id}}.
func itemCheck(model string, record func(*session, string)) func(*session, string) (string, error) {
	return func(s *session, text string) (string, error) {
		var v struct {
			ModelID string         `json:"model_id"`
			Meta    map[string]any `json:"meta"`
			Data    *struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"data"`
		}
		if err := decodePretty(text, &v); err != nil {
			return "", err
		}
		if v.Data == nil || v.Data.ID == "" || v.ModelID != v.Data.ID {
			return "", errors.New(`no "model_id" and matching "data.id" in the result`)
		}
		if got := fmt.Sprint(v.Meta["model"]); got != model {
			return "", fmt.Errorf("meta.model is %q, want %q", got, model)
		}
		if record != nil {
			record(s, v.Data.ID)
		}
		return fmt.Sprintf("%s %s %v %q", model, v.Data.ID, v.Meta["action"], v.Data.Name), nil
	}
}

func mockCheck(record func(*session, string)) func(*session, string) (string, error) {
	return func(s *session, text string) (string, error) {
		var v struct {
			Mock *struct {
				ID      string `json:"id"`
				UID     string `json:"uid"`
				MockURL string `json:"mockUrl"`
			} `json:"mock"`
		}
		if err := decodePretty(text, &v); err != nil {
			return "", err
		}
		if v.Mock == nil || v.Mock.ID == "" || v.Mock.UID == "" {
			return "", errors.New(`no "mock" object with id and uid in the result`)
		}
		if record != nil {
			record(s, v.Mock.ID)
		}
		return fmt.Sprintf("mock %s %s", v.Mock.ID, v.Mock.MockURL), nil
	}
}

func globalsCheck(s *session, text string) (string, error) {
	var v struct {
		Values []json.RawMessage `json:"values"`
	}
	if err := decodePretty(text, &v); err != nil {
		return "", err
	}
	if v.Values == nil {
		return "", errors.New(`no "values" array in the result`)
	}
	return fmt.Sprintf("%d global variables", len(v.Values)), nil
}
