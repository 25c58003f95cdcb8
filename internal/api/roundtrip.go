package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// docMeta makes a struct of the Collection v2.1 document lossless across a GET → modify → PUT round trip.
//
// Extra holds the keys the struct does not model (protocolProfileBehavior, createdAt, proxy, ...), so they are
// sent back unchanged. src remembers the original bytes of small modelled values: when such a field still holds
// what those bytes decode to, the original bytes are written back, so `"raw": ""`, `"disabled": false`,
// `"event": []`, `"host": "a.b"` or `"description": null` survive although the Go field cannot tell them from
// "absent" or from another accepted form. Other values are re-encoded from the field, and nested document
// structs apply the same rule to themselves. Keeping only small leaves keeps memory and encoding time linear in
// the document however deep its folders nest.
type docMeta struct {
	// Extra holds the object's keys this package does not model, verbatim. Keys that collide with modelled
	// fields are ignored when encoding.
	Extra map[string]json.RawMessage `json:"-"`
	src   map[string]json.RawMessage
}

// metaPtr and metaValue reach the embedded docMeta of a document struct, which reflection may not (the
// embedded type is unexported).
func (m *docMeta) metaPtr() *docMeta { return m }
func (m docMeta) metaValue() docMeta { return m }

// fieldInfo describes one JSON-visible field of a document struct.
type fieldInfo struct {
	index     int
	name      string
	omitEmpty bool
	omitZero  bool
	// nested is true for fields holding document structs (Item, []Item, *Request, ...): only their trivial
	// originals ([], {}, null) are kept, since they preserve their own contents.
	nested bool
}

type structInfo struct {
	fields []fieldInfo
	exact  map[string]int // JSON name → position in fields
	folded map[string]int // lower-cased JSON name → position, as encoding/json also matches case-insensitively
}

// maxKeptRaw is the largest original leaf value docMeta keeps to write back verbatim.
const maxKeptRaw = 256

var structInfos sync.Map // reflect.Type → *structInfo

var docMetaType = reflect.TypeFor[docMeta]()

func infoFor(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{exact: map[string]int{}, folded: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Type == docMetaType {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		fi := fieldInfo{index: i, name: name, nested: holdsDocument(f.Type)}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty":
				fi.omitEmpty = true
			case "omitzero":
				fi.omitZero = true
			}
		}
		si.exact[name] = len(si.fields)
		if _, dup := si.folded[strings.ToLower(name)]; !dup {
			si.folded[strings.ToLower(name)] = len(si.fields)
		}
		si.fields = append(si.fields, fi)
	}
	v, _ := structInfos.LoadOrStore(t, si)
	return v.(*structInfo)
}

// holdsDocument reports whether t is, or is a pointer or slice of, a struct embedding docMeta.
func holdsDocument(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		if t.Field(i).Type == docMetaType {
			return true
		}
	}
	return false
}

// decodeDoc decodes the JSON object data into plain, a pointer to a struct type embedding docMeta that has no
// UnmarshalJSON of its own, keeping unknown keys in Extra and small originals in src.
func decodeDoc(data []byte, plain any) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return err
	}
	v := reflect.ValueOf(plain).Elem()
	si := infoFor(v.Type())
	meta := plain.(interface{ metaPtr() *docMeta }).metaPtr()
	meta.Extra, meta.src = nil, nil
	// Exact-name keys first, so that, as in encoding/json, "name" beats "Name" whatever the key order.
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		_, ea := si.exact[a]
		_, eb := si.exact[b]
		switch {
		case ea == eb:
			return strings.Compare(a, b)
		case eb:
			return -1
		default:
			return 1
		}
	})
	done := map[int]bool{}
	for _, k := range keys {
		raw := obj[k]
		pos, ok := si.exact[k]
		if !ok {
			pos, ok = si.folded[strings.ToLower(k)]
		}
		if !ok {
			if meta.Extra == nil {
				meta.Extra = map[string]json.RawMessage{}
			}
			meta.Extra[k] = raw
			continue
		}
		if done[pos] {
			continue
		}
		done[pos] = true
		f := si.fields[pos]
		if err := json.Unmarshal(raw, v.Field(f.index).Addr().Interface()); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if keepRaw(f, raw) {
			if meta.src == nil {
				meta.src = map[string]json.RawMessage{}
			}
			meta.src[f.name] = raw
		}
	}
	return nil
}

func keepRaw(f fieldInfo, raw json.RawMessage) bool {
	if f.nested {
		// Trivial values, and the string forms the format allows for some (a header block as one string).
		raw = bytes.TrimSpace(raw)
		switch string(raw) {
		case "[]", "{}", "null":
			return true
		}
		return len(raw) <= maxKeptRaw && raw[0] == '"'
	}
	return len(raw) <= maxKeptRaw
}

// encodeDoc encodes plain, a struct value embedding docMeta that has no MarshalJSON of its own.
func encodeDoc(plain any) ([]byte, error) {
	v := reflect.ValueOf(plain)
	si := infoFor(v.Type())
	meta := plain.(interface{ metaValue() docMeta }).metaValue()
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	write := func(key string, raw []byte) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(key)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(raw)
	}
	for _, f := range si.fields {
		fv := v.Field(f.index)
		if raw, ok := meta.src[f.name]; ok && unchanged(raw, fv) {
			write(f.name, raw)
			continue
		}
		if (f.omitEmpty && isEmptyValue(fv)) || (f.omitZero && fv.IsZero()) {
			continue
		}
		raw, err := json.Marshal(fv.Interface())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		write(f.name, raw)
	}
	keys := make([]string, 0, len(meta.Extra))
	for k := range meta.Extra {
		_, exact := si.exact[k]
		_, folded := si.folded[strings.ToLower(k)]
		if !exact && !folded {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		raw := meta.Extra[k]
		if len(bytes.TrimSpace(raw)) == 0 {
			raw = json.RawMessage("null")
		}
		write(k, raw)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// unchanged reports whether fv still holds what raw decodes to.
func unchanged(raw json.RawMessage, fv reflect.Value) bool {
	orig := reflect.New(fv.Type())
	if err := json.Unmarshal(raw, orig.Interface()); err != nil {
		return false
	}
	return reflect.DeepEqual(orig.Elem().Interface(), fv.Interface())
}

// isEmptyValue is encoding/json's definition of "empty" for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}
