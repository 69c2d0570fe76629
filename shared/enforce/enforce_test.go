package enforce

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/trtcapi"
	"github.com/callsign-dev/callsign/shared/trtcapi/trtcapitest"
	"github.com/callsign-dev/callsign/shared/trtcevent"
)

const (
	appID       = 1400000000
	appIDHeader = "1400000000"
	cbKey       = "callsignTestKey2025"
	cloudID     = "AKIDcallsignTestSecretId0000"
	cloudKey    = "callsignProbeSecretKeyExample0000"
	room        = "c_8Jf2kQ7mT9xW1pLzR4vN0a"
	// enterBody is the handbook's enter fixture (wx_callee02 enters room).
	enterBody = "{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t103,\n\t\"CallbackTs\":\t1764777600123,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t\"c_8Jf2kQ7mT9xW1pLzR4vN0a\",\n\t\t\"EventTs\":\t1764777600,\n\t\t\"EventMsTs\":\t1764777600023,\n\t\t\"UserId\":\t\"wx_callee02\",\n\t\t\"Role\":\t20,\n\t\t\"TerminalType\":\t100,\n\t\t\"UserType\":\t2,\n\t\t\"Reason\":\t1\n\t}\n}"
	enterSign = "jn5OD7CCAR/mEzl95YvNY+lVK5lBX4AyUNdixU2ulaU="
)

var start = testclock.Epoch()

// harness is an Enforcer on a memory store, a fake TRTC API and a test
// clock whose sleeps advance it.
type harness struct {
	e     *Enforcer
	store *callrecord.Memory
	fake  *trtcapitest.Server
	clock *testclock.Clock
	logs  *testlog.Buffer
}

type setup struct {
	mode    Mode
	unknown UnknownRoom
	key     string
	service []string
}

