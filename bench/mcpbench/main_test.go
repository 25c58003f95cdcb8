package main

import (
	"reflect"
	"testing"
)

func TestParseServer(t *testing.T) {
	tests := []struct {
		in       string
		wantName string
		wantArgv []string
		wantErr  bool
	}{
		{"pmops=./bin/mcp --toolset all", "pmops", []string{"./bin/mcp", "--toolset", "all"}, false},
		{"./bin/mcp", "mcp", []string{"./bin/mcp"}, false},
		{"./bin/mcp --base=http://x", "mcp", []string{"./bin/mcp", "--base=http://x"}, false},
		{"/abs/srv=weird", "srv=weird", []string{"/abs/srv=weird"}, false},
		{"name=", "", nil, true},
		{"", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			spec, err := parseServer(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			if spec.Name != tt.wantName || !reflect.DeepEqual(spec.Command, tt.wantArgv) {
				t.Errorf("got %q %q", spec.Name, spec.Command)
			}
		})
	}
}

func TestParseProbe(t *testing.T) {
	p, err := parseProbe(`getMonitor={"monitorId":"m-1"}`)
	if err != nil || p.Tool != "getMonitor" || p.Args["monitorId"] != "m-1" {
		t.Errorf("got %+v, %v", p, err)
	}
	p, err = parseProbe("getAuthenticatedUser")
	if err != nil || p.Tool != "getAuthenticatedUser" || len(p.Args) != 0 || p.Args == nil {
		t.Errorf("got %+v, %v", p, err)
	}
	for _, bad := range []string{"", "=x", "t=[1]", "t={"} {
		if _, err := parseProbe(bad); err == nil {
			t.Errorf("parseProbe(%q): want error", bad)
		}
	}
}
