package trtcapi

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testtls"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/tlstrust"
	"github.com/callsign-dev/callsign/shared/trtcapi/trtcapitest"
)

const (
	testID  = "AKIDcallsignTestSecretId0000"
	testKey = "callsignProbeSecretKeyExample0000"
)

func newClient(t *testing.T, fake *trtcapitest.Server, cred Credential) *Client {
	t.Helper()
	c, err := New(Options{
		Region:      "ap-singapore",
		Endpoint:    fake.URL,
		Credentials: func(context.Context) (Credential, error) { return cred, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRemoveUsers(t *testing.T) {
	fake := trtcapitest.Start(t, testID, testKey)
	c := newClient(t, fake, Credential{SecretID: testID, SecretKey: testKey, Token: "sts-token"})
	ctx := context.Background()
	if err := c.RemoveUsers(ctx, 1400000000, Room{Str: "c_8Jf2kQ7mT9xW1pLzR4vN0a"}, []string{"mallory"}); err != nil {
		t.Fatalf("RemoveUsers(string room): %v", err)
	}
	if err := c.RemoveUsers(ctx, 1400000000, Room{Num: 2147483647}, []string{"eve", "trudy"}); err != nil {
		t.Fatalf("RemoveUsers(numeric room): %v", err)
	}
	if err := c.DismissRoom(ctx, 1400000000, Room{Str: "abcd"}); err != nil {
		t.Fatalf("DismissRoom: %v", err)
	}
	if err := c.DismissRoom(ctx, 1400000000, Room{Num: 7}); err != nil {
		t.Fatalf("DismissRoom(numeric): %v", err)
	}
	want := []trtcapitest.Call{
		{Action: "RemoveUserByStrRoomId", Region: "ap-singapore", Token: "sts-token", SdkAppID: 1400000000, RoomStr: "c_8Jf2kQ7mT9xW1pLzR4vN0a", UserIDs: []string{"mallory"}},
		{Action: "RemoveUser", Region: "ap-singapore", Token: "sts-token", SdkAppID: 1400000000, RoomNum: 2147483647, UserIDs: []string{"eve", "trudy"}},
		{Action: "DismissRoomByStrRoomId", Region: "ap-singapore", Token: "sts-token", SdkAppID: 1400000000, RoomStr: "abcd"},
		{Action: "DismissRoom", Region: "ap-singapore", Token: "sts-token", SdkAppID: 1400000000, RoomNum: 7},
	}
	if got := fake.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls:\n got %+v\nwant %+v", got, want)
	}
	if fake.Rejected() != 0 {
		t.Fatalf("%d requests failed the TC3 check", fake.Rejected())
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cred      Credential
		code      string // the fake's answer
		wantCode  string
		temporary bool
		ok        bool
	}{
		{name: "room gone is success", code: "FailedOperation.RoomNotExist", ok: true},
		{name: "internal error", code: "InternalError.GetRoomCacheIpError", wantCode: "InternalError.GetRoomCacheIpError", temporary: true},
		{name: "throttled", code: "RequestLimitExceeded", wantCode: "RequestLimitExceeded", temporary: true},
		{name: "unauthorized", code: "UnauthorizedOperation.SdkAppId", wantCode: "UnauthorizedOperation.SdkAppId"},
		{name: "wrong key", cred: Credential{SecretID: testID, SecretKey: "wrong-key"}, wantCode: "AuthFailure.SignatureFailure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := trtcapitest.Start(t, testID, testKey)
			fake.SetFailure(func(int, trtcapitest.Call) string { return tc.code })
			cred := tc.cred
			if cred.SecretID == "" {
				cred = Credential{SecretID: testID, SecretKey: testKey}
			}
			err := newClient(t, fake, cred).RemoveUsers(context.Background(), 1400000000, Room{Str: "r1"}, []string{"u1"})
			if tc.ok {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != tc.wantCode || e.Temporary != tc.temporary || e.Action != ActionRemoveUserByStrRoomID || e.RequestID != "fake-request-id" {
				t.Fatalf("err = %+v, want code %s temporary %v", e, tc.wantCode, tc.temporary)
			}
			if IsTemporary(err) != tc.temporary {
				t.Fatalf("IsTemporary = %v", !tc.temporary)
			}
			for _, leak := range []string{"fake error", testKey, "wrong-key"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("error %q contains %q", err, leak)
				}
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		fake := trtcapitest.Start(t, testID, testKey)
		err := newClient(t, fake, Credential{}).RemoveUsers(context.Background(), 1, Room{Num: 1}, []string{"u"})
		if !errors.Is(err, ErrNoCredentials) || IsTemporary(err) {
			t.Fatalf("err = %v, want ErrNoCredentials (permanent)", err)
		}
		if len(fake.Calls())+fake.Rejected() != 0 {
			t.Fatal("a request was sent without credentials")
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		fake := trtcapitest.Start(t, testID, testKey)
		c := newClient(t, fake, Credential{SecretID: testID, SecretKey: testKey})
		fake.Close()
		err := c.RemoveUsers(context.Background(), 1, Room{Num: 1}, []string{"u"})
		if !IsTemporary(err) {
			t.Fatalf("err = %v, want a temporary error", err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		fake := trtcapitest.Start(t, testID, testKey)
		c := newClient(t, fake, Credential{SecretID: testID, SecretKey: testKey})
		for _, err := range []error{
			c.RemoveUsers(context.Background(), 1, Room{Num: 1}, nil),
			c.RemoveUsers(context.Background(), 1, Room{Num: 1}, make([]string, 11)),
			c.RemoveUsers(context.Background(), 0, Room{Num: 1}, []string{"u"}),
			c.RemoveUsers(context.Background(), 1, Room{}, []string{"u"}),
			c.DismissRoom(context.Background(), 1, Room{Str: "a", Num: 1}),
		} {
			if err == nil {
				t.Fatal("bad arguments accepted")
			}
		}
		if len(fake.Calls())+fake.Rejected() != 0 {
			t.Fatal("a bad request was sent")
		}
	})
}

// TestDefaultTransportVerifies calls a loopback HTTPS endpoint whose
// certificate chains to no trusted root through the default transport,
// which verifies in VerifyConnection (tlstrust): the call fails as a
// temporary network error and the request, which carries a signed
// credential, never reaches the server.
func TestDefaultTransportVerifies(t *testing.T) {
	t.Setenv(tlstrust.EnvCertFile, "")
	t.Setenv(tlstrust.EnvCertDir, "")
	var reached atomic.Bool
	srv := testtls.NewCA(t, "untrusted root", nil).Serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) }), []string{"127.0.0.1"})
	c, err := New(Options{
		Region:   "ap-singapore",
		Endpoint: srv.URL,
		Credentials: func(context.Context) (Credential, error) {
			return Credential{SecretID: testID, SecretKey: testKey}, nil
		},
		Timeout: 10 * time.Second, // only guards a hang: a failed check loads the system roots, slow under -race
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.transport.(statusTransport).base.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil || tr.TLSClientConfig.VerifyConnection == nil {
		t.Fatalf("default transport %T does not verify through tlstrust", c.transport.(statusTransport).base)
	}
	err = c.RemoveUsers(context.Background(), 1400000000, Room{Num: 7}, []string{"mallory"})
	if err == nil || err.Error() != "trtcapi: RemoveUser: could not reach the API" || !IsTemporary(err) {
		t.Fatalf("err = %v, want a temporary \"could not reach the API\"", err)
	}
	if reached.Load() {
		t.Error("the request reached a server whose certificate does not verify")
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, host, scheme string
		bad              bool
	}{
		{in: "", host: DefaultEndpoint, scheme: "HTTPS"},
		{in: "trtc.intl.tencentcloudapi.com", host: "trtc.intl.tencentcloudapi.com", scheme: "HTTPS"},
		{in: "https://trtc.internal.tencentcloudapi.com:443", host: "trtc.internal.tencentcloudapi.com:443", scheme: "HTTPS"},
		{in: "http://127.0.0.1:9000", host: "127.0.0.1:9000", scheme: "HTTP"},
		{in: "http://[::1]:9000/", host: "[::1]:9000", scheme: "HTTP"},
		{in: "http://localhost:9000", host: "localhost:9000", scheme: "HTTP"},
		{in: "http://trtc.tencentcloudapi.com", bad: true},
		{in: "http://10.0.0.1:80", bad: true},
		{in: "ftp://127.0.0.1", bad: true},
		{in: "https://user:pw@trtc.tencentcloudapi.com", bad: true},
		{in: "https://trtc.tencentcloudapi.com/path", bad: true},
	} {
		host, scheme, err := ParseEndpoint(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseEndpoint(%q) accepted", tc.in)
			}
			continue
		}
		if err != nil || host != tc.host || scheme != tc.scheme {
			t.Errorf("ParseEndpoint(%q) = %q, %q, %v; want %q, %q", tc.in, host, scheme, err, tc.host, tc.scheme)
		}
	}
}

// TestPacerStorm paces 100 removals with a limiter on a test clock whose
// Sleep advances the clock: no one-second window may hold 20 calls, and the
// storm takes 99 intervals of 1/18 s (plus the in-memory limiter's rounding,
// under a millisecond).
func TestPacerStorm(t *testing.T) {
	clock := testclock.AtEpoch()
	var sent []time.Time
	fake := trtcapitest.Start(t, testID, testKey)
	fake.OnCall(func(trtcapitest.Call) { sent = append(sent, clock.Now()) })
	pacer := &LimiterPacer{
		Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clock.Now}),
		Sleep:   func(_ context.Context, d time.Duration) error { clock.Advance(d); return nil },
	}
	c, err := New(Options{
		Endpoint: fake.URL,
		Pacer:    pacer,
		Credentials: func(context.Context) (Credential, error) {
			return Credential{SecretID: testID, SecretKey: testKey}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		if err := c.RemoveUsers(context.Background(), 1400000000, Room{Num: uint32(i + 1)}, []string{"u"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(sent) != n {
		t.Fatalf("%d calls sent, want %d", len(sent), n)
	}
	for i := range sent {
		j := i
		for j < len(sent) && sent[j].Sub(sent[i]) < time.Second {
			j++
		}
		if j-i >= 20 {
			t.Fatalf("%d calls within one second starting at call %d", j-i, i)
		}
	}
	if got, want := sent[n-1].Sub(sent[0]), (n-1)*(time.Second/18); got < want || got > want+time.Millisecond {
		t.Fatalf("storm took %v, want %v (+ at most 1ms)", got, want)
	}
}
