package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
)

// SchemaV21 is the Collection Format v2.1.0 schema URL the API expects in info.schema.
const SchemaV21 = "https://schema.postman.com/json/collection/v2.1.0/collection.json"

// Collection is a Postman Collection v2.1 document as GET /collections/{id} returns it and PUT/POST take it.
//
// Every struct of the document keeps the keys it does not model in Extra and remembers the original bytes of
// the keys it does, so decoding a GET answer and encoding it again for a PUT loses nothing.
type Collection struct {
	Info     Info       `json:"info"`
	Item     []Item     `json:"item,omitzero"`
	Event    []Event    `json:"event,omitempty"`
	Variable []Variable `json:"variable,omitempty"`
	Auth     *Auth      `json:"auth,omitempty"`

	// Events is what the model=minimal answer calls Event (the vendor's examples use both spellings), and the key
	// PATCH /collections takes.
	Events []Event `json:"events,omitempty"`
	// RootLevelRequests and RootLevelFolders are the item UIDs of the model=minimal answer.
	RootLevelRequests []string `json:"rootLevelRequests,omitempty"`
	RootLevelFolders  []string `json:"rootLevelFolders,omitempty"`

	docMeta
}

// Info is the collection's info block. Timestamps are kept as the API's strings: they are document content here.
type Info struct {
	PostmanID     string       `json:"_postman_id,omitempty"`
	Name          string       `json:"name"`
	Description   *Description `json:"description,omitempty"`
	Schema        string       `json:"schema,omitempty"`
	UID           string       `json:"uid,omitempty"`
	Fork          *Fork        `json:"fork,omitempty"`
	CreatedAt     string       `json:"createdAt,omitempty"`
	UpdatedAt     string       `json:"updatedAt,omitempty"`
	LastUpdatedBy string       `json:"lastUpdatedBy,omitempty"`

	docMeta
}

// Fork says which collection a fork came from.
type Fork struct {
	Label     string `json:"label"`
	CreatedAt string `json:"createdAt,omitempty"`
	// From is the source collection's UID.
	From string `json:"from"`
}

// Item is a folder (Item non-nil, Request nil) or a request.
type Item struct {
	ID          string            `json:"id,omitempty"`
	UID         string            `json:"uid,omitempty"`
	Name        string            `json:"name,omitempty"`
	Description *Description      `json:"description,omitempty"`
	Variable    []Variable        `json:"variable,omitempty"`
	Event       []Event           `json:"event,omitempty"`
	Request     *Request          `json:"request,omitempty"`
	Response    []json.RawMessage `json:"response,omitempty"`
	Item        []Item            `json:"item,omitzero"`
	Auth        *Auth             `json:"auth,omitempty"`

	docMeta
}

// IsFolder reports whether the item is a folder.
func (it *Item) IsFolder() bool { return it.Request == nil && it.Item != nil }

// Request is an item's request. The format allows a bare URL string in its place; that form is decoded into
// URL.Raw and encoded back as a string while nothing else is set.
type Request struct {
	Method      string       `json:"method,omitempty"`
	URL         *URL         `json:"url,omitempty"`
	Header      Headers      `json:"header,omitempty"`
	Body        *Body        `json:"body,omitempty"`
	Auth        *Auth        `json:"auth,omitempty"`
	Description *Description `json:"description,omitempty"`

	docMeta
	fromString bool
}

// URL is a request URL: a string or an object with raw/protocol/host/path/query.
type URL struct {
	Raw      string       `json:"raw,omitempty"`
	Protocol string       `json:"protocol,omitempty"`
	Host     StringList   `json:"host,omitempty"`
	Port     string       `json:"port,omitempty"`
	Path     StringList   `json:"path,omitempty"`
	Query    []QueryParam `json:"query,omitempty"`
	Hash     string       `json:"hash,omitempty"`
	Variable []Variable   `json:"variable,omitempty"`

	docMeta
	fromString bool
}

