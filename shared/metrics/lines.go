package metrics

import (
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"time"
)

// Format is how Lines writes a group of figures.
type Format int

// Formats.
const (
	// EMF is CloudWatch Embedded Metric Format: CloudWatch Logs extracts
	// the metrics from the function's log group, no agent or API call.
	EMF Format = iota + 1
	// CLS is one flat JSON object per line: CLS indexes its fields as
	// key-value pairs and charts them with SQL. A timing is written as
	// <name>Count, <name>Sum and <name>Max.
	CLS
)

// Namespace is the CloudWatch namespace of callsign's metrics.
const Namespace = "callsign"

// MaxValues is the most values one EMF member may hold; a timing that
// reaches it is written at once.
const MaxValues = 100

// DimensionSets are the EMF dimension sets of every line: the full set,
// the set without function (a figure across the stage's functions) and
// the stage alone (stage totals, which the alarms use).
var DimensionSets = [][]string{
	{"stage", "function", "operation", "outcome"},
	{"stage", "operation", "outcome"},
	{"stage"},
}

// LinesOptions configures NewLines.
type LinesOptions struct {
	// Format is EMF or CLS; required.
	Format Format
	// Out receives whole lines, one Write per Flush; required.
	Out io.Writer
	// Stage and Function are the instance's dimension values.
	Stage, Function string
	// Now stamps the lines; nil means time.Now.
	Now func() time.Time
	// Collect, if set, runs at the start of every Flush to add figures
	// that are read rather than pushed (such as counters kept by another
	// component).
	Collect func(Recorder)
}

// Lines aggregates figures per (operation, outcome) and writes one line
// per group on Flush. It is safe for concurrent use.
type Lines struct {
	opts   LinesOptions
	mu     sync.Mutex
	groups map[groupKey]*group
	order  []*group
	buf    []byte
}

type groupKey struct{ op, outcome string }

// group is the figures of one (operation, outcome) since the last Flush.
type group struct {
	key     groupKey
	entries []entry
}

// entry is one metric of a group: a sum for a counter, values for a timing.
type entry struct {
	name   string
	sum    float64
	values []float64
}

// NewLines returns a Lines writer.
func NewLines(opts LinesOptions) *Lines {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Lines{opts: opts, groups: map[groupKey]*group{}}
}

// Count implements Recorder.
func (l *Lines) Count(op, outcome, name string, n float64) {
	l.mu.Lock()
	l.entry(op, outcome, name).sum += n
	l.mu.Unlock()
}

// Time implements Recorder.
func (l *Lines) Time(op, outcome, name string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(op, outcome, name)
	e.values = append(e.values, ms(d))
	if len(e.values) >= MaxValues {
		g := l.groups[groupKey{op, outcome}]
		l.buf = l.appendGroup(l.buf[:0], g, l.opts.Now())
		l.reset(g)
		l.write()
	}
}

// entry returns the entry of name in (op, outcome), creating it; l.mu is
// held.
func (l *Lines) entry(op, outcome, name string) *entry {
	k := groupKey{op, outcome}
	g := l.groups[k]
	if g == nil {
		g = &group{key: k}
		l.groups[k] = g
		l.order = append(l.order, g)
	}
	for i := range g.entries {
		if g.entries[i].name == name {
			return &g.entries[i]
		}
	}
	g.entries = append(g.entries, entry{name: name})
	return &g.entries[len(g.entries)-1]
}

// reset empties g's figures, keeping its storage; l.mu is held.
func (l *Lines) reset(g *group) {
	for i := range g.entries {
		g.entries[i].sum = 0
		g.entries[i].values = g.entries[i].values[:0]
	}
}

