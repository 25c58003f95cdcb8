package slackbot

import (
	"reflect"
	"testing"
)

func TestNotifyGrammar(t *testing.T) {
	tests := []struct {
		text string
		want Command
	}{
		{"subscribe Orders nightly", Command{Verb: notifyVerb, Args: map[string]any{"op": "subscribe", "target": "Orders nightly"}}},
		{"subscribe Orders nightly all", Command{Verb: notifyVerb, Args: map[string]any{"op": "subscribe", "target": "Orders nightly", "policy": "all"}}},
		{`subscribe "Payments Platform" RECOVERIES`, Command{Verb: notifyVerb, Args: map[string]any{"op": "subscribe", "target": "Payments Platform", "policy": "recoveries"}}},
		{"subscribe failures", Command{Verb: notifyVerb, Args: map[string]any{"op": "subscribe", "target": "failures"}}},
		{"subscribe", usage("subscribe <monitor|workspace> [all|failures|recoveries]")},
		{"unsubscribe Orders nightly", Command{Verb: notifyVerb, Args: map[string]any{"op": "unsubscribe", "target": "Orders nightly"}}},
		{"unsubscribe", usage("unsubscribe <monitor|workspace>")},
		{"subscriptions", Command{Verb: notifyVerb, Args: map[string]any{"op": "subscriptions"}}},
		{"mute Orders nightly 4h", Command{Verb: notifyVerb, Args: map[string]any{"op": "mute", "target": "Orders nightly", "duration": "4h"}}},
		{"mute Orders", usage("mute <monitor> <1h|4h|1d|duration>")},
		{"unmute Orders nightly", Command{Verb: notifyVerb, Args: map[string]any{"op": "unmute", "target": "Orders nightly"}}},
		{"monitor history Orders nightly", Command{Tool: "monitor_history", Args: map[string]any{"monitor": "Orders nightly"}}},
		{"monitor history", usage("monitor history <name>")},
	}
	for _, tt := range tests {
		if got := ParseCommand(tt.text); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCommand(%q) = %+v, want %+v", tt.text, got, tt.want)
		}
	}
}
