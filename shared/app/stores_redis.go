//go:build !callsign.noredis

package app

import (
	"fmt"

	"github.com/callsign-dev/callsign/shared/ban"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/ratelimit"
)

// newRedisStores builds the limiter, the call records and the bans on the
// Redis at CALLSIGN_REDIS_URL, sharing one client. The raw stores are
// returned; newStores wraps them.
func newRedisStores(cfg config.Config, opts Options) (stores, error) {
	client, err := ratelimit.NewRedisClient(cfg.RedisURL)
	if err != nil {
		return stores{}, fmt.Errorf("app: %s_REDIS_URL: %w", config.Prefix, err)
	}
	return stores{
		limiter: ratelimit.NewRedis(client, cfg.KeyPrefix()),
		calls:   callrecord.NewRedis(client, cfg.KeyPrefix(), opts.Now),
		bans:    ban.NewRedis(client, cfg.KeyPrefix(), opts.Now),
	}, nil
}
