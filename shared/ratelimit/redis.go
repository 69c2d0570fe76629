//go:build !callsign.noredis

package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis is a shared Limiter on Redis (Tencent Cloud Redis, ElastiCache,
// Redis Cluster) using github.com/go-redis/redis_rate/v10: GCRA in one Lua
// script, one round trip per decision, one key per decision (cluster-safe).
// Time comes from the Redis server (TIME), so instance clock skew does not
// matter. Keys are stored as "rate:" + prefix + key and expire on their own
// once the bucket is full again.
//
// Remaining is computed by the script in floating point and is sometimes
// one too low; it is advisory only.
type Redis struct {
	lim    *redis_rate.Limiter
	prefix string
}

// NewRedis returns a Redis limiter using client. prefix separates stages
// that share a Redis, e.g. "callsign:prod:".
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{lim: redis_rate.NewLimiter(client), prefix: prefix}
}

// Allow decides one request for key under p. Errors are store failures
// (connection, timeout, ctx) or an invalid policy.
func (r *Redis) Allow(ctx context.Context, key string, p Policy) (Decision, error) {
	if err := p.Validate(); err != nil {
		return Decision{}, err
	}
	res, err := r.lim.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: p.Rate, Burst: p.Burst, Period: p.Period})
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	d := Decision{
		Allowed:    res.Allowed > 0,
		Limit:      p.Burst,
		Remaining:  max(res.Remaining, 0),
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !d.Allowed {
		d.Remaining = 0
		d.RetryAfter = max(res.RetryAfter, time.Microsecond)
	}
	return d, nil
}

// RedisOptions are the client settings NewClient applies on top of a
// redis:// or rediss:// URL. Zero fields take the serverless-friendly
// defaults below; a setting given explicitly as a URL query parameter
// (pool_size, dial_timeout, read_timeout, write_timeout, protocol,
// max_retries) wins over both.
type RedisOptions struct {
	// PoolSize is the number of connections per instance; default 2 (a
	// function instance serves one request at a time).
	PoolSize int
	// DialTimeout bounds connecting; default 500ms.
	DialTimeout time.Duration
	// ReadTimeout bounds one reply; default 300ms.
	ReadTimeout time.Duration
	// WriteTimeout bounds one write; default 300ms.
	WriteTimeout time.Duration
	// MaxRetries is how often a failed command is retried; default 1. A
	// negative value disables retries.
	MaxRetries int
}

// NewRedisClient returns a client for a redis:// or rediss:// URL with the
// default RedisOptions.
func NewRedisClient(rawURL string) (*redis.Client, error) {
	return RedisOptions{}.NewClient(rawURL)
}

// NewClient returns a go-redis client for a redis:// (plain) or rediss://
// (TLS) URL such as "rediss://:password@host:6379/0", set up for serverless
// use: a small pool, short timeouts, the caller's context deadline honoured
// (ContextTimeoutEnabled), RESP2, no CLIENT SETINFO and no maintenance
// notifications, so that the handshake works through managed Redis proxies
// (Tencent Cloud Redis, ElastiCache). Create it once at init and reuse it.
// Errors never quote the URL, which may carry a password.
func (o RedisOptions) NewClient(rawURL string) (*redis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("ratelimit: redis URL is not a valid URL (want redis://[user:password@]host:port[/db] or rediss://…)")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("ratelimit: redis URL scheme %q is not supported (want redis:// or rediss://)", truncate(u.Scheme, 16))
	}
	if u.Host == "" {
		return nil, errors.New("ratelimit: redis URL has no host (want redis://[user:password@]host:port[/db])")
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		// go-redis errors name the scheme, path or query parameter, never
		// the credentials.
		return nil, fmt.Errorf("ratelimit: redis URL: %w", err)
	}
	q := u.Query()
	set := func(name string) bool { return q.Has(name) }
	if !set("pool_size") {
		opt.PoolSize = orDefault(o.PoolSize, 2)
	}
	if !set("dial_timeout") {
		opt.DialTimeout = orDefault(o.DialTimeout, 500*time.Millisecond)
	}
	if !set("read_timeout") {
		opt.ReadTimeout = orDefault(o.ReadTimeout, 300*time.Millisecond)
	}
	if !set("write_timeout") {
		opt.WriteTimeout = orDefault(o.WriteTimeout, 300*time.Millisecond)
	}
	if !set("max_retries") {
		opt.MaxRetries = orDefault(o.MaxRetries, 1)
	}
	if !set("protocol") {
		opt.Protocol = 2
	}
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(opt), nil
}