// String returns the URL as a person would type it: raw when given, otherwise assembled from its parts.
func (u *URL) String() string {
	if u == nil {
		return ""
	}
	if u.Raw != "" {
		return u.Raw
	}
	var b strings.Builder
	if u.Protocol != "" {
		b.WriteString(u.Protocol + "://")
	}
	b.WriteString(strings.Join(u.Host, "."))
	if u.Port != "" {
		b.WriteString(":" + u.Port)
	}
	if len(u.Path) > 0 {
		b.WriteString("/" + strings.Join(u.Path, "/"))
	}
	sep := "?"
	for _, q := range u.Query {
		if q.Disabled {
			continue
		}
		b.WriteString(sep + q.Key)
		if q.Value != nil {
			b.WriteString("=" + *q.Value)
		}
		sep = "&"
	}
	if u.Hash != "" {
		b.WriteString("#" + u.Hash)
	}
	return b.String()
}

// QueryParam is one query parameter. Value is nil for a key without "=".
type QueryParam struct {
	Key         string       `json:"key"`
	Value       *string      `json:"value"`
	Disabled    bool         `json:"disabled,omitempty"`
	Description *Description `json:"description,omitempty"`

	docMeta
}

// Header is one request header.
type Header struct {
	Key         string       `json:"key"`
	Value       string       `json:"value"`
	Disabled    bool         `json:"disabled,omitempty"`
	Type        string       `json:"type,omitempty"`
	Description *Description `json:"description,omitempty"`

	docMeta
}

// Headers is a request's header list. The format also allows one string of "Key: Value" lines; that form is
// decoded into entries.
type Headers []Header

// Body is a request body. Mode says which of raw/urlencoded/formdata/file/graphql is used; the parts other than
// raw are kept as JSON.
type Body struct {
	Mode       string          `json:"mode,omitempty"`
	Raw        string          `json:"raw,omitempty"`
	URLEncoded json.RawMessage `json:"urlencoded,omitempty"`
	FormData   json.RawMessage `json:"formdata,omitempty"`
	File       json.RawMessage `json:"file,omitempty"`
	GraphQL    json.RawMessage `json:"graphql,omitempty"`
	Options    json.RawMessage `json:"options,omitempty"`
	Disabled   bool            `json:"disabled,omitempty"`

	docMeta
}

// Auth is an auth block: Type names the scheme, and the scheme's attribute list sits under a key of the same
// name (for example "apikey": [{key, value, type}]), kept in Extra. Attributes reads it.
type Auth struct {
	Type string `json:"type"`

	docMeta
}

// AuthAttribute is one entry of an auth scheme's attribute list. Values are often secrets.
type AuthAttribute struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value,omitempty"`
	Type  string          `json:"type,omitempty"`
}

// Attributes returns the attribute list of the auth's scheme, or nil when it has none or it is not a list.
func (a *Auth) Attributes() []AuthAttribute {
	if a == nil {
		return nil
	}
	raw, ok := a.Extra[a.Type]
	if !ok {
		return nil
	}
	var attrs []AuthAttribute
	if json.Unmarshal(raw, &attrs) != nil {
		return nil
	}
	return attrs
}

// SetAttributes replaces the attribute list of the auth's scheme.
func (a *Auth) SetAttributes(attrs []AuthAttribute) error {
	raw, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	if a.Extra == nil {
		a.Extra = map[string]json.RawMessage{}
	}
	a.Extra[a.Type] = raw
	return nil
}

// Event is a script hook: listen is "prerequest" or "test".
type Event struct {
	ID       string  `json:"id,omitempty"`
	Listen   string  `json:"listen"`
	Script   *Script `json:"script,omitempty"`
	Disabled bool    `json:"disabled,omitempty"`

	docMeta
}

// Script is an event's code. Exec is one entry per line; a single string in the document is split into lines
// (and written back as that string while unchanged).
type Script struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type,omitempty"`
	Exec Lines  `json:"exec,omitempty"`
	Src  string `json:"src,omitempty"`
	Name string `json:"name,omitempty"`

	docMeta
}

// Lines is a script's source, one entry per line.
type Lines []string

// Variable is a collection, folder or URL path variable. Value is kept as JSON because the format allows
// strings, numbers and booleans; ValueString reads it as text.
type Variable struct {
	ID          string          `json:"id,omitempty"`
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value,omitempty"`
	Type        string          `json:"type,omitempty"`
	Name        string          `json:"name,omitempty"`
	Description *Description    `json:"description,omitempty"`
	Disabled    bool            `json:"disabled,omitempty"`

	docMeta
}

// NewVariable returns a variable with a string value.
func NewVariable(key, value string) Variable {
	raw, _ := json.Marshal(value)
	return Variable{Key: key, Value: raw}
}

