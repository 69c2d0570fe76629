//go:build !callsign.noredis

package ratelimit

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/callsign-dev/callsign/shared/internal/teststore"
)

func TestNewRedisClientSettings(t *testing.T) {
	tests := []struct {
		name                     string
		opts                     RedisOptions
		url                      string
		wantAddr, wantUser       string
		wantDB, wantPool         int
		wantProtocol, wantRetry  int
		wantTLS                  bool
		wantDial, wantRead, want time.Duration
	}{
		{
			name: "defaults", url: "redis://127.0.0.1:6379",
			wantAddr: "127.0.0.1:6379", wantPool: 2, wantProtocol: 2, wantRetry: 1,
			wantDial: 500 * time.Millisecond, wantRead: 300 * time.Millisecond, want: 300 * time.Millisecond,
		},
		{
			name: "rediss with user, password and db", url: "rediss://app:hunter2@cache.internal:6380/3",
			wantAddr: "cache.internal:6380", wantUser: "app", wantDB: 3, wantPool: 2, wantProtocol: 2, wantRetry: 1, wantTLS: true,
			wantDial: 500 * time.Millisecond, wantRead: 300 * time.Millisecond, want: 300 * time.Millisecond,
		},
		{
			name: "options", opts: RedisOptions{PoolSize: 4, DialTimeout: time.Second, ReadTimeout: 200 * time.Millisecond, WriteTimeout: 100 * time.Millisecond, MaxRetries: -1},
			url:      "redis://127.0.0.1:6379",
			wantAddr: "127.0.0.1:6379", wantPool: 4, wantProtocol: 2, wantRetry: 0, // go-redis stores "no retries" as 0
			wantDial: time.Second, wantRead: 200 * time.Millisecond, want: 100 * time.Millisecond,
		},
		{
			name: "the tests' URL (teststore.RedisURL)", url: teststore.RedisURL("127.0.0.1:6379"),
			wantAddr: "127.0.0.1:6379", wantPool: 2, wantProtocol: 2, wantRetry: 0,
			wantDial: 500 * time.Millisecond, wantRead: 10 * time.Second, want: 10 * time.Second,
		},
		{
			name: "explicit URL parameters win", opts: RedisOptions{PoolSize: 4},
			url:      "redis://127.0.0.1:6379?pool_size=7&protocol=3&read_timeout=1s&dial_timeout=2s&write_timeout=3s&max_retries=5",
			wantAddr: "127.0.0.1:6379", wantPool: 7, wantProtocol: 3, wantRetry: 5,
			wantDial: 2 * time.Second, wantRead: time.Second, want: 3 * time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.opts.NewClient(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			o := c.Options()
			if o.Addr != tc.wantAddr || o.Username != tc.wantUser || o.DB != tc.wantDB || o.PoolSize != tc.wantPool ||
				o.Protocol != tc.wantProtocol || o.MaxRetries != tc.wantRetry || (o.TLSConfig != nil) != tc.wantTLS ||
				o.DialTimeout != tc.wantDial || o.ReadTimeout != tc.wantRead || o.WriteTimeout != tc.want {
				t.Errorf("options: addr %s user %s db %d pool %d protocol %d retries %d tls %v dial %v read %v write %v",
					o.Addr, o.Username, o.DB, o.PoolSize, o.Protocol, o.MaxRetries, o.TLSConfig != nil, o.DialTimeout, o.ReadTimeout, o.WriteTimeout)
			}
			if !o.ContextTimeoutEnabled || !o.DisableIdentity || o.MaintNotificationsConfig == nil || o.MaintNotificationsConfig.Mode != maintnotifications.ModeDisabled {
				t.Errorf("serverless settings missing: ContextTimeoutEnabled %v DisableIdentity %v MaintNotifications %+v",
					o.ContextTimeoutEnabled, o.DisableIdentity, o.MaintNotificationsConfig)
			}
		})
	}
}

