//go:build callsign.noredis

package app

import "github.com/callsign-dev/callsign/shared/config"

// newRedisStores refuses: this binary was built without Redis.
func newRedisStores(config.Config, Options) (stores, error) {
	return stores{}, notBuiltIn(config.Prefix+"_LIMITER=redis", "Redis support", "callsign.noredis")
}