func newHarness(t testing.TB, s setup) *harness {
	t.Helper()
	h := &harness{clock: testclock.New(start), logs: &testlog.Buffer{}}
	h.store = callrecord.NewMemory(callrecord.MemoryOptions{Now: h.clock.Now})
	h.fake = trtcapitest.Start(t, cloudID, cloudKey)
	sleep := func(_ context.Context, d time.Duration) error { h.clock.Advance(d); return nil }
	client, err := trtcapi.New(trtcapi.Options{
		Endpoint: h.fake.URL,
		Credentials: func(context.Context) (trtcapi.Credential, error) {
			return trtcapi.Credential{SecretID: cloudID, SecretKey: cloudKey}, nil
		},
		Pacer: &trtcapi.LimiterPacer{Limiter: ratelimit.NewMemory(ratelimit.MemoryOptions{Now: h.clock.Now}), Sleep: sleep},
	})
	if err != nil {
		t.Fatal(err)
	}
	key := s.key
	if key == "" {
		key = cbKey
	}
	if s.mode == "" {
		s.mode = ModeEnforce
	}
	h.e, err = New(Options{
		Store:        h.store,
		Secrets:      secret.Static(secret.Secret{SDKAppID: appID, SecretKey: "k", TRTCCallbackKey: key}),
		Remover:      client,
		Mode:         s.mode,
		UnknownRoom:  s.unknown,
		ServiceUsers: s.service,
		Logger:       h.logs.JSONLogger(),
		Now:          h.clock.Now,
		Sleep:        sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// call stores a call from wx_caller01 to wx_callee02 in room.
func (h *harness) call(t testing.TB, r callrecord.Room) {
	t.Helper()
	err := h.store.Create(context.Background(), callrecord.Record{
		CallID: "c_AAAAAAAAAAAAAAAAAAAAAA", Room: r, Caller: "wx_caller01", Invitees: []string{"wx_callee02"},
		Type: "video", CreatedAt: start, ExpiresAt: start.Add(2 * time.Hour), State: callrecord.StateCreated,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// event builds a signed callback in Tencent's formatting.
func event(typ int, roomJSON, user string, ms int64) Callback {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\t\"EventGroupId\":\t1,\n\t\"EventType\":\t%d,\n\t\"CallbackTs\":\t%d,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t%s,\n\t\t\"EventTs\":\t%d,\n\t\t\"EventMsTs\":\t%d", typ, ms+100, roomJSON, ms/1000, ms)
	if user != "" {
		fmt.Fprintf(&b, ",\n\t\t\"UserId\":\t%q", user)
	}
	b.WriteString("\n\t}\n}")
	body := []byte(b.String())
	return Callback{Sign: trtcevent.Sign(cbKey, body), SDKAppID: appIDHeader, Body: body}
}

func (h *harness) handle(t testing.TB, cb Callback) error {
	t.Helper()
	return h.e.Handle(context.Background(), cb)
}

// removed renders API calls as "Action:room:users".
func removed(calls []trtcapitest.Call) []string {
	var out []string
	for _, c := range calls {
		room := c.RoomStr
		if room == "" {
			room = fmt.Sprint(c.RoomNum)
		}
		out = append(out, c.Action+":"+room+":"+strings.Join(c.UserIDs, ","))
	}
	return out
}

func TestAuthentication(t *testing.T) {
	docsBody := []byte("{\n\t\"EventGroupId\":\t2,\n\t\"EventType\":\t204,\n\t\"CallbackTs\":\t1664209748188,\n\t\"EventInfo\":\t{\n\t\t\"RoomId\":\t8489,\n\t\t\"EventTs\":\t1664209748,\n\t\t\"EventMsTs\":\t1664209748180,\n\t\t\"UserId\":\t\"user_85034614\",\n\t\t\"Reason\":\t0\n\t}\n}")
	tampered := []byte(enterBody)
	tampered[strings.Index(enterBody, "wx_callee02")+10] = '3'
	for _, tc := range []struct {
		name string
		key  string
		cb   Callback
		want error
	}{
		{"tencent worked example", "123654", Callback{Sign: "kkoFeO3Oh2ZHnjtg8tEAQhtXK16/KI05W3BQff8IvGA=", SDKAppID: appIDHeader, Body: docsBody}, nil},
		{"enter fixture", "", Callback{Sign: enterSign, SDKAppID: appIDHeader, Body: []byte(enterBody)}, nil},
		{"tampered body", "", Callback{Sign: enterSign, SDKAppID: appIDHeader, Body: tampered}, ErrUnauthenticated},
		{"missing Sign", "", Callback{SDKAppID: appIDHeader, Body: []byte(enterBody)}, ErrUnauthenticated},
		{"missing SdkAppId", "", Callback{Sign: enterSign, Body: []byte(enterBody)}, ErrUnauthenticated},
		{"other SdkAppId", "", Callback{Sign: enterSign, SDKAppID: "1400000001", Body: []byte(enterBody)}, ErrUnauthenticated},
		{"padded SdkAppId", "", Callback{Sign: enterSign, SDKAppID: "01400000000", Body: []byte(enterBody)}, ErrUnauthenticated},
		{"wrong key", "otherKey", Callback{Sign: enterSign, SDKAppID: appIDHeader, Body: []byte(enterBody)}, ErrUnauthenticated},
		{"signed garbage", "", Callback{Sign: trtcevent.Sign(cbKey, []byte("[]")), SDKAppID: appIDHeader, Body: []byte("[]")}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{key: tc.key})
			// The fixture's callee is not on this call: a verified
			// fixture leads to exactly one removal.
			h.call(t, callrecord.Room{Str: room})
			_, _ = h.store.Update(context.Background(), callrecord.Room{Str: room}, func(r *callrecord.Record) error {
				r.Invitees = []string{"wx_other"}
				return nil
			})
			err := h.handle(t, tc.cb)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Handle = %v, want %v", err, tc.want)
			}
			calls := h.fake.Calls()
			if tc.want != nil && len(calls) != 0 {
				t.Fatalf("a refused callback caused API calls: %v", removed(calls))
			}
			for _, leak := range []string{cbKey, enterSign, "otherKey"} {
				if err != nil && strings.Contains(err.Error(), leak) {
					t.Fatalf("error %q leaks %q", err, leak)
				}
			}
		})
	}
	t.Run("no key configured", func(t *testing.T) {
		h := newHarness(t, setup{})
		h.e.secrets = secret.Static(secret.Secret{SDKAppID: appID, SecretKey: "k"})
		if err := h.handle(t, Callback{Sign: enterSign, SDKAppID: appIDHeader, Body: []byte(enterBody)}); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("Handle = %v, want ErrUnauthenticated", err)
		}
	})
}

func TestVerdicts(t *testing.T) {
	const t0 = int64(1764777600000)
	str := `"` + room + `"`
	tests := []struct {
		name      string
		setup     setup
		numeric   bool
		events    []Callback
		want      []string // API calls
		wantState callrecord.State
		inRoom    []string
		logs      []string
	}{
		{
			name:      "caller and invitee stay, stranger removed once",
			events:    []Callback{event(103, str, "wx_caller01", t0), event(103, str, "wx_callee02", t0+10), event(103, str, "mallory", t0+20), event(103, str, "mallory", t0+20)},
			want:      []string{"RemoveUserByStrRoomId:" + room + ":mallory"},
			wantState: callrecord.StateActive,
			inRoom:    []string{"wx_callee02", "wx_caller01"},
			logs:      []string{`"msg":"call enforcement: removed the user","verdict":"not_invited","callID":"c_AAAAAAAAAAAAAAAAAAAAAA","room":"` + room + `","userID":"mallory","eventMsTs":1764777600020,"attempt":1`, `"msg":"call enforcement: duplicate event, already handled"`},
		},
		{
			name:      "numeric room uses RemoveUser",
			numeric:   true,
			events:    []Callback{event(103, "2147483647", "mallory", t0)},
			want:      []string{"RemoveUser:2147483647:mallory"},
			wantState: callrecord.StateCreated,
		},
		{
			name:      "a string room that looks numeric is another room",
			numeric:   true,
			events:    []Callback{event(103, `"2147483647"`, "mallory", t0)},
			wantState: callrecord.StateCreated,
		},
		{
			name:      "each new entry is removed again",
			events:    []Callback{event(103, str, "mallory", t0), event(104, str, "mallory", t0+5), event(103, str, "mallory", t0+900)},
			want:      []string{"RemoveUserByStrRoomId:" + room + ":mallory", "RemoveUserByStrRoomId:" + room + ":mallory"},
			wantState: callrecord.StateCreated,
		},
		{
			name:      "exit and dismiss update the record",
			events:    []Callback{event(103, str, "wx_caller01", t0), event(103, str, "wx_callee02", t0+1), event(104, str, "wx_callee02", t0+2)},
			wantState: callrecord.StateActive,
			inRoom:    []string{"wx_caller01"},
		},
		{
			name:      "an out-of-order exit keeps the later entry",
			events:    []Callback{event(103, str, "wx_callee02", t0+10), event(104, str, "wx_callee02", t0+5)},
			wantState: callrecord.StateActive,
			inRoom:    []string{"wx_callee02"},
		},
		{
			name:      "entering after the call ended is removed",
			events:    []Callback{event(103, str, "wx_caller01", t0), event(102, str, "", t0+100), event(103, str, "wx_callee02", t0+200)},
			want:      []string{"RemoveUserByStrRoomId:" + room + ":wx_callee02"},
			wantState: callrecord.StateEnded,
			logs:      []string{`"verdict":"call_ended"`},
		},
		{
			name:      "a late retry of an entry before the end is not removed",
			events:    []Callback{event(102, str, "", t0+100), event(103, str, "wx_callee02", t0+50)},
			wantState: callrecord.StateEnded,
		},
		{
			name:      "audit logs and removes no one",
			setup:     setup{mode: ModeAudit},
			events:    []Callback{event(103, str, "mallory", t0), event(103, str, "wx_callee02", t0+1)},
			wantState: callrecord.StateActive,
			inRoom:    []string{"wx_callee02"},
			logs:      []string{`"msg":"call enforcement: would remove user (audit)"`, `"verdict":"not_invited"`, `"userID":"mallory"`},
		},
		{
			name:      "off makes no verdict but keeps the record",
			setup:     setup{mode: ModeOff},
			events:    []Callback{event(103, str, "mallory", t0), event(103, str, "wx_caller01", t0+1)},
			wantState: callrecord.StateActive,
			inRoom:    []string{"wx_caller01"},
		},
		{
			name:      "unknown room ignored by default",
			events:    []Callback{event(101, `"c_unknown"`, "x", t0), event(103, `"c_unknown"`, "x", t0)},
			wantState: callrecord.StateCreated,
		},
		{
			name:      "unknown room audited",
			setup:     setup{unknown: UnknownAudit},
			events:    []Callback{event(103, `"c_unknown"`, "x", t0)},
			wantState: callrecord.StateCreated,
			logs:      []string{`"verdict":"unknown_room"`, `"room":"c_unknown"`},
		},
		{
			name:      "unknown room dismissed once",
			setup:     setup{unknown: UnknownDismiss},
			events:    []Callback{event(101, `"c_unknown"`, "x", t0), event(103, `"c_unknown"`, "x", t0), event(103, "77", "y", t0)},
			want:      []string{"DismissRoomByStrRoomId:c_unknown:", "DismissRoom:77:"},
			wantState: callrecord.StateCreated,
			logs:      []string{`"msg":"call enforcement: dismissed the room","verdict":"unknown_room","room":"77"`},
		},
		{
			name: "media events are ignored",
			events: []Callback{func() Callback {
				c := event(103, str, "mallory", t0)
				c.Body = []byte(strings.Replace(string(c.Body), "\"EventGroupId\":\t1", "\"EventGroupId\":\t2", 1))
				c.Sign = trtcevent.Sign(cbKey, c.Body)
				return c
			}()},
			wantState: callrecord.StateCreated,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.setup)
			r := callrecord.Room{Str: room}
			if tc.numeric {
				r = callrecord.Room{Num: 2147483647}
			}
			h.call(t, r)
			for i, cb := range tc.events {
				if err := h.handle(t, cb); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
			}
			if got := removed(h.fake.Calls()); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("API calls = %v, want %v", got, tc.want)
			}
			rec, err := h.store.Get(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if rec.State != tc.wantState {
				t.Fatalf("state = %s, want %s", rec.State, tc.wantState)
			}
			if in := slices.Sorted(maps.Keys(rec.Participants)); !slices.Equal(in, tc.inRoom) {
				t.Fatalf("participants = %v, want %v", in, tc.inRoom)
			}
			for _, want := range tc.logs {
				if !strings.Contains(h.logs.String(), want) {
					t.Fatalf("logs lack %s:\n%s", want, h.logs.String())
				}
			}
			if strings.Contains(h.logs.String(), cbKey) {
				t.Fatal("the callback key was logged")
			}
		})
	}
}

