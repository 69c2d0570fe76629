package audit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
)

func TestRecord(t *testing.T) {
	clk := testclock.AtEpoch()
	var buf testlog.Buffer
	// An ERROR-level logger: audit lines are written anyway.
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}).WithAttrs([]slog.Attr{slog.String("stage", "prod"), slog.String("platform", "lambda")})
	l := audit.New(h, clk.Now)
	ctx := audit.NewContext(context.Background(), l, "req-1")
	audit.Record(ctx, audit.Event{
		Action: audit.ActionIssue, Kind: "privatemapkey", UserID: "alice", Provider: "session",
		CallID: "c_1", Room: "str:c_1", Privileges: 63, ExpiresAt: clk.Now().Add(2 * time.Hour),
	})
	audit.Record(context.Background(), audit.Event{Action: audit.ActionBan}) // no logger: dropped
	var nilLogger *audit.Logger
	nilLogger.Record(ctx, audit.Event{Action: audit.ActionBan})

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"time": clk.Now().Format(time.RFC3339Nano), "level": "INFO", "msg": "audit", "log": "audit",
		"stage": "prod", "platform": "lambda", "requestID": "req-1", "action": "issue", "kind": "privatemapkey",
		"userID": "alice", "provider": "session", "callID": "c_1", "room": "str:c_1", "privileges": float64(63),
		"expiresAt": clk.Now().Add(2 * time.Hour).Format(time.RFC3339),
	}
	if len(got) != len(want) {
		t.Errorf("line %v\nwant %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// TestContextWithoutRequestID: an operator command records without a
// request.
func TestContextWithoutRequestID(t *testing.T) {
	var buf testlog.Buffer
	l := audit.New(buf.JSONLogger().Handler(), testclock.AtEpoch().Now)
	audit.Record(audit.NewContext(context.Background(), l, ""), audit.Event{Action: audit.ActionUnban, UserID: "bob", Actor: "ops"})
	if s := buf.String(); !strings.Contains(s, `"action":"unban","userID":"bob","actor":"ops"}`) || strings.Contains(s, "requestID") {
		t.Errorf("line = %s", s)
	}
}
