package slackfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"time"
)

// View is a snapshot of a modal opened (views.open), pushed (views.push) or updated (views.update).
type View struct {
	ID, RootViewID, PreviousViewID string
	ExternalID, Hash               string
	CallbackID, PrivateMetadata    string
	Title                          string
	Blocks                         json.RawMessage
	// JSON is the full view object as Slack answered it (with id, hash, state…).
	JSON      json.RawMessage
	User      string // whose trigger opened it
	Via       string // "views.open" or "views.push"
	Updates   int    // accepted views.update calls
	OpenedAt  time.Time
	UpdatedAt time.Time
}

type viewState struct {
	View
	obj map[string]any
}

func (v *viewState) snapshot() View {
	out := v.View
	out.JSON, _ = json.Marshal(v.obj)
	return out
}

type trigger struct {
	user   string
	issued time.Time
	used   bool
}

var triggerPattern = regexp.MustCompile(`^\d+\.\d+\.[0-9a-f]+$`)

// NewTriggerID issues a trigger_id for user, as Slack includes in slash commands and interactions. It
// can be exchanged once (views.open/push) within TriggerTTL of issue on the fake clock.
func (s *Server) NewTriggerID(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newTriggerLocked(user)
}

func (s *Server) newTriggerLocked(user string) string {
	now := s.clock.Now()
	s.seq++
	id := fmt.Sprintf("%d.%d.%s", now.Unix(), s.seq, randomHex(16))
	s.triggers[id] = &trigger{user: user, issued: now}
	return id
}

// exchangeTriggerLocked spends a trigger; the error codes are views.open's.
func (s *Server) exchangeTriggerLocked(id string) (user, code string) {
	t := s.triggers[id]
	switch {
	case id == "" || !triggerPattern.MatchString(id) || t == nil:
		return "", "invalid_trigger_id"
	case t.used:
		return "", "exchanged_trigger_id"
	case s.clock.Now().Sub(t.issued) > TriggerTTL:
		return "", "expired_trigger_id"
	}
	t.used = true
	return t.user, ""
}

// parseViewArg decodes and validates the "view" argument (a JSON object, or a JSON-encoded string in a
// form post). Schema failures answer invalid_arguments with the pointers in response_metadata.messages,
// as views.open does.
func parseViewArg(raw string) (map[string]any, *apiResponse) {
	if raw == "" {
		r := blockErrResp("invalid_arguments", []BlockError{{Pointer: "/view", Message: "missing required field: view"}})
		return nil, &r
	}
	if len(raw) > maxViewBytes {
		r := errResp("view_too_large")
		return nil, &r
	}
	if errs := ValidateView([]byte(raw)); len(errs) > 0 {
		r := blockErrResp("invalid_arguments", errs)
		return nil, &r
	}
	var obj map[string]any
	_ = json.Unmarshal([]byte(raw), &obj)
	return obj, nil
}

func (s *Server) externalIDTakenLocked(extID, exceptViewID string) bool {
	if extID == "" {
		return false
	}
	for id, v := range s.views {
		if id != exceptViewID && v.ExternalID == extID {
			return true
		}
	}
	return false
}

func (s *Server) newViewLocked(obj map[string]any, user, via, rootID, previousID string) *viewState {
	now := s.clock.Now()
	id := s.nextID("V")
	if rootID == "" {
		rootID = id
	}
	v := &viewState{View: View{ID: id, RootViewID: rootID, PreviousViewID: previousID, User: user, Via: via, OpenedAt: now}}
	s.applyViewLocked(v, obj)
	s.views[id] = v
	s.viewOrder = append(s.viewOrder, id)
	s.notifyLocked()
	return v
}

