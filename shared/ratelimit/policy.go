package ratelimit

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Operation names: the keys of a Policies map and the first part of a
// rate-limit key (see Key).
const (
	// OpUserSig limits POST /v1/usersig (callFunction action "usersig").
	OpUserSig = "usersig"
	// OpCallCreate limits POST /v1/calls (callFunction action "call.create").
	OpCallCreate = "call.create"
	// OpCallJoin limits POST /v1/calls/join (callFunction action "call.join").
	OpCallJoin = "call.join"
	// OpSession limits POST /v1/session (one WeChat code2Session call each).
	OpSession = "session"
	// OpAuthFail limits failed authentication attempts per client IP.
	OpAuthFail = "auth.fail"
)

// maxWindow bounds Burst × Interval (the time an empty bucket takes to fill)
// so that every backend's arithmetic stays far from overflow.
const maxWindow = 366 * 24 * time.Hour

// ErrInvalidPolicy is wrapped by every error about a malformed Policy or
// policy string.
var ErrInvalidPolicy = errors.New("ratelimit: invalid policy")

// Validate reports whether p can be enforced: Rate, Burst and Period must be
// positive, one token must take at least a microsecond to refill (the
// resolution of the DynamoDB backend) and an empty bucket must refill within
// 366 days.
func (p Policy) Validate() error {
	switch {
	case p.Rate <= 0:
		return fmt.Errorf("%w: rate %d must be positive", ErrInvalidPolicy, p.Rate)
	case p.Burst <= 0:
		return fmt.Errorf("%w: burst %d must be positive", ErrInvalidPolicy, p.Burst)
	case p.Period <= 0:
		return fmt.Errorf("%w: period %v must be positive", ErrInvalidPolicy, p.Period)
	case p.Interval() < time.Microsecond:
		return fmt.Errorf("%w: %d per %v is faster than one per microsecond", ErrInvalidPolicy, p.Rate, p.Period)
	case int64(p.Burst) > int64(maxWindow/p.Interval()):
		return fmt.Errorf("%w: burst %d at %d per %v takes longer than %v to refill", ErrInvalidPolicy, p.Burst, p.Rate, p.Period, maxWindow)
	}
	return nil
}

// String formats p in the CALLSIGN_RATE_LIMITS syntax, RATE/PERIOD:BURST.
func (p Policy) String() string {
	return strconv.Itoa(p.Rate) + "/" + p.Period.String() + ":" + strconv.Itoa(p.Burst)
}

// window is Burst × Interval: how long an empty bucket takes to become full.
func (p Policy) window() time.Duration {
	return time.Duration(p.Burst) * p.Interval()
}

// Policies maps operation names (OpUserSig, …) to their policy.
type Policies map[string]Policy

// Operations lists the operation names callsign limits, in a fixed order.
func Operations() []string {
	return []string{OpUserSig, OpCallCreate, OpCallJoin, OpSession, OpAuthFail}
}

// DefaultPolicies returns a new map with callsign's default limits:
//
//	usersig      10/1m burst 10  a UserSig lasts hours; 10 a minute covers retries and several devices
//	call.create  10/1m burst 5   five calls in quick succession, then one every 6 s
//	call.join    30/1m burst 10  joins come in bursts (group calls, reconnects)
//	session      10/1m burst 5   each one costs a WeChat code2Session call
//	auth.fail    20/1m burst 10  per client IP: slows credential guessing
func DefaultPolicies() Policies {
	return Policies{
		OpUserSig:    {Rate: 10, Period: time.Minute, Burst: 10},
		OpCallCreate: {Rate: 10, Period: time.Minute, Burst: 5},
		OpCallJoin:   {Rate: 30, Period: time.Minute, Burst: 10},
		OpSession:    {Rate: 10, Period: time.Minute, Burst: 5},
		OpAuthFail:   {Rate: 20, Period: time.Minute, Burst: 10},
	}
}

// Key builds the rate-limit key of one subject (a verified userID, or a
// client IP for OpAuthFail) for one operation: "<op>:<subject>". Backends
// add their own stage prefix.
func Key(op, subject string) string {
	return op + ":" + subject
}

