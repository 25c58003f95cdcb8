package mcpproc

import "testing"

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    messageKind
		wantErr bool
	}{
		{"response", `{"jsonrpc":"2.0","id":3,"result":{}}`, kindResponse, false},
		{"error response", `{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"x"}}`, kindResponse, false},
		{"parse error response with null id", `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}`, kindResponse, false},
		{"null result", `{"jsonrpc":"2.0","id":3,"result":null}`, kindResponse, false},
		{"request", `{"jsonrpc":"2.0","id":"s1","method":"ping"}`, kindRequest, false},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/message","params":{}}`, kindNotification, false},
		{"notification with null id", `{"jsonrpc":"2.0","id":null,"method":"x"}`, kindNotification, false},
		{"response without id", `{"jsonrpc":"2.0","result":{}}`, 0, true},
		{"wrong version", `{"jsonrpc":"1.0","id":1,"result":{}}`, 0, true},
		{"log line", `Loaded tool getMonitor`, 0, true},
		{"array", `[{"jsonrpc":"2.0","id":1,"result":{}}]`, 0, true},
		{"empty object", `{}`, 0, true},
		{"truncated", `{"jsonrpc":"2.0","id":1,"result":{`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := parseEnvelope([]byte(tt.line))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", env)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if env.kind() != tt.want {
				t.Errorf("kind = %d, want %d", env.kind(), tt.want)
			}
		})
	}
}

func TestParseEnvelopeKeepsResultBytes(t *testing.T) {
	env, err := parseEnvelope([]byte(`{"jsonrpc":"2.0","id":1,"result":{ "a" : [1, 2] }}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(env.Result) != `{ "a" : [1, 2] }` {
		t.Errorf("result = %s", env.Result)
	}
}

func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":3,"result":{}}`,
		`{"jsonrpc":"2.0","id":"s1","method":"ping"}`,
		`{"jsonrpc":"2.0","method":"n"}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}`,
		`not json`, `{}`, ``, `{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		env, err := parseEnvelope(line)
		if err != nil {
			return
		}
		if k := env.kind(); k == kindInvalid {
			t.Fatalf("accepted an invalid message %q", line)
		}
		if env.kind() == kindResponse && len(env.ID) == 0 {
			t.Fatalf("accepted a response without id %q", line)
		}
	})
}
