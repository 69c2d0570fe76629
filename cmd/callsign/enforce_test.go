package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/trtcapi/trtcapitest"
	"github.com/callsign-dev/callsign/shared/trtcevent"
)

// TestEnforcementEndToEnd runs `callsign serve` with enforcement on and
// the TRTC cloud API pointed at a loopback fake speaking TC3, then plays
// Tencent: alice creates a call to bob, bob joins, and signed 103 events
// arrive for alice, bob and a stranger (the stranger's twice, as a
// retry). The stranger is removed exactly once; alice and bob never.
func TestEnforcementEndToEnd(t *testing.T) {
	const (
		callbackKey = "callsignE2EKey2025"
		cloudID     = "AKIDcallsignE2ESecretId00000"
		cloudKey    = "callsignE2ESecretKeyExample00000"
	)
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go not found: %v", err)
		}
		t.Skip("go not on PATH")
	}
	fake := trtcapitest.Start(t, cloudID, cloudKey)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "callsign")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr, logs := startServe(t, bin, []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"CALLSIGN_SDK_APP_ID=1400000000",
		"CALLSIGN_SECRET_KEY=5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e",
		"CALLSIGN_CALL_ENFORCEMENT=enforce",
		"CALLSIGN_TRTC_CALLBACK_KEY=" + callbackKey,
		"CALLSIGN_TRTC_API_ENDPOINT=" + fake.URL,
		"TENCENTCLOUD_SECRETID=" + cloudID,
		"TENCENTCLOUD_SECRETKEY=" + cloudKey,
	})
	base := "http://" + addr

	post := func(path string, header map[string]string, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := post("/v1/calls", map[string]string{"X-Callsign-User": "alice"}, `{"type":"video","userIDList":["bob"]}`)
	var call struct {
		RoomID    struct{ Str string }
		CallToken string
	}
	if status != 200 || json.Unmarshal([]byte(body), &call) != nil || call.RoomID.Str == "" {
		t.Fatalf("create: %d %s", status, body)
	}
	if status, body := post("/v1/calls/join", map[string]string{"X-Callsign-User": "bob"}, `{"callToken":"`+call.CallToken+`"}`); status != 200 {
		t.Fatalf("join: %d %s", status, body)
	}
	enter := func(user string, ms int64) (int, string) {
		ev := fmt.Sprintf("{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t103,\n\t\"CallbackTs\":\t%d,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t%q,\n\t\t\"EventTs\":\t%d,\n\t\t\"EventMsTs\":\t%d,\n\t\t\"UserId\":\t%q,\n\t\t\"Role\":\t20,\n\t\t\"TerminalType\":\t100,\n\t\t\"UserType\":\t2,\n\t\t\"Reason\":\t1\n\t}\n}", ms+30, call.RoomID.Str, ms/1000, ms, user)
		return post("/v1/callbacks/trtc", map[string]string{"Sign": trtcevent.Sign(callbackKey, []byte(ev)), "SdkAppId": "1400000000"}, ev)
	}
	for _, e := range []struct {
		user string
		ms   int64
	}{{"alice", 1764777600100}, {"bob", 1764777600200}, {"mallory", 1764777600300}, {"mallory", 1764777600300}} {
		if status, body := enter(e.user, e.ms); status != 200 || body != "{\"code\":0}\n" {
			t.Fatalf("callback for %s: %d %s\n%s", e.user, status, body, logs.String())
		}
	}
	want := []trtcapitest.Call{{Action: "RemoveUserByStrRoomId", Region: "ap-guangzhou", SdkAppID: 1400000000, RoomStr: call.RoomID.Str, UserIDs: []string{"mallory"}}}
	if got := fake.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("TRTC API calls:\n got %+v\nwant %+v\nserver log:\n%s", got, want, logs.String())
	}
	if fake.Rejected() != 0 {
		t.Fatalf("%d API requests failed the TC3 check", fake.Rejected())
	}
	if l := logs.String(); strings.Contains(l, callbackKey) || strings.Contains(l, cloudKey) {
		t.Fatalf("a key reached the server log:\n%s", l)
	}
}
