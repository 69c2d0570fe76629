package ratelimit

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"
)

// benchPolicy never denies within a benchmark (a burst of 100 million), so
// every iteration is an allow with its store write. With one token per 10ms
// a single key stays an active bucket (DynamoDB: phase B), while each of 10k
// keys revisited every 10k decisions is usually idle again on the slower
// stores (DynamoDB: phase A).
var benchPolicy = Policy{Rate: 100, Period: time.Second, Burst: 100_000_000}

// benchKeys are the key sets each backend is measured on.
var benchKeys = []struct {
	name string
	n    int
}{{"one-key", 1}, {"10k-keys", 10_000}}

// runBench measures sequential decisions per second on lim.
func runBench(b *testing.B, lim Limiter) {
	for _, ks := range benchKeys {
		keys := make([]string, ks.n)
		for i := range keys {
			keys[i] = "usersig:u" + strconv.Itoa(i)
		}
		b.Run(ks.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := lim.Allow(ctx, keys[i%len(keys)], benchPolicy); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}

func BenchmarkMemory(b *testing.B) {
	runBench(b, NewMemory(MemoryOptions{}))
}

func BenchmarkRedis(b *testing.B) {
	runBench(b, redisLimiter(b, "", uniquePrefix(b)))
}

func BenchmarkDynamoDB(b *testing.B) {
	runBench(b, NewDynamoDB(sharedDynamoDB(b), limitsTable, uniquePrefix(b)))
}

// BenchmarkResilientRedis is the production path: deny cache, timeout and
// the store goroutine on top of Redis.
func BenchmarkResilientRedis(b *testing.B) {
	runBench(b, NewResilient(redisLimiter(b, "", uniquePrefix(b)), ResilientOptions{}))
}

// BenchmarkDecisionLatency reports the latency distribution of one shared
// store decision (p50, p99, p99.9 and max, in milliseconds), which is what
// a per-backend deadline (DefaultTimeout) has to cover. Run it with
// -benchtime=2000x or more so that the tail percentiles mean something.
func BenchmarkDecisionLatency(b *testing.B) {
	stores := []struct {
		name string
		lim  func(b *testing.B) Limiter
	}{
		{"redis", func(b *testing.B) Limiter { return redisLimiter(b, "", uniquePrefix(b)) }},
		{"dynamodb", func(b *testing.B) Limiter { return NewDynamoDB(sharedDynamoDB(b), limitsTable, uniquePrefix(b)) }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			lim := st.lim(b)
			keys := make([]string, 1000)
			for i := range keys {
				keys[i] = "usersig:u" + strconv.Itoa(i)
			}
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				start := time.Now()
				if _, err := lim.Allow(ctx, keys[i%len(keys)], benchPolicy); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				i++
			}
			slices.Sort(lat)
			at := func(q float64) float64 {
				return float64(lat[min(int(q*float64(len(lat))), len(lat)-1)]) / float64(time.Millisecond)
			}
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
			b.ReportMetric(at(0.999), "p99.9-ms")
			b.ReportMetric(at(1), "max-ms")
		})
	}
}
