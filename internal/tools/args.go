package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// decodeArgs turns the arguments a client sent into the tool's argument struct. It is lenient where clients are
// known to be sloppy (numbers and booleans sent as strings, a single string where a list is expected) and strict
// where silence would hide a mistake (unknown argument names, missing required ones, values outside an enum or a
// bound). Every failure is an InvalidArgument error that names the argument and says what is allowed.
func decodeArgs[A any](raw json.RawMessage) (A, error) {
	var args A
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	var in map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return args, Invalid("arguments must be a JSON object")
	}
	t := reflect.TypeFor[A]()
	fields := argFields(t)
	for k, v := range in {
		f, ok := fields[k]
		if !ok {
			return args, Invalid(fmt.Sprintf("unknown argument %s; valid arguments: %s", EchoQ(k), strings.Join(sortedKeys(fields), ", ")))
		}
		if v == nil {
			delete(in, k)
			continue
		}
		cv, err := coerce(f.Type, v)
		if err != nil {
			return args, Invalid(fmt.Sprintf("argument %s: %v", EchoQ(k), err))
		}
		in[k] = cv
	}
	for name, f := range fields {
		v, present := in[name]
		if f.required && (!present || isEmpty(v)) {
			return args, Invalid(fmt.Sprintf("argument %q is required", name))
		}
		if !present {
			continue
		}
		if err := checkBounds(f, v); err != nil {
			return args, Invalid(fmt.Sprintf("argument %q: %v", name, err))
		}
	}
	b, err := json.Marshal(in)
	if err != nil {
		return args, Invalid("arguments are not representable as JSON")
	}
	if err := json.Unmarshal(b, &args); err != nil {
		return args, Invalid(fmt.Sprintf("arguments do not match the schema: %v", err))
	}
	return args, nil
}

type argField struct {
	reflect.StructField
	required bool
}

func argFields(t reflect.Type) map[string]argField {
	out := map[string]argField{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			for k, v := range argFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		req := !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer
		out[name] = argField{StructField: f, required: req}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// coerce converts v toward the Go type t where the conversion is unambiguous.
func coerce(t reflect.Type, v any) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch x := v.(type) {
		case json.Number:
			if _, err := strconv.ParseInt(string(x), 10, 64); err != nil {
				return nil, fmt.Errorf("want a whole number, got %s", Echo(string(x)))
			}
			return x, nil
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("want a whole number, got %s", EchoQ(x))
			}
			return n, nil
		}
		return nil, fmt.Errorf("want a whole number")
	case reflect.Float32, reflect.Float64:
		switch x := v.(type) {
		case json.Number:
			return x, nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("want a number, got %s", EchoQ(x))
			}
			return f, nil
		}
		return nil, fmt.Errorf("want a number")
	case reflect.Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("want true or false, got %s", EchoQ(x))
			}
			return b, nil
		}
		return nil, fmt.Errorf("want true or false")
	case reflect.String:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return string(x), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		return nil, fmt.Errorf("want a string")
	case reflect.Slice:
		if s, ok := v.(string); ok && t.Elem().Kind() == reflect.String {
			// A single value, or a comma-separated list, where a list is expected.
			var out []any
			for part := range strings.SplitSeq(s, ",") {
				if p := strings.TrimSpace(part); p != "" {
					out = append(out, p)
				}
			}
			return out, nil
		}
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("want a list")
		}
		for i, e := range arr {
			ce, err := coerce(t.Elem(), e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			arr[i] = ce
		}
		return arr, nil
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("want an object")
		}
		for k, e := range m {
			ce, err := coerce(t.Elem(), e)
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", EchoQ(k), err)
			}
			m[k] = ce
		}
		return m, nil
	}
	return v, nil
}

func checkBounds(f argField, v any) error {
	if e := f.Tag.Get("enum"); e != "" {
		s, _ := v.(string)
		allowed := strings.Split(e, ",")
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
		}
	}
	num, isNum := asFloat(v)
	if !isNum {
		return nil
	}
	if lo, ok := tagFloat(f.Tag, "min"); ok && num < lo {
		return fmt.Errorf("must be at least %v", lo)
	}
	if hi, ok := tagFloat(f.Tag, "max"); ok && num > hi {
		return fmt.Errorf("must be at most %v", hi)
	}
	return nil
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