func TestNewRedisClientErrors(t *testing.T) {
	tests := []struct {
		url, wantErr string
	}{
		{"http://127.0.0.1:6379", `ratelimit: redis URL scheme "http" is not supported`},
		{"127.0.0.1:6379", "ratelimit: redis URL is not a valid URL"},
		{"unix://redis.sock", `ratelimit: redis URL scheme "unix" is not supported`},
		{"redis://", "ratelimit: redis URL has no host"},
		{"redis://:hunter2@[::1", "ratelimit: redis URL is not a valid URL"},
		{"redis://:hunter2@host:6379/notadb", `ratelimit: redis URL: redis: invalid database number: "notadb"`},
		{"rediss://:hunter2@host:6379?pool_size=x", "ratelimit: redis URL: redis: invalid pool_size number"},
		{"redis://:hunter2@host:6379?bogus=1", "ratelimit: redis URL: redis: unexpected option: bogus"},
	}
	for _, tc := range tests {
		_, err := NewRedisClient(tc.url)
		if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
			t.Errorf("NewRedisClient(%q) error = %v, want prefix %q", tc.url, err, tc.wantErr)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error for %q reveals the password: %v", tc.url, err)
		}
	}
}

// TestRedisClientHandshake: against a real redis-server the client speaks
// RESP2 and decisions work.
func TestRedisClientHandshake(t *testing.T) {
	client := sharedRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := client.Do(ctx, "CLIENT", "INFO").Text()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(info), "resp=2") {
		t.Fatalf("CLIENT INFO = %q, want resp=2", info)
	}
}

// TestRedisKeyLayout: keys are "rate:" + prefix + key and expire once the
// bucket is full again.
func TestRedisKeyLayout(t *testing.T) {
	client := sharedRedis(t)
	prefix := uniquePrefix(t)
	lim := NewRedis(client, prefix)
	allow(t, lim, "usersig:alice", Policy{Rate: 5, Period: time.Minute, Burst: 5})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// PTTL, not TTL: TTL rounds the time left to the second, which gives
	// 11s once half a second has passed since the request.
	ttl, err := client.PTTL(ctx, "rate:"+prefix+"usersig:alice").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 11*time.Second || ttl > 12*time.Second {
		t.Fatalf("PTTL = %v, want within (11s, 12s] (one interval after one request)", ttl)
	}
}

// sharedRedis returns a client of the package's redis-server, skipping or
// failing the test (teststore.SkipOrFail) when it cannot start.
func sharedRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	client, err := NewRedisClient(servers.RedisURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return client
}

// redisLimiter returns a Redis limiter on the redis-server at url (empty:
// the package's shared one) with keys under prefix. Builds without Redis
// (callsign.noredis) skip the test instead.
func redisLimiter(tb testing.TB, url, prefix string) Limiter {
	tb.Helper()
	if url == "" {
		url = servers.RedisURL(tb)
	}
	client, err := NewRedisClient(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return NewRedis(client, prefix)
}

// redisSuiteLimiter returns a Redis limiter with a fresh key space and the
// Redis server's own clock: the limiter decides at the server's TIME, so the
// suite measures the time that passed on that same clock. The test
// process's clock is a different one (monotonic, while the server reads the
// wall clock, which NTP may slew by a few percent), and bounds computed on
// it have failed by a millisecond.
func redisSuiteLimiter(tb testing.TB) (Limiter, clock) {
	tb.Helper()
	client, err := NewRedisClient(servers.RedisURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return NewRedis(client, uniquePrefix(tb)), redisClock{tb: tb, client: client}
}

// redisClock reads the Redis server's TIME; Advance sleeps until that clock
// has moved on by the duration.
type redisClock struct {
	tb     testing.TB
	client *redis.Client
}

// Now returns the server's TIME, failing the test when it cannot be read.
func (c redisClock) Now() time.Time {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now, err := c.client.Time(ctx).Result()
	if err != nil {
		c.tb.Fatalf("redis TIME: %v", err)
	}
	return now
}

// Advance sleeps until the server's clock has moved on by at least d, which
// a sleep of d on this process's clock does not promise.
func (c redisClock) Advance(d time.Duration) {
	c.tb.Helper()
	start := c.Now()
	for left := d; left > 0; left = d - c.Now().Sub(start) {
		time.Sleep(left)
	}
}

// requireRedis does nothing: this build has the Redis limiter.
func requireRedis(testing.TB) {}