// TestConcurrentDuplicates delivers the same offending entry from many
// goroutines at once: exactly one removal.
func TestConcurrentDuplicates(t *testing.T) {
	h := newHarness(t, setup{})
	h.call(t, callrecord.Room{Str: room})
	cb := event(103, `"`+room+`"`, "mallory", 1764777600000)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if err := h.e.Handle(context.Background(), cb); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(h.fake.Calls()); n != 1 {
		t.Fatalf("%d removals, want 1", n)
	}
}

// TestFailingAPI: temporary failures are retried within one callback; when
// every attempt fails the callback answers ErrUnavailable, the failure is
// logged, and Tencent's retry removes the user.
func TestFailingAPI(t *testing.T) {
	cb := event(103, `"`+room+`"`, "mallory", 1764777600000)
	t.Run("recovers within the callback", func(t *testing.T) {
		h := newHarness(t, setup{})
		h.call(t, callrecord.Room{Str: room})
		h.fake.SetFailure(func(n int, _ trtcapitest.Call) string {
			if n <= 2 {
				return "InternalError"
			}
			return ""
		})
		if err := h.handle(t, cb); err != nil {
			t.Fatalf("Handle = %v", err)
		}
		if n := len(h.fake.Calls()); n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
		if got := strings.Count(h.logs.String(), `"msg":"call enforcement: cloud API call failed"`); got != 2 {
			t.Fatalf("%d failures logged, want 2:\n%s", got, h.logs.String())
		}
		if !strings.Contains(h.logs.String(), `"error":"trtcapi: RemoveUserByStrRoomId: InternalError (request fake-request-id)"`) {
			t.Fatalf("failure log lacks the error code:\n%s", h.logs.String())
		}
		if err := h.handle(t, cb); err != nil || len(h.fake.Calls()) != 3 {
			t.Fatalf("retry after success: %v, %d calls; want no new call", err, len(h.fake.Calls()))
		}
	})
	t.Run("Tencent retries after a failed callback", func(t *testing.T) {
		h := newHarness(t, setup{})
		h.call(t, callrecord.Room{Str: room})
		down := true
		h.fake.SetFailure(func(int, trtcapitest.Call) string {
			if down {
				return "InternalError"
			}
			return ""
		})
		if err := h.handle(t, cb); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Handle = %v, want ErrUnavailable", err)
		}
		if n := len(h.fake.Calls()); n != DefaultAttempts {
			t.Fatalf("%d attempts, want %d", n, DefaultAttempts)
		}
		down = false
		if err := h.handle(t, cb); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if n := len(h.fake.Calls()); n != DefaultAttempts+1 {
			t.Fatalf("%d calls after the retry, want %d", n, DefaultAttempts+1)
		}
	})
	t.Run("a hanging API is cut off by the budget", func(t *testing.T) {
		h := newHarness(t, setup{})
		e, err := New(Options{Store: h.store, Secrets: h.e.secrets, Remover: h.e.remover, Mode: ModeEnforce,
			Now: h.clock.Now, Sleep: h.e.sleep, Budget: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		h.call(t, callrecord.Room{Str: room})
		hang := make(chan struct{})
		t.Cleanup(func() { close(hang) }) // runs before the fake server closes
		h.fake.OnCall(func(trtcapitest.Call) { <-hang })
		if err := e.Handle(context.Background(), cb); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Handle = %v, want ErrUnavailable", err)
		}
		// The claim was released: the next delivery acts again.
		ok, err := h.store.Claim(context.Background(), "remove:"+mustParse(t, cb).Key(), time.Second)
		if err != nil || !ok {
			t.Fatalf("claim still held after a failed removal: %v %v", ok, err)
		}
	})
	t.Run("permanent failure is not retried in the callback", func(t *testing.T) {
		h := newHarness(t, setup{})
		h.call(t, callrecord.Room{Str: room})
		h.fake.SetFailure(func(int, trtcapitest.Call) string { return "UnauthorizedOperation.SdkAppId" })
		if err := h.handle(t, cb); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Handle = %v, want ErrUnavailable", err)
		}
		if n := len(h.fake.Calls()); n != 1 {
			t.Fatalf("%d attempts, want 1", n)
		}
	})
}

