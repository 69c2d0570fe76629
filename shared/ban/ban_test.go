package ban

import (
	"context"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/callsign-dev/callsign/shared/internal/testlog"
	"github.com/callsign-dev/callsign/shared/internal/teststore"
)

var start = testclock.Epoch()

// backends starts the shared servers once for the test and returns a
// builder per Store implementation.
func backends(t *testing.T) []struct {
	name  string
	build func(t *testing.T, c *testclock.Clock) Store
} {
	t.Helper()
	redisURL := teststore.RedisURL(teststore.StartRedis(t))
	dyna := teststore.StartDynalite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := teststore.CreateLimitsTable(ctx, teststore.DynamoDBClient(dyna), "limits"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	prefix := func() string { return "test:" + rand.Text()[:8] + ":" }
	return []struct {
		name  string
		build func(t *testing.T, c *testclock.Clock) Store
	}{
		{"memory", func(_ *testing.T, c *testclock.Clock) Store { return NewMemory(c.Now) }},
		{"redis", func(t *testing.T, c *testclock.Clock) Store { return redisStore(t, redisURL, prefix(), c.Now) }},
		{"dynamodb", func(_ *testing.T, c *testclock.Clock) Store {
			return NewDynamoDB(teststore.DynamoDBClient(dyna), "limits", prefix(), c.Now)
		}},
	}
}

// TestStores runs ban, revocation and unban against every backend (real
// redis-server and dynalite). Redis expiry runs on the server's own clock,
// so only the exact-clock backends check Keep.
func TestStores(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			c := testclock.New(start)
			s := b.build(t, c)
			if _, ok, err := s.Get(ctx, "mallory"); ok || err != nil {
				t.Fatalf("Get before ban = %v, %v", ok, err)
			}
			e, err := Ban(ctx, s, "mallory", time.Hour, "spam calls", c.Now(), 24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			want := Entry{Banned: true, Until: start.Add(time.Hour).UTC(), Reason: "spam calls", RevokedAt: start.UTC(), Keep: start.Add(24 * time.Hour).UTC()}
			if !reflect.DeepEqual(e, want) {
				t.Fatalf("Ban = %+v, want %+v", e, want)
			}
			got, ok, err := s.Get(ctx, "mallory")
			if err != nil || !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("Get = %+v, %v, %v; want %+v", got, ok, err, want)
			}
			if !got.Active(start.Add(59*time.Minute)) || got.Active(start.Add(time.Hour)) {
				t.Fatal("Active is wrong around Until")
			}
			if _, ok, _ := s.Get(ctx, "bob"); ok {
				t.Fatal("another user has an entry")
			}

			c.Advance(time.Minute)
			found, err := Unban(ctx, s, "mallory", c.Now(), 24*time.Hour)
			if err != nil || !found {
				t.Fatalf("Unban = %v, %v", found, err)
			}
			got, ok, err = s.Get(ctx, "mallory")
			if err != nil || !ok || got.Active(c.Now()) || !got.RevokedAt.Equal(start) || !got.Keep.Equal(start.Add(24*time.Hour)) {
				t.Fatalf("after Unban: %+v, %v, %v", got, ok, err)
			}
			if found, err := Unban(ctx, s, "nobody", c.Now(), time.Hour); found || err != nil {
				t.Fatalf("Unban(nobody) = %v, %v", found, err)
			}

			// A ban without an end stays until lifted.
			if _, err := Ban(ctx, s, "eve", 0, "", c.Now(), time.Hour); err != nil {
				t.Fatal(err)
			}
			c.Advance(365 * 24 * time.Hour)
			if got, ok, err := s.Get(ctx, "eve"); err != nil || !ok || !got.Active(c.Now()) || !got.Keep.IsZero() {
				t.Fatalf("open-ended ban a year later: %+v, %v, %v", got, ok, err)
			}
			if b.name != "redis" {
				if _, ok, err := s.Get(ctx, "mallory"); ok || err != nil {
					t.Fatalf("mallory's entry outlived Keep: %v, %v", ok, err)
				}
			}
		})
	}
}

