package service

import (
	"sync"
	"time"
)

// maxBlockedIPs bounds the in-instance list of client IPs whose
// failed-authentication budget is exhausted.
const maxBlockedIPs = 10000

// blocklist remembers, per instance, which client IPs the shared
// "auth.fail" limiter has refused and until when. While an IP is listed,
// its session requests are refused before code2Session is called, so a
// flood of junk wx.login codes from one address does not spend the
// mini-program's WeChat quota or function time. The limiter denies the same
// IP until the same moment. It is safe for concurrent use.
type blocklist struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// blocked reports whether ip is listed at now, and for how much longer.
func (b *blocklist) blocked(ip string, now time.Time) (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.until[ip]
	if !ok {
		return 0, false
	}
	if !now.Before(t) {
		delete(b.until, ip)
		return 0, false
	}
	return t.Sub(now), true
}

// block lists ip until now+d. When the list is full it first drops expired
// entries; if it is still full the IP is not listed (the shared limiter
// keeps refusing it anyway).
func (b *blocklist) block(ip string, now time.Time, d time.Duration) {
	if d <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.until == nil {
		b.until = make(map[string]time.Time)
	}
	if _, listed := b.until[ip]; !listed && len(b.until) >= maxBlockedIPs {
		for k, t := range b.until {
			if !now.Before(t) {
				delete(b.until, k)
			}
		}
		if len(b.until) >= maxBlockedIPs {
			return
		}
	}
	b.until[ip] = now.Add(d)
}
