// Package emfcheck validates CloudWatch Embedded Metric Format lines in
// tests. It encodes the structural rules of the EMF specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
//
//   - the line is one JSON object with an "_aws" member object;
//   - _aws.Timestamp is a non-negative integer: milliseconds since the
//     Unix epoch;
//   - _aws.CloudWatchMetrics is an array of metric directives, each with
//     a Namespace (string, 1..255 characters), Dimensions (an array of
//     dimension sets; a set is an array of at most 30 member names) and
//     Metrics (an array of at most 100 definitions);
//   - a metric definition has a Name (string, 1..1024 characters), an
//     optional Unit from the CloudWatch unit list and an optional
//     StorageResolution of 1 or 60;
//   - every name a dimension set references is a top-level member holding
//     a string (1..1024 characters);
//   - every metric a definition names is a top-level member holding a
//     number or an array of at most 100 numbers;
//   - a name is defined at most once per directive, and no member is both
//     a dimension and a metric.
package emfcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Limits from the specification.
const (
	MaxDimensionsPerSet = 30
	MaxMetrics          = 100
	MaxValues           = 100
	MaxNamespaceLen     = 255
	MaxNameLen          = 1024
)

// units are the CloudWatch units the specification allows.
var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

// Metric is one metric a valid line defines.
type Metric struct {
	// Namespace, Name and Unit come from the directive.
	Namespace, Name, Unit string
	// Dimensions are the dimension sets of the directive with their values.
	Dimensions []map[string]string
	// Values are the metric's values.
	Values []float64
}

// Validate checks one line and returns the metrics it defines.
func Validate(line []byte) ([]Metric, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON object")
	}
	meta, ok := root["_aws"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("_aws missing or not an object")
	}
	ts, ok := meta["Timestamp"].(json.Number)
	if !ok {
		return nil, fmt.Errorf("_aws.Timestamp missing or not a number")
	}
	if n, err := ts.Int64(); err != nil || n < 0 {
		return nil, fmt.Errorf("_aws.Timestamp %s is not a non-negative integer of milliseconds", ts)
	}
	directives, ok := meta["CloudWatchMetrics"].([]any)
	if !ok {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics missing or not an array")
	}
	var out []Metric
	for i, d := range directives {
		ms, err := directive(root, d)
		if err != nil {
			return nil, fmt.Errorf("CloudWatchMetrics[%d]: %w", i, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// directive checks one metric directive against the root members.
func directive(root map[string]any, v any) ([]Metric, error) {
	d, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	ns, ok := d["Namespace"].(string)
	if !ok || ns == "" || utf8.RuneCountInString(ns) > MaxNamespaceLen {
		return nil, fmt.Errorf("member Namespace missing, empty or longer than %d", MaxNamespaceLen)
	}
	sets, ok := d["Dimensions"].([]any)
	if !ok {
		return nil, fmt.Errorf("member Dimensions missing or not an array")
	}
	dims := map[string]bool{}
	var valued []map[string]string
	for i, s := range sets {
		set, ok := s.([]any)
		if !ok {
			return nil, fmt.Errorf("member Dimensions[%d] is not an array of names", i)
		}
		if len(set) > MaxDimensionsPerSet {
			return nil, fmt.Errorf("member Dimensions[%d] has %d names; at most %d", i, len(set), MaxDimensionsPerSet)
		}
		vals := map[string]string{}
		for _, n := range set {
			name, ok := n.(string)
			if !ok {
				return nil, fmt.Errorf("member Dimensions[%d] holds a non-string", i)
			}
			val, ok := root[name].(string)
			if !ok || val == "" || utf8.RuneCountInString(val) > MaxNameLen {
				return nil, fmt.Errorf("dimension %q has no string member of 1..%d characters at the top level", name, MaxNameLen)
			}
			dims[name] = true
			vals[name] = val
		}
		valued = append(valued, vals)
	}
	defs, ok := d["Metrics"].([]any)
	if !ok {
		return nil, fmt.Errorf("member Metrics missing or not an array")
	}
	if len(defs) > MaxMetrics {
		return nil, fmt.Errorf("%d metric definitions; at most %d", len(defs), MaxMetrics)
	}
	seen := map[string]bool{}
	var out []Metric
	for i, m := range defs {
		def, ok := m.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("member Metrics[%d] is not an object", i)
		}
		name, ok := def["Name"].(string)
		if !ok || name == "" || utf8.RuneCountInString(name) > MaxNameLen {
			return nil, fmt.Errorf("member Metrics[%d].Name missing, empty or longer than %d", i, MaxNameLen)
		}
		if seen[name] {
			return nil, fmt.Errorf("metric %q defined twice", name)
		}
		seen[name] = true
		if dims[name] {
			return nil, fmt.Errorf("%q is both a dimension and a metric", name)
		}
		unit := ""
		if u, present := def["Unit"]; present {
			s, ok := u.(string)
			if !ok || !units[s] {
				return nil, fmt.Errorf("metric %q: Unit %v is not a CloudWatch unit", name, u)
			}
			unit = s
		}
		if r, present := def["StorageResolution"]; present {
			if n, ok := r.(json.Number); !ok || (n.String() != "1" && n.String() != "60") {
				return nil, fmt.Errorf("metric %q: StorageResolution %v is not 1 or 60", name, r)
			}
		}
		values, err := metricValues(root[name])
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", name, err)
		}
		out = append(out, Metric{Namespace: ns, Name: name, Unit: unit, Dimensions: valued, Values: values})
	}
	return out, nil
}

// metricValues reads a metric member: a number or an array of 1..100
// numbers.
func metricValues(v any) ([]float64, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("value %s is not a number", x)
		}
		return []float64{f}, nil
	case []any:
		if len(x) == 0 || len(x) > MaxValues {
			return nil, fmt.Errorf("%d values; want 1..%d", len(x), MaxValues)
		}
		out := make([]float64, 0, len(x))
		for _, e := range x {
			n, ok := e.(json.Number)
			if !ok {
				return nil, fmt.Errorf("array holds a non-number")
			}
			f, err := n.Float64()
			if err != nil {
				return nil, fmt.Errorf("value %s is not a number", n)
			}
			out = append(out, f)
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("no member at the top level")
	}
	return nil, fmt.Errorf("member is neither a number nor an array of numbers")
}

// Lines validates every non-empty line of out and returns all metrics.
func Lines(out []byte) ([]Metric, error) {
	var all []Metric
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ms, err := Validate(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w\n%s", i+1, err, line)
		}
		all = append(all, ms...)
	}
	return all, nil
}