// ValueString returns the value as text: strings unquoted, other JSON values as written, null/absent as "".
func (v Variable) ValueString() string { return rawText(v.Value) }

func rawText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// Description is a description: a string in most documents, or an object {content, type, version}.
type Description struct {
	Content string
	// Type is the MIME type of Content (for example "text/markdown") when the document used the object form.
	Type    string
	Version json.RawMessage
	object  bool
}

// NewDescription returns a plain-string description.
func NewDescription(s string) *Description { return &Description{Content: s} }

// Text returns the description's text; nil is "".
func (d *Description) Text() string {
	if d == nil {
		return ""
	}
	return d.Content
}

type descriptionObject struct {
	Content string          `json:"content"`
	Type    string          `json:"type,omitempty"`
	Version json.RawMessage `json:"version,omitempty"`
}

// UnmarshalJSON accepts a string or an object.
func (d *Description) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		*d = Description{}
		return json.Unmarshal(data, &d.Content)
	}
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	var o descriptionObject
	if err := json.Unmarshal(data, &o); err != nil {
		return err
	}
	*d = Description{Content: o.Content, Type: o.Type, Version: o.Version, object: true}
	return nil
}

// MarshalJSON writes the object form only when the description came as one or has a type or version.
func (d Description) MarshalJSON() ([]byte, error) {
	if !d.object && d.Type == "" && len(d.Version) == 0 {
		return json.Marshal(d.Content)
	}
	return json.Marshal(descriptionObject{Content: d.Content, Type: d.Type, Version: d.Version})
}

// StringList is a URL's host or path: the format allows a string or a list; path segments may also be
// {type, value} objects. Like every modelled field, an unchanged value is written back exactly as it came; a
// changed one is written as a list of strings, which the API treats the same.
type StringList []string

// UnmarshalJSON accepts a string, a list of strings, or a list mixing strings and {value} objects.
func (l *StringList) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		*l = nil
		return nil
	}
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil {
		return err
	}
	out := make(StringList, 0, len(parts))
	for _, p := range parts {
		var s string
		if json.Unmarshal(p, &s) == nil {
			out = append(out, s)
			continue
		}
		var seg struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(p, &seg); err != nil {
			return err
		}
		out = append(out, seg.Value)
	}
	*l = out
	return nil
}

// UnmarshalJSON accepts a list of lines or one string, which is split at newlines.
func (l *Lines) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*l = strings.Split(s, "\n")
		return nil
	}
	var lines []*string // null lines are allowed by the format
	if err := json.Unmarshal(data, &lines); err != nil {
		return err
	}
	if lines == nil {
		*l = nil
		return nil
	}
	out := make(Lines, len(lines))
	for i, s := range lines {
		if s != nil {
			out[i] = *s
		}
	}
	*l = out
	return nil
}

// UnmarshalJSON accepts a header list or one string of "Key: Value" lines.
func (h *Headers) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		var out Headers
		for line := range strings.SplitSeq(s, "\n") {
			k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
			if !ok || strings.TrimSpace(k) == "" {
				continue
			}
			out = append(out, Header{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
		}
		*h = out
		return nil
	}
	var list []Header
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	*h = list
	return nil
}

// UnmarshalJSON accepts the object form or a bare URL string.
func (r *Request) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*r = Request{URL: &URL{Raw: s, fromString: true}, fromString: true}
		return nil
	}
	type plain Request
	return decodeDoc(data, (*plain)(r))
}

// MarshalJSON writes a bare URL string back as one while nothing but the URL is set.
func (r Request) MarshalJSON() ([]byte, error) {
	if r.fromString && r.URL != nil &&
		reflect.DeepEqual(r, Request{URL: &URL{Raw: r.URL.Raw, fromString: true}, fromString: true}) {
		return json.Marshal(r.URL.Raw)
	}
	type plain Request
	return encodeDoc(plain(r))
}

// UnmarshalJSON accepts the object form or a string.
func (u *URL) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*u = URL{Raw: s, fromString: true}
		return nil
	}
	type plain URL
	return decodeDoc(data, (*plain)(u))
}

// MarshalJSON writes a string URL back as a string while only Raw is set.
func (u URL) MarshalJSON() ([]byte, error) {
	if u.fromString && reflect.DeepEqual(u, URL{Raw: u.Raw, fromString: true}) {
		return json.Marshal(u.Raw)
	}
	type plain URL
	return encodeDoc(plain(u))
}

