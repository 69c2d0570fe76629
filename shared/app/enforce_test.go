package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/app"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/internal/teststore"
	"github.com/callsign-dev/callsign/shared/trtcapi/trtcapitest"
	"github.com/callsign-dev/callsign/shared/trtcevent"
)

const (
	testCallbackKey = "callsignTestKey2025"
	testCloudID     = "AKIDcallsignTestSecretId0000"
	testCloudKey    = "callsignProbeSecretKeyExample0000"
)

// gatewayCall creates a call as sub (gateway verifier) and returns its
// string room.
func gatewayCall(t *testing.T, h http.Handler, sub, invitee string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/calls", strings.NewReader(`{"type":"video","userIDList":["`+invitee+`"]}`))
	req = req.WithContext(identity.WithGatewayClaims(req.Context(), map[string]string{"sub": sub}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out struct {
		RoomID struct {
			Str string `json:"str"`
		} `json:"roomID"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.RoomID.Str == "" {
		t.Fatalf("create call: %d %s", rec.Code, rec.Body)
	}
	return out.RoomID.Str
}

// signedEnter posts a signed 103 for user in room.
func signedEnter(h http.Handler, room, user string, ms int64) *httptest.ResponseRecorder {
	body := fmt.Sprintf("{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t103,\n\t\"CallbackTs\":\t%d,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t%q,\n\t\t\"EventTs\":\t%d,\n\t\t\"EventMsTs\":\t%d,\n\t\t\"UserId\":\t%q,\n\t\t\"Role\":\t20,\n\t\t\"TerminalType\":\t100,\n\t\t\"UserType\":\t2,\n\t\t\"Reason\":\t1\n\t}\n}", ms+40, room, ms/1000, ms, user)
	req := httptest.NewRequest(http.MethodPost, "/v1/callbacks/trtc", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sign", trtcevent.Sign(testCallbackKey, []byte(body)))
	req.Header.Set("SdkAppId", "1400000000")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestEnforcementAcrossInstances: on a shared store (real redis-server and
// dynalite) a call created by one instance is enforced by another: the
// stranger is removed exactly once although the entry is delivered to
// both, the caller and the invitee never. Cloud API credentials come from
// TENCENTCLOUD_* (the SCF run role) and the endpoint override points at
// a loopback fake speaking TC3.
func TestEnforcementAcrossInstances(t *testing.T) {
	redisAddr := teststore.StartRedis(t)
	dynamoEndpoint := teststore.StartDynalite(t)
	if err := teststore.CreateLimitsTable(context.Background(), teststore.DynamoDBClient(dynamoEndpoint), "limits"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	env := map[string]string{
		"TENCENTCLOUD_SECRETID":     testCloudID,
		"TENCENTCLOUD_SECRETKEY":    testCloudKey,
		"TENCENTCLOUD_SESSIONTOKEN": "run-role-token",
		"AWS_ACCESS_KEY_ID":         "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":     "secret",
		"AWS_REGION":                "ap-southeast-1",
	}
	for _, tc := range []struct {
		name string
		vars map[string]string
	}{
		{"redis", map[string]string{"CALLSIGN_LIMITER": "redis", "CALLSIGN_REDIS_URL": teststore.RedisURL(redisAddr)}},
		{"dynamodb", map[string]string{"CALLSIGN_LIMITER": "dynamodb", "CALLSIGN_DYNAMODB_TABLE": "limits", "CALLSIGN_DYNAMODB_ENDPOINT": dynamoEndpoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := trtcapitest.Start(t, testCloudID, testCloudKey)
			vars := map[string]string{
				"CALLSIGN_STAGE": "local", "CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": testKey,
				"CALLSIGN_VERIFIERS": "gateway", "CALLSIGN_USER_ID_MODE": "raw",
				"CALLSIGN_LIMITER_KEY_PREFIX": "test:enforce:" + tc.name + ":", "CALLSIGN_LIMITER_TIMEOUT": testLimiterTimeout,
				"CALLSIGN_CALL_ENFORCEMENT": "enforce", "CALLSIGN_TRTC_CALLBACK_KEY": testCallbackKey,
				"CALLSIGN_TRTC_REGION": "ap-singapore", "CALLSIGN_TRTC_API_ENDPOINT": fake.URL,
			}
			for k, v := range tc.vars {
				vars[k] = v
			}
			cfg := loadConfig(t, vars)
			opts := app.Options{Platform: app.PlatformSCF, Logger: slog.New(slog.DiscardHandler), Getenv: func(k string) string { return env[k] }}
			a, err := app.New(context.Background(), cfg, opts)
			if err != nil {
				t.Fatalf("app.New: %v", err)
			}
			b, err := app.New(context.Background(), cfg, opts)
			if err != nil {
				t.Fatalf("app.New: %v", err)
			}
			room := gatewayCall(t, a, "alice", "bob")
			for i, step := range []struct {
				h    http.Handler
				user string
				ms   int64
			}{{b, "alice", 1}, {b, "bob", 2}, {b, "mallory", 3}, {a, "mallory", 3}, {b, "mallory", 3}} {
				if rec := signedEnter(step.h, room, step.user, 1764777600000+step.ms); rec.Code != 200 || rec.Body.String() != "{\"code\":0}\n" {
					t.Fatalf("event %d (%s): %d %s", i, step.user, rec.Code, rec.Body)
				}
			}
			want := []trtcapitest.Call{{Action: "RemoveUserByStrRoomId", Region: "ap-singapore", Token: "run-role-token", SdkAppID: 1400000000, RoomStr: room, UserIDs: []string{"mallory"}}}
			if got := fake.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("API calls = %+v, want %+v", got, want)
			}
		})
	}
}

// TestReservedAdminIdentifiers: in raw userID mode a subject equal to an
// administrator identifier or a call service user gets 403, never a
// UserSig.
func TestReservedAdminIdentifiers(t *testing.T) {
	cfg := loadConfig(t, map[string]string{
		"CALLSIGN_STAGE": "local", "CALLSIGN_SDK_APP_ID": "1400000000", "CALLSIGN_SECRET_KEY": testKey,
		"CALLSIGN_VERIFIERS": "gateway", "CALLSIGN_USER_ID_MODE": "raw", "CALLSIGN_IM_ADMIN_IDS": "ops_admin",
		"CALLSIGN_CALL_SERVICE_USERS": "recorder_1", "CALLSIGN_IM_ADMIN_USER": "im_signer",
	})
	a, err := app.New(context.Background(), cfg, app.Options{Platform: app.PlatformLambda, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for sub, want := range map[string]int{"administrator": 403, "ops_admin": 403, "recorder_1": 403, "im_signer": 403, "alice": 200} {
		if rec := gatewayUserSig(a, sub); rec.Code != want {
			t.Errorf("%s: %d %s, want %d", sub, rec.Code, rec.Body, want)
		}
	}
}
