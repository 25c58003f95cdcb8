package tools

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// schemaFor derives a compact JSON Schema from a Go struct type. Compactness matters: every byte of every schema is
// sent to the model in tools/list, so the generator emits only what a model needs (types, required, enums, bounds,
// one-line descriptions) and nothing it doesn't (titles, $schema, null unions for slices).
//
// Struct tags it reads, besides `json`:
//
//	desc:"..."     description of the property
//	enum:"a,b,c"   allowed values
//	min:"1" max:"25"  numeric bounds
//	schema:"-"     leave an optional result field out of the schema (output schemas allow extra properties;
//	               the server instructions describe such fields once instead of in every tool)
//
// A field is required unless its json tag has omitempty or it is a pointer.
func schemaFor(t reflect.Type) (json.RawMessage, error) {
	s, err := schemaOf(t, true)
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// outputSchemaFor derives the schema of a result. It is looser than an input schema on purpose: results may
// grow fields (so no additionalProperties:false), and it describes the top level only: each property's type
// (and enum), with nested objects and list items typed but not spelled out. Output schemas were half of
// tools/list; the text rendering and the tool's description say what nested values hold.
func outputSchemaFor(t reflect.Type) (json.RawMessage, error) {
	s, err := schemaOf(t, true)
	if err != nil {
		return nil, err
	}
	s.AdditionalProperties = nil
	if s.Properties != nil {
		for _, p := range s.Properties.props {
			shallow(p)
		}
	}
	return json.Marshal(s)
}

// shallow keeps a nested schema's type, enum and description and drops its structure.
func shallow(s *schema) {
	if s == nil {
		return
	}
	s.Properties, s.Required = nil, nil
	if s.Items != nil {
		s.Items = &schema{Type: s.Items.Type}
	}
	if sub, ok := s.AdditionalProperties.(*schema); ok {
		s.AdditionalProperties = &schema{Type: sub.Type}
	}
}

// conventions are argument descriptions the server instructions state once (see Instructions), so schemas leave
// them out instead of repeating them on every tool: together they were about 1 KB of tools/list.
var conventions = map[string]bool{
	"name, ID or UID":            true,
	"name or ID":                 true,
	"from next_cursor":           true,
	"true deletes; else preview": true,
}

// schema is an ordered JSON Schema object (field order is kept stable for snapshots).
type schema struct {
	Type                 any           `json:"type,omitempty"`
	Description          string        `json:"description,omitempty"`
	Enum                 []string      `json:"enum,omitempty"`
	Minimum              *float64      `json:"minimum,omitempty"`
	Maximum              *float64      `json:"maximum,omitempty"`
	Items                *schema       `json:"items,omitempty"`
	Properties           *orderedProps `json:"properties,omitempty"`
	Required             []string      `json:"required,omitempty"`
	AdditionalProperties any           `json:"additionalProperties,omitempty"`
	Format               string        `json:"format,omitempty"`
}

type orderedProps struct {
	names []string
	props map[string]*schema
}

func (o *orderedProps) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range o.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(n)
		v, err := json.Marshal(o.props[n])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawJSONType = reflect.TypeFor[json.RawMessage]()
)

func schemaOf(t reflect.Type, top bool) (*schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return &schema{Type: "string", Format: "date-time"}, nil
	case t == rawJSONType:
		return &schema{}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &schema{Type: "string"}, nil
	case reflect.Bool:
		return &schema{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &schema{Type: "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}, nil
	case reflect.Slice, reflect.Array:
		items, err := schemaOf(t.Elem(), false)
		if err != nil {
			return nil, err
		}
		return &schema{Type: "array", Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key %s: only string keys are representable", t.Key())
		}
		vals, err := schemaOf(t.Elem(), false)
		if err != nil {
			return nil, err
		}
		return &schema{Type: "object", AdditionalProperties: vals}, nil
	case reflect.Interface:
		return &schema{}, nil
	case reflect.Struct:
		return structSchema(t, top)
	}
	return nil, fmt.Errorf("type %s has no JSON Schema form", t)
}

func structSchema(t reflect.Type, top bool) (*schema, error) {
	s := &schema{Type: "object", Properties: &orderedProps{props: map[string]*schema{}}}
	if top {
		s.AdditionalProperties = false
	}
	if err := addFields(s, t); err != nil {
		return nil, err
	}
	if len(s.Properties.names) == 0 && !top {
		s.Properties = nil
	}
	return s, nil
}

func addFields(s *schema, t reflect.Type) error {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || f.Tag.Get("schema") == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := addFields(s, ft); err != nil {
					return err
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		p, err := schemaOf(f.Type, false)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		if d := f.Tag.Get("desc"); !conventions[d] {
			p.Description = d
		}
		if e := f.Tag.Get("enum"); e != "" {
			p.Enum = strings.Split(e, ",")
		}
		if v, ok := tagFloat(f.Tag, "min"); ok {
			p.Minimum = &v
		}
		if v, ok := tagFloat(f.Tag, "max"); ok {
			p.Maximum = &v
		}
		s.Properties.names = append(s.Properties.names, name)
		s.Properties.props[name] = p
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
			s.Required = append(s.Required, name)
		}
	}
	return nil
}

func tagFloat(tag reflect.StructTag, key string) (float64, bool) {
	v := tag.Get(key)
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}
