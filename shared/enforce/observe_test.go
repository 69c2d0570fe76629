package enforce

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/trtcevent"
)

// TestVerdictFigures: a stranger's entry is counted as a verdict and a
// removal, and both are in the audit trail with the request ID.
func TestVerdictFigures(t *testing.T) {
	h := newHarness(t, setup{})
	m := metrics.NewExpvar(nil)
	h.e.metrics = m
	var trail testlog.Buffer
	ctx := audit.NewContext(context.Background(), audit.New(trail.JSONLogger().Handler(), h.clock.Now), "req-7")
	r := callrecord.Room{Str: room}
	h.call(t, r)
	at := start.UnixMilli()
	for _, cb := range []Callback{
		event(trtcevent.EnterRoom, `"`+room+`"`, "wx_callee02", at),
		event(trtcevent.EnterRoom, `"`+room+`"`, "wx_stranger9", at+1),
	} {
		if err := h.e.Handle(ctx, cb); err != nil {
			t.Fatal(err)
		}
	}
	for key, want := range map[string]float64{
		"callback.trtc/member/CallbackVerdicts":      1,
		"callback.trtc/not_invited/CallbackVerdicts": 1,
		"callback.trtc/removed/Removals":             1,
		"callback.trtc/failed/Removals":              0,
	} {
		if got := m.Get(key); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	// Every verdict is audited: the member's admission, then the
	// stranger's refusal and removal.
	var got []string
	for line := range strings.Lines(trail.String()) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev["requestID"] != "req-7" || ev["room"] != room || ev["mode"] != "enforce" {
			t.Errorf("audit line %s", line)
		}
		got = append(got, fmt.Sprintf("%v/%v/%v", ev["action"], ev["userID"], ev["verdict"]))
	}
	want := "verdict/wx_callee02/member,verdict/wx_stranger9/not_invited,remove/wx_stranger9/not_invited"
	if strings.Join(got, ",") != want {
		t.Errorf("audit lines = %v, want %s", got, want)
	}
}
