package callpolicy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
)

var testKey = []byte("callsign-policy-test-key-0123456789")

// receiver is the example receiver of docs/operators.md in Go: it
// verifies the signature and refuses calls to "blocked".
func receiver(t *testing.T, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		ts, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
		if err != nil || !Verify(testKey, ts, body, r.Header.Get(HeaderSignature)) {
			t.Errorf("bad signature on %s", body)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var req Request
		if err := json.Unmarshal(body, &req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		allow := true
		for _, u := range req.Invitees {
			allow = allow && u != "blocked"
		}
		_ = json.NewEncoder(w).Encode(map[string]bool{"allow": allow})
	}
}

// newClient returns a client of url on clock c; its Timeout is a safety net
// of 10 s (DefaultTimeout is too tight for a loopback round trip on a loaded
// machine under -race), which mutate may change.
func newClient(t *testing.T, url string, c *testclock.Clock, mutate func(*Options)) *Client {
	t.Helper()
	o := Options{URL: url, Key: func(context.Context) ([]byte, error) { return testKey, nil }, Now: c.Now, Timeout: 10 * time.Second}
	if mutate != nil {
		mutate(&o)
	}
	cl, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestSignature pins the signature of a fixed request; the value was
// computed independently with
// printf '%s' '1764777600.{"caller":"alice","invitees":["bob"],"type":"video"}' | openssl dgst -sha256 -hmac 'callsign-policy-test-key-0123456789'.
func TestSignature(t *testing.T) {
	body := []byte(`{"caller":"alice","invitees":["bob"],"type":"video"}`)
	const want = "v1=2038a944708323c7457a38af5920104e10ccda53a682c7aa61206fed1beacd97"
	got := Sign(testKey, 1764777600, body)
	if got != want {
		t.Fatalf("Sign = %q", got)
	}
	if !Verify(testKey, 1764777600, body, got) || Verify(testKey, 1764777601, body, got) || Verify([]byte("other"), 1764777600, body, got) {
		t.Fatal("Verify does not bind the key, time and body")
	}
}

func TestDecisionsAndCache(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(receiver(t, &n))
	defer srv.Close()
	c := testclock.AtEpoch()
	cl := newClient(t, srv.URL, c, nil)
	ctx := context.Background()
	for i, tc := range []struct {
		invitees []string
		want     bool
		calls    int32
	}{
		{[]string{"bob", "carol"}, true, 1},
		{[]string{"carol", "bob"}, true, 1}, // same call, cached
		{[]string{"blocked"}, false, 2},
		{[]string{"blocked"}, false, 2}, // refusals are cached too
	} {
		allow, err := cl.Allow(ctx, "alice", tc.invitees, "video", "")
		if err != nil || allow != tc.want || n.Load() != tc.calls {
			t.Fatalf("step %d: Allow = %v, %v after %d webhook calls; want %v after %d", i, allow, err, n.Load(), tc.want, tc.calls)
		}
	}
	c.Advance(DefaultCacheTTL)
	if allow, err := cl.Allow(ctx, "alice", []string{"blocked"}, "video", ""); allow || err != nil || n.Load() != 3 {
		t.Fatalf("after the cache lifetime: %v, %v, %d calls", allow, err, n.Load())
	}
}

// TestFailures: a slow, down or misbehaving webhook fails closed (an
// error) or open (allowed), as configured; failures are never cached.
func TestFailures(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/500" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, `{"allowed":true}`)
	}))
	defer bad.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for _, tc := range []struct {
		name string
		url  string
		// timeout is the client's: short where the webhook never answers,
		// a safety net where the answer itself is the failure.
		timeout time.Duration
		want    string
	}{
		{"slow", slow.URL, 50 * time.Millisecond, "callpolicy: no decision from the webhook: context deadline exceeded"},
		{"down", downURL, 10 * time.Second, "callpolicy: no decision from the webhook: dial tcp"},
		{"500", bad.URL + "/500", 10 * time.Second, "callpolicy: no decision from the webhook: HTTP 500"},
		{"wrong answer", bad.URL, 10 * time.Second, `callpolicy: no decision from the webhook: the answer is not {"allow":true|false}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testclock.AtEpoch()
			closed := newClient(t, tc.url, c, func(o *Options) { o.Timeout = tc.timeout })
			allow, err := closed.Allow(context.Background(), "alice", []string{"bob"}, "audio", "")
			if allow || !errors.Is(err, ErrFailed) || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
				t.Fatalf("closed: %v, %v; want an error starting %q", allow, err, tc.want)
			}
			open := newClient(t, tc.url, c, func(o *Options) { o.Timeout = tc.timeout; o.FailOpen = true })
			if allow, err := open.Allow(context.Background(), "alice", []string{"bob"}, "audio", ""); !allow || err != nil {
				t.Fatalf("open: %v, %v", allow, err)
			}
			if len(open.cache) != 0 || len(closed.cache) != 0 {
				t.Fatal("a failure was cached")
			}
		})
	}
}

func TestNoKey(t *testing.T) {
	c := testclock.AtEpoch()
	cl := newClient(t, "https://policy.example.com", c, func(o *Options) {
		o.Key = func(context.Context) ([]byte, error) { return nil, nil }
	})
	if _, err := cl.Allow(context.Background(), "a", []string{"b"}, "audio", ""); err == nil || err.Error() != "callpolicy: no decision from the webhook: no callPolicyKey is configured" {
		t.Fatalf("Allow without a key: %v", err)
	}
}
