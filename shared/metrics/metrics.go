// Package metrics records callsign's figures without a metrics agent: per
// operation and outcome counters and timings, aggregated in the instance and
// written as log lines the cloud turns into metrics (CloudWatch Embedded
// Metric Format on Lambda, flat JSON lines for CLS on Tencent), or kept as
// counters readable from the local server (Expvar).
//
// Every figure has two dimensions besides the instance's stage and function:
// operation (an API operation such as "usersig", or a dependency such as
// "store.ratelimit" or "secret.fetch") and outcome ("ok", an error code, a
// verdict or a credential kind). Both are chosen by callsign's code from
// fixed sets, never from request data, so the number of series stays
// bounded. A Recorder never receives a credential or a user identifier.
package metrics

import "time"

// Metric names, as they appear in CloudWatch and in CLS lines.
const (
	// Requests counts requests and actions (Count).
	Requests = "Requests"
	// Latency is the handling time of a request (Milliseconds).
	Latency = "Latency"
	// Errors counts requests answered with a 5xx status (Count).
	Errors = "Errors"
	// RateLimitDenials counts requests refused with 429 (Count).
	RateLimitDenials = "RateLimitDenials"
	// StoreFallbacks counts rate-limit decisions made by the failure mode
	// because the shared store failed or was too slow (Count).
	StoreFallbacks = "StoreFallbacks"
	// StoreLatency is the time of one shared-store call (Milliseconds).
	StoreLatency = "StoreLatency"
	// StoreErrors counts failed shared-store calls (Count).
	StoreErrors = "StoreErrors"
	// SecretStoreLatency is the time of one secret fetch (Milliseconds).
	SecretStoreLatency = "SecretStoreLatency"
	// SecretStoreErrors counts failed secret fetches (Count).
	SecretStoreErrors = "SecretStoreErrors"
	// SecretRefreshes counts successful secret fetches, the first one
	// included (Count).
	SecretRefreshes = "SecretRefreshes"
	// CallbackVerdicts counts TRTC room-entry verdicts; the outcome is the
	// verdict (Count).
	CallbackVerdicts = "CallbackVerdicts"
	// Removals counts room removals and dismissals; the outcome is
	// "removed", "dismissed" or "failed" (Count).
	Removals = "Removals"
	// CredentialsIssued counts issued credentials; the operation is the one
	// that issued them and the outcome is the credential kind (Count).
	CredentialsIssued = "CredentialsIssued"
)

// Credential kinds, the outcome of CredentialsIssued.
const (
	KindUserSig       = "usersig"
	KindPrivateMapKey = "privatemapkey"
	KindCallToken     = "calltoken"
	KindSessionToken  = "sessiontoken"
)

// Outcomes of dependency calls.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// Operations of dependency calls.
const (
	// OpStoreRateLimit is one decision of the shared rate-limit store.
	OpStoreRateLimit = "store.ratelimit"
	// OpStoreCalls is one call-record operation on the shared store.
	OpStoreCalls = "store.calls"
	// OpSecretFetch is one fetch from the secret store.
	OpSecretFetch = "secret.fetch"
)

// Unit is a CloudWatch unit.
type Unit string

// Units used by callsign's metrics.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// UnitOf returns the unit of a metric name: Milliseconds for the timings,
// Count for everything else.
func UnitOf(name string) Unit {
	switch name {
	case Latency, StoreLatency, SecretStoreLatency:
		return Milliseconds
	}
	return Count
}

// Recorder receives figures. Implementations are safe for concurrent use
// and cheap: they aggregate in memory and write later, if at all.
type Recorder interface {
	// Count adds n to the counter name of (op, outcome).
	Count(op, outcome, name string, n float64)
	// Time records one duration of the timing name of (op, outcome).
	Time(op, outcome, name string, d time.Duration)
}

// Flusher is a Recorder that writes what it aggregated when asked; the API
// asks at the end of every request, which on Lambda and SCF is the end of
// the invocation (the instance may be frozen right after).
type Flusher interface {
	Flush()
}

// Discard is a Recorder that drops everything.
var Discard Recorder = discard{}

type discard struct{}

func (discard) Count(string, string, string, float64)      {}
func (discard) Time(string, string, string, time.Duration) {}

// ms converts d to milliseconds with microsecond resolution.
func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