// Validate checks every policy in ps and that every name is a known
// operation.
func (ps Policies) Validate() error {
	for _, op := range slices.Sorted(maps.Keys(ps)) {
		if !slices.Contains(Operations(), op) {
			return fmt.Errorf("%w: unknown operation %q", ErrInvalidPolicy, op)
		}
		if err := ps[op].Validate(); err != nil {
			return fmt.Errorf("operation %s: %w", op, err)
		}
	}
	return nil
}

// maxItemInError bounds how much of an offending item an error quotes.
const maxItemInError = 64

// ParsePolicies parses the CALLSIGN_RATE_LIMITS syntax and returns a new map:
// a copy of base with the parsed entries replacing base's entries for the
// same operations (base itself is not modified; nil base means no entries).
//
// Syntax: comma-separated items op=RATE/PERIOD[:BURST], for example
// "usersig=10/1m:20,call.create=5/1m". op is one of Operations(); RATE and
// BURST are positive integers; PERIOD is a Go duration ("1s", "1m", "1h",
// "90s"); BURST defaults to RATE. Spaces around items and around their parts
// are ignored. An empty or all-space s returns a copy of base. An empty item
// (",,"), an unknown operation, an operation given twice or a policy that
// fails Policy.Validate is an error naming the offending item.
func ParsePolicies(s string, base Policies) (Policies, error) {
	out := make(Policies, len(base)+len(Operations()))
	maps.Copy(out, base)
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	seen := make(map[string]bool)
	for i, item := range strings.Split(s, ",") {
		op, p, err := parsePolicyItem(strings.TrimSpace(item))
		if err != nil {
			return nil, fmt.Errorf("rate limit item %d %q: %w", i+1, truncate(item, maxItemInError), err)
		}
		if seen[op] {
			return nil, fmt.Errorf("rate limit item %d %q: %w: operation %s given twice", i+1, truncate(item, maxItemInError), ErrInvalidPolicy, op)
		}
		seen[op] = true
		out[op] = p
	}
	return out, nil
}

// parsePolicyItem parses one trimmed op=RATE/PERIOD[:BURST] item.
func parsePolicyItem(item string) (string, Policy, error) {
	if item == "" {
		return "", Policy{}, fmt.Errorf("%w: empty item (want op=RATE/PERIOD[:BURST])", ErrInvalidPolicy)
	}
	op, spec, ok := strings.Cut(item, "=")
	if !ok {
		return "", Policy{}, fmt.Errorf("%w: missing '=' (want op=RATE/PERIOD[:BURST])", ErrInvalidPolicy)
	}
	op = strings.TrimSpace(op)
	if !slices.Contains(Operations(), op) {
		return "", Policy{}, fmt.Errorf("%w: unknown operation %q (known: %s)", ErrInvalidPolicy, truncate(op, maxItemInError), strings.Join(Operations(), ", "))
	}
	rateStr, rest, ok := strings.Cut(spec, "/")
	if !ok {
		return "", Policy{}, fmt.Errorf("%w: missing '/' (want op=RATE/PERIOD[:BURST])", ErrInvalidPolicy)
	}
	periodStr, burstStr, hasBurst := strings.Cut(rest, ":")
	rate, err := parseCount(rateStr)
	if err != nil {
		return "", Policy{}, fmt.Errorf("rate: %w", err)
	}
	period, err := time.ParseDuration(strings.TrimSpace(periodStr))
	if err != nil {
		return "", Policy{}, fmt.Errorf("%w: period %q is not a Go duration such as 1s, 1m or 1h", ErrInvalidPolicy, truncate(strings.TrimSpace(periodStr), maxItemInError))
	}
	burst := rate
	if hasBurst {
		if burst, err = parseCount(burstStr); err != nil {
			return "", Policy{}, fmt.Errorf("burst: %w", err)
		}
	}
	p := Policy{Rate: rate, Period: period, Burst: burst}
	if err := p.Validate(); err != nil {
		return "", Policy{}, err
	}
	return op, p, nil
}

// parseCount parses a positive decimal integer of at most 9 digits.
func parseCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %q is not a positive integer below 10^9", ErrInvalidPolicy, truncate(s, maxItemInError))
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: %q is not a positive integer below 10^9", ErrInvalidPolicy, s)
	}
	return n, nil
}

// truncate shortens s to at most n bytes for quoting in an error, marking the
// cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