// TestRemovalStorm: 60 strangers enter within one millisecond; the
// removals are paced (test clock) so that no one-second window holds 20.
func TestRemovalStorm(t *testing.T) {
	h := newHarness(t, setup{})
	h.call(t, callrecord.Room{Str: room})
	var at []time.Time
	h.fake.OnCall(func(trtcapitest.Call) { at = append(at, h.clock.Now()) })
	for i := range 60 {
		if err := h.handle(t, event(103, `"`+room+`"`, fmt.Sprintf("intruder%02d", i), 1764777600000)); err != nil {
			t.Fatal(err)
		}
	}
	if len(at) != 60 {
		t.Fatalf("%d removals, want 60", len(at))
	}
	for i := range at {
		n := 0
		for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
			n++
		}
		if n >= 20 {
			t.Fatalf("%d removals within one second from removal %d", n, i)
		}
	}
}

// mustParse decodes a callback's body.
func mustParse(t testing.TB, cb Callback) trtcevent.Event {
	t.Helper()
	ev, err := trtcevent.Parse(cb.Body)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestNewValidates(t *testing.T) {
	store := callrecord.NewMemory(callrecord.MemoryOptions{})
	src := secret.Static(secret.Secret{SDKAppID: 1, SecretKey: "k"})
	for _, o := range []Options{
		{Secrets: src},
		{Store: store},
		{Store: store, Secrets: src, Mode: ModeEnforce},
		{Store: store, Secrets: src, Mode: "strict"},
		{Store: store, Secrets: src, UnknownRoom: "kick"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// BenchmarkVerifyAndDecide measures one signed enter callback: Sign
// check, parse, record read and verdict. "member" also writes the record;
// "duplicate" is an offending entry whose removal another delivery has
// already claimed.
func BenchmarkVerifyAndDecide(b *testing.B) {
	for _, tc := range []struct{ name, user string }{{"member", "wx_callee02"}, {"duplicate", "mallory"}} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHarness(b, setup{})
			h.call(b, callrecord.Room{Str: room})
			cb := event(103, `"`+room+`"`, tc.user, 1764777600000)
			if err := h.e.Handle(context.Background(), cb); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := h.e.Handle(context.Background(), cb); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