// applyViewLocked stores the requested view with the fields Slack adds (id, team_id, state, hash, …).
func (s *Server) applyViewLocked(v *viewState, req map[string]any) {
	now := s.clock.Now()
	obj := map[string]any{
		"private_metadata": "", "callback_id": "", "external_id": "", "clear_on_close": false,
		"notify_on_close": false, "previous_view_id": nil,
	}
	maps.Copy(obj, req)
	v.Hash = fmt.Sprintf("%d.%s", now.Unix(), randomHex(4))
	obj["id"] = v.ID
	obj["team_id"] = s.opts.TeamID
	obj["app_id"] = s.opts.AppID
	obj["app_installed_team_id"] = s.opts.TeamID
	obj["bot_id"] = s.opts.BotID
	obj["root_view_id"] = v.RootViewID
	if v.PreviousViewID != "" {
		obj["previous_view_id"] = v.PreviousViewID
	}
	obj["hash"] = v.Hash
	obj["state"] = map[string]any{"values": map[string]any{}}
	v.obj = obj
	v.CallbackID, _ = obj["callback_id"].(string)
	v.PrivateMetadata, _ = obj["private_metadata"].(string)
	v.ExternalID, _ = obj["external_id"].(string)
	if t, ok := obj["title"].(map[string]any); ok {
		v.Title, _ = t["text"].(string)
	}
	v.Blocks, _ = json.Marshal(obj["blocks"])
	v.UpdatedAt = now
}

func (s *Server) viewsOpen(r *apiRequest) apiResponse {
	obj, bad := parseViewArg(r.args["view"])
	if bad != nil {
		return *bad
	}
	extID, _ := obj["external_id"].(string)
	if s.externalIDTakenLocked(extID, "") {
		return errResp("duplicate_external_id")
	}
	user, code := s.exchangeTriggerLocked(r.args["trigger_id"])
	if code != "" {
		return errResp(code)
	}
	v := s.newViewLocked(obj, user, "views.open", "", "")
	return okResp(map[string]any{"view": v.obj})
}

// viewsPush pushes onto the stack of the user's most recent modal; Slack allows 3 views in a stack.
func (s *Server) viewsPush(r *apiRequest) apiResponse {
	obj, bad := parseViewArg(r.args["view"])
	if bad != nil {
		return *bad
	}
	extID, _ := obj["external_id"].(string)
	if s.externalIDTakenLocked(extID, "") {
		return errResp("duplicate_external_id")
	}
	user, code := s.exchangeTriggerLocked(r.args["trigger_id"])
	if code != "" {
		return errResp(code)
	}
	var top *viewState
	for i := len(s.viewOrder) - 1; i >= 0; i-- {
		if v := s.views[s.viewOrder[i]]; v.User == user {
			top = v
			break
		}
	}
	if top == nil {
		return errResp("not_found")
	}
	depth := 0
	for _, v := range s.views {
		if v.RootViewID == top.RootViewID {
			depth++
		}
	}
	if depth >= 3 {
		return errResp("push_limit_reached")
	}
	v := s.newViewLocked(obj, user, "views.push", top.RootViewID, top.ID)
	return okResp(map[string]any{"view": v.obj})
}

func (s *Server) viewsUpdate(r *apiRequest) apiResponse {
	viewID, extID := r.args["view_id"], r.args["external_id"]
	if viewID == "" && extID == "" {
		return blockErrResp("invalid_arguments", []BlockError{{Pointer: "/view_id", Message: "missing required field: view_id or external_id"}})
	}
	obj, bad := parseViewArg(r.args["view"])
	if bad != nil {
		return *bad
	}
	var v *viewState
	if viewID != "" {
		v = s.views[viewID]
	} else {
		for _, cand := range s.views {
			if cand.ExternalID == extID {
				v = cand
			}
		}
	}
	if v == nil {
		return errResp("not_found")
	}
	if h := r.args["hash"]; h != "" && h != v.Hash {
		return errResp("hash_conflict")
	}
	if newExt, _ := obj["external_id"].(string); s.externalIDTakenLocked(newExt, v.ID) {
		return errResp("duplicate_external_id")
	}
	s.applyViewLocked(v, obj)
	v.Updates++
	s.notifyLocked()
	return okResp(map[string]any{"view": v.obj})
}

// View returns the latest content of one view.
func (s *Server) View(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return View{}, false
	}
	return v.snapshot(), true
}
