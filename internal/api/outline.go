package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Outline is a collection's structure without its content: names, IDs, methods and URLs. It is decoded with
// plain struct decoding instead of the lossless document types (which keep every unknown key for a faithful
// PUT), so an overview of a collection with thousands of requests costs a fraction of the time and memory.
type Outline struct {
	Info struct {
		Name        string       `json:"name"`
		UID         string       `json:"uid"`
		Description *Description `json:"description"`
		// UpdatedAt is the collection's last change as Postman reports it (info.updatedAt), kept verbatim:
		// it identifies the snapshot an outline was read from.
		UpdatedAt string `json:"updatedAt"`
	} `json:"info"`
	Item []OutlineItem `json:"item"`
}

// OutlineItem is a folder (Item set, Request nil) or a request.
type OutlineItem struct {
	ID      string          `json:"id"`
	UID     string          `json:"uid"`
	Name    string          `json:"name"`
	Item    []OutlineItem   `json:"item"`
	Request *OutlineRequest `json:"request"`
}

// IsFolder reports whether the item is a folder.
func (it *OutlineItem) IsFolder() bool { return it.Request == nil && it.Item != nil }

// OutlineRequest is a request's method and URL.
type OutlineRequest struct {
	Method string
	URL    string
}

// UnmarshalJSON reads a request object, or the bare URL string the format allows in its place.
func (r *OutlineRequest) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &r.URL)
	}
	var raw struct {
		Method string          `json:"method"`
		URL    json.RawMessage `json:"url"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	r.Method = raw.Method
	u := bytes.TrimSpace(raw.URL)
	switch {
	case len(u) == 0 || string(u) == "null":
	case u[0] == '"':
		return json.Unmarshal(u, &r.URL)
	default:
		var parts struct {
			Raw      string     `json:"raw"`
			Protocol string     `json:"protocol"`
			Host     StringList `json:"host"`
			Path     StringList `json:"path"`
		}
		if err := json.Unmarshal(u, &parts); err != nil {
			return fmt.Errorf("request url: %w", err)
		}
		r.URL = parts.Raw
		if r.URL == "" {
			var b strings.Builder
			if parts.Protocol != "" {
				b.WriteString(parts.Protocol + "://")
			}
			b.WriteString(strings.Join(parts.Host, "."))
			if len(parts.Path) > 0 {
				b.WriteString("/" + strings.Join(parts.Path, "/"))
			}
			r.URL = b.String()
		}
	}
	return nil
}

// GetCollectionOutline calls GET /collections/{id} and keeps only the collection's structure (see Outline).
func (c *Client) GetCollectionOutline(ctx context.Context, id string) (*Outline, error) {
	p, err := pathID("collection", id)
	if err != nil {
		return nil, fmt.Errorf("get collection outline: %w", err)
	}
	r := request{method: http.MethodGet, path: "/collections/" + p}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	o, err := DecodeOutline(resp.body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: the %d answer is not the documented JSON: %w", r.method, r.path, resp.status, err)
	}
	if o == nil {
		return nil, fmt.Errorf("GET /collections/%s: the answer has no collection object", p)
	}
	return o, nil
}

// DecodeOutline reads the answer of GET /collections/{id} ({"collection": {...}}) into an Outline; nil when the
// answer has no collection object. A purpose-built scanner reads the names, IDs, methods and URLs and skips
// everything else (bodies, scripts, headers, responses) without building it, which is several times faster than
// encoding/json on a large collection. Anything it does not expect sends the document to encoding/json, which
// decodes it the same way or says what is wrong with it.
func DecodeOutline(body []byte) (*Outline, error) {
	sc := outlineScanner{b: body}
	if o, ok := sc.document(); ok {
		return o, nil
	}
	var env struct {
		Collection *Outline `json:"collection"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	return env.Collection, nil
}

// outlineScanner walks a JSON document once. Every method returns false on input it does not accept (invalid
// JSON, or a type the Outline fields would not take); the caller then falls back to encoding/json.
type outlineScanner struct {
	b []byte
	i int
}

func (s *outlineScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *outlineScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *outlineScanner) document() (*Outline, bool) {
	var out *Outline
	ok := s.object(func(key []byte) bool {
		if !keyIs(key, "collection") {
			return s.skip()
		}
		if s.null() {
			out = nil
			return true
		}
		out = &Outline{}
		return s.collection(out)
	})
	if !ok {
		return nil, false
	}
	s.ws()
	return out, s.i == len(s.b)
}

func (s *outlineScanner) collection(o *Outline) bool {
	return s.object(func(key []byte) bool {
		switch {
		case keyIs(key, "info"):
			if s.null() {
				return true
			}
			return s.info(o)
		case keyIs(key, "item"):
			return s.items(&o.Item)
		}
		return s.skip()
	})
}

func (s *outlineScanner) info(o *Outline) bool {
	return s.object(func(key []byte) bool {
		switch {
		case keyIs(key, "name"):
			return s.stringInto(&o.Info.Name)
		case keyIs(key, "uid"):
			return s.stringInto(&o.Info.UID)
		case keyIs(key, "updatedAt"):
			return s.stringInto(&o.Info.UpdatedAt)
		case keyIs(key, "description"):
			if s.null() {
				o.Info.Description = nil
				return true
			}
			raw, ok := s.raw()
			if !ok {
				return false
			}
			var d Description
			if json.Unmarshal(raw, &d) != nil {
				return false
			}
			o.Info.Description = &d
			return true
		}
		return s.skip()
	})
}

