package metrics

import (
	"expvar"
	"net/http"
	"time"
)

// Expvar keeps running totals in an expvar.Map that the local server
// serves as JSON. Keys are "<operation>/<outcome>/<name>"; a timing adds
// "<name>Count" and "<name>SumMs". The map is not published in expvar's
// process-wide registry, so several instances can live in one process.
type Expvar struct {
	m       expvar.Map
	collect func(Recorder)
}

// NewExpvar returns an empty Expvar; collect, if not nil, runs before every
// read (see LinesOptions.Collect).
func NewExpvar(collect func(Recorder)) *Expvar {
	return &Expvar{collect: collect}
}

// Count implements Recorder.
func (e *Expvar) Count(op, outcome, name string, n float64) {
	e.m.AddFloat(op+"/"+outcome+"/"+name, n)
}

// Time implements Recorder.
func (e *Expvar) Time(op, outcome, name string, d time.Duration) {
	k := op + "/" + outcome + "/" + name
	e.m.AddFloat(k+"Count", 1)
	e.m.AddFloat(k+"SumMs", ms(d))
}

// Get returns the total under key ("<operation>/<outcome>/<name>"), 0 when
// nothing was recorded.
func (e *Expvar) Get(key string) float64 {
	if e.collect != nil {
		e.collect(e)
	}
	if f, ok := e.m.Get(key).(*expvar.Float); ok {
		return f.Value()
	}
	return 0
}

// ServeHTTP writes every total as one JSON object.
func (e *Expvar) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if e.collect != nil {
		e.collect(e)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(e.m.String()))
}
