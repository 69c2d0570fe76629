package emfcheck_test

import (
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/metrics/emfcheck"
)

// TestValidate: each rule of the specification refuses a line that breaks
// it, and a valid line passes.
func TestValidate(t *testing.T) {
	const ok = `{"_aws":{"Timestamp":1764158400000,"CloudWatchMetrics":[{"Namespace":"callsign","Dimensions":[["stage","op"]],"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds","StorageResolution":60}]}]},"stage":"prod","op":"usersig","Requests":1,"Latency":[1.5,2]}`
	dims31 := make([]string, 31)
	for i := range dims31 {
		dims31[i] = `"stage"`
	}
	vals101 := strings.TrimSuffix(strings.Repeat("1,", 101), ",")
	for _, tc := range []struct {
		name, line, err string
	}{
		{"valid", ok, ""},
		{"not JSON", `{"_aws":`, "not a JSON object"},
		{"trailing", ok + `{}`, "trailing data"},
		{"no _aws", `{"stage":"prod"}`, "_aws missing"},
		{"no timestamp", strings.Replace(ok, `"Timestamp":1764158400000,`, ``, 1), "Timestamp missing"},
		{"timestamp string", strings.Replace(ok, `1764158400000`, `"1764158400000"`, 1), "Timestamp missing or not a number"},
		{"timestamp fraction", strings.Replace(ok, `1764158400000`, `1764158400.5`, 1), "not a non-negative integer"},
		{"timestamp negative", strings.Replace(ok, `1764158400000`, `-1`, 1), "not a non-negative integer"},
		{"no directives", strings.Replace(ok, `"CloudWatchMetrics"`, `"Metrics"`, 1), "CloudWatchMetrics missing"},
		{"empty namespace", strings.Replace(ok, `"Namespace":"callsign"`, `"Namespace":""`, 1), "Namespace missing"},
		{"long namespace", strings.Replace(ok, `"Namespace":"callsign"`, `"Namespace":"`+strings.Repeat("n", 256)+`"`, 1), "Namespace missing"},
		{"dimensions not nested", strings.Replace(ok, `[["stage","op"]]`, `["stage","op"]`, 1), "not an array of names"},
		{"too many dimensions", strings.Replace(ok, `[["stage","op"]]`, `[[`+strings.Join(dims31, ",")+`]]`, 1), "at most 30"},
		{"dimension missing", strings.Replace(ok, `"op":"usersig",`, ``, 1), `dimension "op"`},
		{"dimension not string", strings.Replace(ok, `"op":"usersig"`, `"op":7`, 1), `dimension "op"`},
		{"no metrics", strings.Replace(ok, `"Metrics":[`, `"Metricz":[`, 1), "Metrics missing"},
		{"metric without name", strings.Replace(ok, `"Name":"Requests",`, ``, 1), "Name missing"},
		{"bad unit", strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Requests"`, 1), "not a CloudWatch unit"},
		{"bad resolution", strings.Replace(ok, `"StorageResolution":60`, `"StorageResolution":5`, 1), "StorageResolution"},
		{"metric member missing", strings.Replace(ok, `"Requests":1,`, ``, 1), "no member"},
		{"metric string", strings.Replace(ok, `"Requests":1`, `"Requests":"1"`, 1), "neither a number"},
		{"too many values", strings.Replace(ok, `[1.5,2]`, `[`+vals101+`]`, 1), "101 values"},
		{"empty values", strings.Replace(ok, `[1.5,2]`, `[]`, 1), "0 values"},
		{"non-number value", strings.Replace(ok, `[1.5,2]`, `[1.5,"2"]`, 1), "non-number"},
		{"dimension is metric", strings.Replace(strings.Replace(ok, `{"Name":"Requests","Unit":"Count"}`, `{"Name":"op"}`, 1), `"op":"usersig"`, `"op":"usersig"`, 1), "both a dimension and a metric"},
		{"defined twice", strings.Replace(ok, `{"Name":"Latency","Unit":"Milliseconds","StorageResolution":60}`, `{"Name":"Requests"}`, 1), "defined twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := emfcheck.Validate([]byte(tc.line))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("valid line refused: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("invalid line accepted: %s", tc.line)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("error %q, want it to mention %q", err, tc.err)
			}
		})
	}
}