// items reads an item array; null leaves no slice (a request), [] an empty one (an empty folder).
func (s *outlineScanner) items(dst *[]OutlineItem) bool {
	if s.null() {
		*dst = nil
		return true
	}
	list := make([]OutlineItem, 0, 8)
	ok := s.array(func() bool {
		list = append(list, OutlineItem{})
		return s.item(&list[len(list)-1])
	})
	*dst = list
	return ok
}

func (s *outlineScanner) item(it *OutlineItem) bool {
	if s.peek() != '{' {
		return false
	}
	return s.object(func(key []byte) bool {
		switch {
		case keyIs(key, "id"):
			return s.stringInto(&it.ID)
		case keyIs(key, "uid"):
			return s.stringInto(&it.UID)
		case keyIs(key, "name"):
			return s.stringInto(&it.Name)
		case keyIs(key, "item"):
			return s.items(&it.Item)
		case keyIs(key, "request"):
			if s.null() {
				it.Request = nil
				return true
			}
			r := &OutlineRequest{}
			it.Request = r
			return s.request(r)
		}
		return s.skip()
	})
}

func (s *outlineScanner) request(r *OutlineRequest) bool {
	switch s.peek() {
	case '"':
		return s.stringInto(&r.URL)
	case '{':
	default:
		return false
	}
	*r = OutlineRequest{}
	return s.object(func(key []byte) bool {
		switch {
		case keyIs(key, "method"):
			return s.stringInto(&r.Method)
		case keyIs(key, "url"):
			return s.url(r)
		}
		return s.skip()
	})
}

// url reads a request's url: a string, null, or an object whose raw form is used, else one built from its parts.
func (s *outlineScanner) url(r *OutlineRequest) bool {
	switch s.peek() {
	case '"':
		return s.stringInto(&r.URL)
	case 'n':
		return s.null()
	case '{':
	default:
		return false
	}
	start := s.i
	var raw string
	var parts bool
	ok := s.object(func(key []byte) bool {
		switch {
		case keyIs(key, "raw"):
			return s.stringInto(&raw)
		case keyIs(key, "protocol"), keyIs(key, "host"), keyIs(key, "path"):
			parts = true
		}
		return s.skip()
	})
	if !ok {
		return false
	}
	if raw != "" || !parts {
		r.URL = raw
		return true
	}
	// Rare: no raw form. Let the reference decoder build it from protocol, host and path.
	var ref OutlineRequest
	if ref.UnmarshalJSON([]byte(`{"url":`+string(s.b[start:s.i])+`}`)) != nil {
		return false
	}
	r.URL = ref.URL
	return true
}

// object calls field for each key of an object, positioned at the key's value; field must consume the value.
func (s *outlineScanner) object(field func(key []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		key, ok := s.key()
		if !ok || s.peek() != ':' {
			return false
		}
		s.i++
		s.ws()
		if !field(key) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *outlineScanner) array(elem func() bool) bool {
	if s.peek() != '[' {
		return false
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

// keyIs compares an object key as encoding/json matches struct fields: case-insensitively.
func keyIs(key []byte, name string) bool {
	return len(key) == len(name) && bytes.EqualFold(key, []byte(name))
}

// key reads an object key; keys with escapes are decoded.
func (s *outlineScanner) key() ([]byte, bool) {
	start := s.i
	plain, ok := s.skipString()
	if !ok {
		return nil, false
	}
	if plain {
		return s.b[start+1 : s.i-1], true
	}
	var k string
	if json.Unmarshal(s.b[start:s.i], &k) != nil {
		return nil, false
	}
	return []byte(k), true
}

// null consumes a null literal if one is next.
func (s *outlineScanner) null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// stringInto reads a string value into dst; null leaves dst as it is (as encoding/json does).
func (s *outlineScanner) stringInto(dst *string) bool {
	switch s.peek() {
	case 'n':
		return s.null()
	case '"':
	default:
		return false
	}
	start := s.i
	plain, ok := s.skipString()
	if !ok {
		return false
	}
	if plain {
		*dst = string(s.b[start+1 : s.i-1])
		return true
	}
	return json.Unmarshal(s.b[start:s.i], dst) == nil
}

// skipString moves past a string; plain reports that its bytes are its value (no escapes, valid UTF-8).
func (s *outlineScanner) skipString() (plain bool, ok bool) {
	start := s.i
	s.i++ // opening quote
	plain = true
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(s.b[start+1:s.i]) {
				plain = false
			}
			s.i++
			return plain, true
		case c == '\\':
			plain = false
			if s.i+1 >= len(s.b) {
				return false, false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex4(s.b[s.i+2:s.i+6]) {
					return false, false
				}
				s.i += 6
			default:
				return false, false
			}
		case c < 0x20:
			return false, false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			s.i++
		}
	}
	return false, false
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// raw returns the bytes of the next value and moves past it.
func (s *outlineScanner) raw() ([]byte, bool) {
	s.ws()
	start := s.i
	if !s.skip() {
		return nil, false
	}
	return s.b[start:s.i], true
}

// skip moves past any JSON value, checking its syntax.
func (s *outlineScanner) skip() bool {
	switch c := s.peek(); {
	case c == '{':
		return s.object(func([]byte) bool { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case c == '"':
		_, ok := s.skipString()
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.null()
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	}
	return false
}

func (s *outlineScanner) literal(lit string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.i += len(lit)
		return true
	}
	return false
}

// number moves past a number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *outlineScanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	s.i = i
	return true
}