func TestBanValidation(t *testing.T) {
	s := NewMemory(nil)
	for _, tc := range []struct {
		user string
		d    time.Duration
	}{{"", time.Hour}, {"bad user", time.Hour}, {"ok", -time.Second}} {
		if _, err := Ban(context.Background(), s, tc.user, tc.d, "", start, time.Hour); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Ban(%q, %v) = %v, want ErrInvalid", tc.user, tc.d, err)
		}
	}
}

func TestRevoked(t *testing.T) {
	e := Entry{RevokedAt: start.Add(1500 * time.Millisecond)}
	for _, tc := range []struct {
		iat  time.Time
		want bool
	}{
		{time.Time{}, false},
		{start, true},
		{start.Add(time.Second), true}, // same second as the revocation
		{start.Add(2 * time.Second), false},
	} {
		if got := e.Revoked(tc.iat); got != tc.want {
			t.Fatalf("Revoked(%v) = %v, want %v", tc.iat, got, tc.want)
		}
	}
	if (Entry{}).Revoked(start) {
		t.Fatal("an entry without revocation revoked a token")
	}
}

// flakyStore counts lookups and fails on demand.
type flakyStore struct {
	Store
	gets int
	fail bool
}

func (f *flakyStore) Get(ctx context.Context, u string) (Entry, bool, error) {
	f.gets++
	if f.fail {
		return Entry{}, false, errors.New("store down")
	}
	return f.Store.Get(ctx, u)
}

// TestCheckerCache: lookups are served from the cache for CacheTTL, a ban
// is seen as soon as the cached answer is stale, and a store failure
// serves the last known state (or fails when closed).
func TestCheckerCache(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(start)
	fs := &flakyStore{Store: NewMemory(c.Now)}
	ch := NewChecker(fs, CheckerOptions{Now: c.Now})
	if banned, err := ch.Banned(ctx, "mallory"); banned || err != nil {
		t.Fatalf("Banned before = %v, %v", banned, err)
	}
	if _, err := Ban(ctx, fs, "mallory", time.Hour, "", c.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	c.Advance(DefaultCacheTTL - time.Millisecond)
	if banned, _ := ch.Banned(ctx, "mallory"); banned || fs.gets != 1 {
		t.Fatalf("within the cache lifetime: banned %v after %d lookups", banned, fs.gets)
	}
	c.Advance(time.Millisecond)
	if banned, _ := ch.Banned(ctx, "mallory"); !banned || fs.gets != 2 {
		t.Fatalf("after the cache lifetime: banned %v after %d lookups", banned, fs.gets)
	}
	fs.fail = true
	logs := &testlog.Buffer{}
	ch.log = logs.JSONLogger()
	for range 3 {
		c.Advance(DefaultCacheTTL)
		if banned, err := ch.Banned(ctx, "mallory"); !banned || err != nil {
			t.Fatalf("store down, open: banned %v, %v; want the last known state", banned, err)
		}
	}
	c.Advance(logInterval)
	if _, err := ch.Banned(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(logs.String(), `"msg":"ban lookup failed; using the last known state"`); got != 2 || !strings.Contains(logs.String(), `"failures":3`) {
		t.Fatalf("outage logged %d times, want 2 (the second counting 3 failures):\n%s", got, logs.String())
	}
	closed := NewChecker(fs, CheckerOptions{Now: c.Now, FailClosed: true})
	if _, _, err := closed.Lookup(ctx, "mallory"); err == nil {
		t.Fatal("store down, closed: no error")
	}
	if NewChecker(fs, CheckerOptions{CacheTTL: time.Hour}).ttl != MaxCacheTTL {
		t.Fatal("CacheTTL is not capped at MaxCacheTTL")
	}
}
