package metrics

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Expvar keeps running totals that the local server serves as one JSON
// object, in the format of an expvar.Map: keys sorted, numbers as Go
// formats a float64. Keys are "<operation>/<outcome>/<name>"; a timing
// adds "<name>Count" and "<name>SumMs". Nothing is published in a
// process-wide registry, so several instances can live in one process.
//
// It does not use package expvar itself: importing that package registers
// a handler on http.DefaultServeMux and publishes the command line and
// memory statistics at initialisation, in every binary, which is start-up
// time the functions would pay for a page only the local server serves.
type Expvar struct {
	mu      sync.Mutex
	totals  map[string]float64
	collect func(Recorder)
}

// NewExpvar returns an empty Expvar; collect, if not nil, runs before every
// read (see LinesOptions.Collect).
func NewExpvar(collect func(Recorder)) *Expvar {
	return &Expvar{totals: map[string]float64{}, collect: collect}
}

func (e *Expvar) add(key string, n float64) {
	e.mu.Lock()
	e.totals[key] += n
	e.mu.Unlock()
}

// Count implements Recorder.
func (e *Expvar) Count(op, outcome, name string, n float64) {
	e.add(op+"/"+outcome+"/"+name, n)
}

// Time implements Recorder.
func (e *Expvar) Time(op, outcome, name string, d time.Duration) {
	k := op + "/" + outcome + "/" + name
	e.mu.Lock()
	e.totals[k+"Count"]++
	e.totals[k+"SumMs"] += ms(d)
	e.mu.Unlock()
}

// Get returns the total under key ("<operation>/<outcome>/<name>"), 0 when
// nothing was recorded.
func (e *Expvar) Get(key string) float64 {
	if e.collect != nil {
		e.collect(e)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.totals[key]
}

// ServeHTTP writes every total as one JSON object.
func (e *Expvar) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if e.collect != nil {
		e.collect(e)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(e.appendJSON(nil))
}

// appendJSON appends the totals as a JSON object: {"key": 1.5, ...}.
func (e *Expvar) appendJSON(b []byte) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(e.totals)) {
		if i > 0 {
			b = append(b, ',', ' ')
		}
		// Marshalling a string cannot fail.
		q, _ := json.Marshal(k)
		b = append(b, q...)
		b = append(b, ':', ' ')
		b = strconv.AppendFloat(b, e.totals[k], 'g', -1, 64)
	}
	return append(b, '}')
}
