//go:build !callsign.noredis

package callrecord

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/callsign-dev/callsign/shared/ratelimit"
)

// sharedRedis returns a client of the package's redis-server.
func sharedRedis(tb testing.TB) *redis.Client {
	tb.Helper()
	c, err := ratelimit.NewRedisClient(servers.RedisURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// redisStore returns a Redis store on the package's redis-server with keys
// under prefix. Builds without Redis (callsign.noredis) skip the test
// instead.
func redisStore(tb testing.TB, prefix string, now func() time.Time) Store {
	tb.Helper()
	return NewRedis(sharedRedis(tb), prefix, now)
}

// TestWithTimeout: a store that never answers is cut off by the timeout,
// on the real Redis client against a listener that accepts and stays
// silent.
func TestWithTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold the connection open, answer nothing
		}
	}()
	// No client-side read timeout: only the wrapper can end the wait.
	client := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true, ReadTimeout: -1, MaxRetries: -1, Protocol: 2, DisableIdentity: true})
	defer client.Close()
	s := WithTimeout(NewRedis(client, "p:", nil), 100*time.Millisecond)
	ctx := context.Background()
	// go-redis reports the context deadline as a network timeout.
	timedOut := func(err error) bool {
		var ne net.Error
		return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	}
	if _, err := s.Get(ctx, Room{Str: "r"}); !timedOut(err) {
		t.Fatalf("Get = %v, want a timeout", err)
	}
	if _, err := s.Claim(ctx, "k", time.Second); !timedOut(err) {
		t.Fatalf("Claim = %v, want a timeout", err)
	}
	if WithTimeout(s, 0) != s {
		t.Fatal("WithTimeout(s, 0) wrapped s")
	}
}