// The remaining document types only need the docMeta round trip.

// UnmarshalJSON decodes the object and remembers what it does not model.
func (c *Collection) UnmarshalJSON(data []byte) error {
	type plain Collection
	return decodeDoc(data, (*plain)(c))
}

// MarshalJSON encodes the object with the keys it does not model.
func (c Collection) MarshalJSON() ([]byte, error) {
	type plain Collection
	return encodeDoc(plain(c))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (i *Info) UnmarshalJSON(data []byte) error {
	type plain Info
	return decodeDoc(data, (*plain)(i))
}

// MarshalJSON encodes the object with the keys it does not model.
func (i Info) MarshalJSON() ([]byte, error) {
	type plain Info
	return encodeDoc(plain(i))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (it *Item) UnmarshalJSON(data []byte) error {
	type plain Item
	return decodeDoc(data, (*plain)(it))
}

// MarshalJSON encodes the object with the keys it does not model.
func (it Item) MarshalJSON() ([]byte, error) {
	type plain Item
	return encodeDoc(plain(it))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (q *QueryParam) UnmarshalJSON(data []byte) error {
	type plain QueryParam
	return decodeDoc(data, (*plain)(q))
}

// MarshalJSON encodes the object with the keys it does not model.
func (q QueryParam) MarshalJSON() ([]byte, error) {
	type plain QueryParam
	return encodeDoc(plain(q))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (h *Header) UnmarshalJSON(data []byte) error {
	type plain Header
	return decodeDoc(data, (*plain)(h))
}

// MarshalJSON encodes the object with the keys it does not model.
func (h Header) MarshalJSON() ([]byte, error) {
	type plain Header
	return encodeDoc(plain(h))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (b *Body) UnmarshalJSON(data []byte) error {
	type plain Body
	return decodeDoc(data, (*plain)(b))
}

// MarshalJSON encodes the object with the keys it does not model.
func (b Body) MarshalJSON() ([]byte, error) {
	type plain Body
	return encodeDoc(plain(b))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (a *Auth) UnmarshalJSON(data []byte) error {
	type plain Auth
	return decodeDoc(data, (*plain)(a))
}

// MarshalJSON encodes the object with the keys it does not model.
func (a Auth) MarshalJSON() ([]byte, error) {
	type plain Auth
	return encodeDoc(plain(a))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (e *Event) UnmarshalJSON(data []byte) error {
	type plain Event
	return decodeDoc(data, (*plain)(e))
}

// MarshalJSON encodes the object with the keys it does not model.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return encodeDoc(plain(e))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (s *Script) UnmarshalJSON(data []byte) error {
	type plain Script
	return decodeDoc(data, (*plain)(s))
}

// MarshalJSON encodes the object with the keys it does not model.
func (s Script) MarshalJSON() ([]byte, error) {
	type plain Script
	return encodeDoc(plain(s))
}

// UnmarshalJSON decodes the object and remembers what it does not model.
func (v *Variable) UnmarshalJSON(data []byte) error {
	type plain Variable
	return decodeDoc(data, (*plain)(v))
}

// MarshalJSON encodes the object with the keys it does not model.
func (v Variable) MarshalJSON() ([]byte, error) {
	type plain Variable
	return encodeDoc(plain(v))
}

// SkipFolder, returned by a Walk callback for a folder, skips the folder's contents.
var SkipFolder = errors.New("skip this folder")

// Walk calls fn for every item of the collection, depth first in document order. parents holds the names of the
// enclosing folders. A SkipFolder result skips a folder's children; any other error stops the walk and is
// returned. fn may modify the item it is given.
func (c *Collection) Walk(fn func(parents []string, it *Item) error) error {
	err := walkItems(c.Item, nil, fn)
	if errors.Is(err, SkipFolder) {
		return nil
	}
	return err
}

func walkItems(items []Item, parents []string, fn func([]string, *Item) error) error {
	for i := range items {
		it := &items[i]
		err := fn(parents, it)
		if errors.Is(err, SkipFolder) {
			continue
		}
		if err != nil {
			return err
		}
		if len(it.Item) > 0 {
			if err := walkItems(it.Item, append(slices.Clip(parents), it.Name), fn); err != nil {
				return err
			}
		}
	}
	return nil
}