// Flush writes one line per group that has figures and resets them.
func (l *Lines) Flush() {
	if l.opts.Collect != nil {
		l.opts.Collect(l)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	l.buf = l.buf[:0]
	for _, g := range l.order {
		if !g.active() {
			continue
		}
		l.buf = l.appendGroup(l.buf, g, now)
		l.reset(g)
	}
	l.write()
}

// write hands the buffered lines to Out; l.mu is held. A failed write is
// dropped: figures are never worth failing a request for.
func (l *Lines) write() {
	if len(l.buf) > 0 {
		_, _ = l.opts.Out.Write(l.buf)
	}
}

// active reports whether g has any figure since the last reset.
func (g *group) active() bool {
	for i := range g.entries {
		if g.entries[i].sum != 0 || len(g.entries[i].values) > 0 {
			return true
		}
	}
	return false
}

// appendGroup appends g's line in the configured format.
func (l *Lines) appendGroup(b []byte, g *group, now time.Time) []byte {
	if l.opts.Format == EMF {
		return l.appendEMF(b, g, now)
	}
	return l.appendCLS(b, g, now)
}

// appendEMF appends one Embedded Metric Format line: the _aws metadata
// with one directive naming every metric of the group, the dimension
// values and the metric values at the top level.
func (l *Lines) appendEMF(b []byte, g *group, now time.Time) []byte {
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = append(b, `,"CloudWatchMetrics":[{"Namespace":"`+Namespace+`","Dimensions":[`...)
	for i, set := range DimensionSets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, d := range set {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, d)
		}
		b = append(b, ']')
	}
	b = append(b, `],"Metrics":[`...)
	first := true
	for i := range g.entries {
		e := &g.entries[i]
		if e.sum == 0 && len(e.values) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"Name":`...)
		b = appendString(b, e.name)
		b = append(b, `,"Unit":"`...)
		b = append(b, UnitOf(e.name)...)
		b = append(b, `"}`...)
	}
	b = append(b, `]}]}`...)
	b = l.appendDimensions(b, g)
	for i := range g.entries {
		e := &g.entries[i]
		switch {
		case len(e.values) == 1:
			b = appendMember(b, e.name)
			b = appendFloat(b, e.values[0])
		case len(e.values) > 1:
			b = appendMember(b, e.name)
			b = append(b, '[')
			for j, v := range e.values {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendFloat(b, v)
			}
			b = append(b, ']')
		case e.sum != 0:
			b = appendMember(b, e.name)
			b = appendFloat(b, e.sum)
		}
	}
	return append(b, "}\n"...)
}

// appendCLS appends one flat JSON line for CLS.
func (l *Lines) appendCLS(b []byte, g *group, now time.Time) []byte {
	b = append(b, `{"metrics":"`+Namespace+`","timestamp":`...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = l.appendDimensions(b, g)
	for i := range g.entries {
		e := &g.entries[i]
		if len(e.values) == 0 {
			if e.sum != 0 {
				b = appendMember(b, e.name)
				b = appendFloat(b, e.sum)
			}
			continue
		}
		var sum, hi float64
		for _, v := range e.values {
			sum += v
			hi = max(hi, v)
		}
		b = appendMember(b, e.name+"Count")
		b = strconv.AppendInt(b, int64(len(e.values)), 10)
		b = appendMember(b, e.name+"Sum")
		b = appendFloat(b, sum)
		b = appendMember(b, e.name+"Max")
		b = appendFloat(b, hi)
	}
	return append(b, "}\n"...)
}

// appendDimensions appends the four dimension members.
func (l *Lines) appendDimensions(b []byte, g *group) []byte {
	b = appendMember(b, "stage")
	b = appendString(b, l.opts.Stage)
	b = appendMember(b, "function")
	b = appendString(b, l.opts.Function)
	b = appendMember(b, "operation")
	b = appendString(b, g.key.op)
	b = appendMember(b, "outcome")
	return appendString(b, g.key.outcome)
}

// appendMember appends `,"name":`.
func appendMember(b []byte, name string) []byte {
	b = append(b, ',')
	b = appendString(b, name)
	return append(b, ':')
}

// appendFloat appends v in the shortest exact form.
func appendFloat(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// appendString appends s as a JSON string. Names and dimension values are
// callsign's own plain ASCII; anything else takes the slow, exact path.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
