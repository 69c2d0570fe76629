//go:build unix

package infra

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/callsign-dev/callsign/shared/metrics"
)

// stageCaps are the cost and abuse caps of each stage (docs/operations.md).
type stageCaps struct {
	// Concurrency is the reserved concurrency per Lambda function.
	Concurrency map[string]int
	// API, Session and Callback are the HTTP API throttles (rate per
	// second, burst) of the stage and of the two unauthenticated routes.
	API, Session, Callback [2]float64
}

var caps = map[string]stageCaps{
	"dev": {
		Concurrency: map[string]int{"usersig": 5, "calls": 2, "session": 2, "callbacks": 2},
		API:         [2]float64{20, 40}, Session: [2]float64{5, 10}, Callback: [2]float64{10, 20},
	},
	"staging": {
		Concurrency: map[string]int{"usersig": 10, "calls": 5, "session": 5, "callbacks": 5},
		API:         [2]float64{50, 100}, Session: [2]float64{10, 20}, Callback: [2]float64{20, 40},
	},
	"prod": {
		Concurrency: map[string]int{"usersig": 50, "calls": 20, "session": 20, "callbacks": 20},
		API:         [2]float64{200, 400}, Session: [2]float64{20, 40}, Callback: [2]float64{100, 200},
	},
}

// checkObservability checks the alarms, their topic, the dashboard, the
// access logs and the caps of one stage's template.
func checkObservability(t *testing.T, stage string, tpl template, fnByID map[string]string) {
	t.Helper()
	c := caps[stage]
	for id, fn := range tpl.ofType("AWS::Lambda::Function") {
		short := fnByID[id]
		if got := fn.Properties["ReservedConcurrentExecutions"]; got != float64(c.Concurrency[short]) {
			t.Errorf("%s: ReservedConcurrentExecutions = %v, want %d", short, got, c.Concurrency[short])
		}
	}

	topics := tpl.ofType("AWS::SNS::Topic")
	if len(topics) != 1 || topics["AlarmTopic"].Properties["TopicName"] != "callsign-"+stage+"-alarms" {
		t.Errorf("SNS topics = %v, want AlarmTopic named callsign-%s-alarms", topics, stage)
	}
	if _, ok := tpl.Outputs["AlarmTopicArn"]; !ok {
		t.Errorf("no AlarmTopicArn output")
	}
	stageDim := map[string]any{"Name": "stage", "Value": stage}
	want := map[string]string{
		"ErrorRateAlarm":                 "math:Errors/Requests",
		"ThrottlesAlarm":                 "math:AWS/Lambda Throttles",
		"StoreFallbacksAlarm":            metrics.StoreFallbacks,
		"SecretStoreFailuresAlarm":       metrics.SecretStoreErrors,
		"CallbackSignatureFailuresAlarm": metrics.Requests,
	}
	alarms := tpl.ofType("AWS::CloudWatch::Alarm")
	if got := slices.Sorted(maps.Keys(alarms)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Errorf("alarms %v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
	for id, a := range alarms {
		p := a.Properties
		ref := []any{map[string]any{"Ref": "AlarmTopic"}}
		if !jsonEqual(p["AlarmActions"], ref) || !jsonEqual(p["OKActions"], ref) {
			t.Errorf("%s: actions %v / %v, want the AlarmTopic", id, p["AlarmActions"], p["OKActions"])
		}
		if p["ComparisonOperator"] != "GreaterThanThreshold" || p["TreatMissingData"] != "notBreaching" {
			t.Errorf("%s: %v with missing data %v", id, p["ComparisonOperator"], p["TreatMissingData"])
		}
		if name, _ := p["AlarmName"].(string); !strings.HasPrefix(name, "callsign-"+stage+"-") {
			t.Errorf("%s: AlarmName %q", id, name)
		}
		switch want[id] {
		case "math:Errors/Requests":
			if p["Threshold"] != float64(5) || !strings.Contains(mustJSON(p["Metrics"]), `"MetricName":"Errors"`) ||
				!strings.Contains(mustJSON(p["Metrics"]), `"MetricName":"Requests"`) || !strings.Contains(mustJSON(p["Metrics"]), mustJSON(stageDim)) {
				t.Errorf("%s: %v", id, mustJSON(p))
			}
		case "math:AWS/Lambda Throttles":
			m := mustJSON(p["Metrics"])
			for _, fn := range []string{"usersig", "calls", "session", "callbacks"} {
				if !strings.Contains(m, `{"Name":"FunctionName","Value":"callsign-`+stage+`-`+fn+`"}`) {
					t.Errorf("%s: no Throttles of %s: %s", id, fn, m)
				}
			}
			if p["Threshold"] != float64(0) || strings.Count(m, `"MetricName":"Throttles"`) != 4 {
				t.Errorf("%s: %v", id, m)
			}
		default:
			if p["Namespace"] != metrics.Namespace || p["MetricName"] != want[id] || p["Statistic"] != "Sum" || p["Threshold"] != float64(0) {
				t.Errorf("%s: %v", id, mustJSON(p))
			}
			dims := []any{stageDim}
			if id == "CallbackSignatureFailuresAlarm" {
				dims = append(dims, map[string]any{"Name": "operation", "Value": "callback.trtc"}, map[string]any{"Name": "outcome", "Value": "unauthenticated"})
			}
			if !jsonEqual(p["Dimensions"], dims) {
				t.Errorf("%s: Dimensions %v, want %v", id, p["Dimensions"], dims)
			}
			// An alarm's dimensions must be one of the sets the functions
			// emit, or it watches a metric that never exists.
			var names []string
			for _, d := range dims {
				names = append(names, d.(map[string]any)["Name"].(string))
			}
			if !slices.ContainsFunc(metrics.DimensionSets, func(set []string) bool { return slices.Equal(set, names) }) {
				t.Errorf("%s: dimensions %v are not an emitted dimension set %v", id, names, metrics.DimensionSets)
			}
		}
	}

	checkDashboard(t, stage, tpl)

	st, ok := tpl.Resources["HttpApiStage"]
	if !ok {
		t.Fatalf("no HttpApiStage")
	}
	p := st.Properties
	throttle := func(r [2]float64) map[string]any {
		return map[string]any{"ThrottlingRateLimit": r[0], "ThrottlingBurstLimit": r[1]}
	}
	if !jsonEqual(p["DefaultRouteSettings"], throttle(c.API)) {
		t.Errorf("DefaultRouteSettings = %v, want %v", p["DefaultRouteSettings"], throttle(c.API))
	}
	wantRoutes := map[string]any{"POST /v1/session": throttle(c.Session), "POST /v1/callbacks/trtc": throttle(c.Callback), "POST /v1/callbacks/call": throttle(c.Callback)}
	if !jsonEqual(p["RouteSettings"], wantRoutes) {
		t.Errorf("RouteSettings = %v, want %v", p["RouteSettings"], wantRoutes)
	}
	logs, _ := p["AccessLogSettings"].(map[string]any)
	format, _ := logs["Format"].(string)
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("access log format is not JSON: %v: %s", err, format)
	}
	for _, k := range []string{"requestId", "ip", "routeKey", "status", "integrationError"} {
		if fields[k] == "" {
			t.Errorf("access log format lacks %s: %s", k, format)
		}
	}
	if strings.Contains(format, "header") || strings.Contains(format, "authorizer") || strings.Contains(format, "querystring") {
		t.Errorf("access log format logs client-controlled credentials: %s", format)
	}
	if !jsonEqual(logs["DestinationArn"], map[string]any{"Fn::GetAtt": []any{"HttpApiLogGroup", "Arn"}}) {
		t.Errorf("access logs go to %v, want HttpApiLogGroup", logs["DestinationArn"])
	}
	if _, ok := tpl.Resources["HttpApiLogGroup"]; !ok {
		t.Errorf("no HttpApiLogGroup")
	}
}

// checkDashboard checks the dashboard body: valid JSON once substituted,
// the stage's alarms, and a widget for each figure of shared/metrics.
func checkDashboard(t *testing.T, stage string, tpl template) {
	t.Helper()
	d, ok := tpl.Resources["Dashboard"]
	if !ok || d.Type != "AWS::CloudWatch::Dashboard" || d.Properties["DashboardName"] != "callsign-"+stage {
		t.Fatalf("no dashboard callsign-%s", stage)
	}
	sub, _ := d.Properties["DashboardBody"].(map[string]any)
	body, _ := sub["Fn::Sub"].(string)
	refs := regexp.MustCompile(`\$\{([^}]+)\}`).FindAllStringSubmatch(body, -1)
	for _, r := range refs {
		name, _, _ := strings.Cut(r[1], ".")
		if _, ok := tpl.Resources[name]; !ok && r[1] != "AWS::Region" {
			t.Errorf("dashboard references %s, which is neither a resource nor AWS::Region", r[1])
		}
	}
	var doc struct {
		Widgets []map[string]any `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(regexp.MustCompile(`\$\{[^}]+\}`).ReplaceAllString(body, "x")), &doc); err != nil {
		t.Fatalf("dashboard body is not JSON: %v", err)
	}
	if len(doc.Widgets) != 9 {
		t.Errorf("%d widgets, want 9", len(doc.Widgets))
	}
	for _, name := range []string{
		metrics.Requests, metrics.Latency, metrics.Errors, metrics.RateLimitDenials, metrics.StoreFallbacks,
		metrics.StoreLatency, metrics.StoreErrors, metrics.SecretStoreLatency, metrics.SecretStoreErrors,
		metrics.SecretRefreshes, metrics.CallbackVerdicts, metrics.Removals, metrics.CredentialsIssued,
		"Throttles", "ConcurrentExecutions",
		"${ErrorRateAlarm.Arn}", "${ThrottlesAlarm.Arn}", "${StoreFallbacksAlarm.Arn}", "${SecretStoreFailuresAlarm.Arn}", "${CallbackSignatureFailuresAlarm.Arn}",
	} {
		if !strings.Contains(body, name) {
			t.Errorf("dashboard does not show %s", name)
		}
	}
	if strings.Count(body, `stage=\"`+stage+`\"`) != 6 {
		t.Errorf("dashboard searches are not all scoped to stage %s", stage)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonEqual(a, b any) bool { return mustJSON(a) == mustJSON(b) }

// tencentConcurrency is the reserved concurrency of both Tencent functions
// per stage (infra/tencent/<stage>/concurrency.json).
var tencentConcurrency = map[string]int{"dev": 5, "staging": 10, "prod": 50}

// TestTencentConcurrency checks each stage's concurrency.json against the
// expected caps and against the functions it caps: same names and memory
// as the Web function yml and cloudbaserc.json.
func TestTencentConcurrency(t *testing.T) {
	root := repoRoot(t)
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			dir := filepath.Join(root, "infra", "tencent", stage)
			var c struct {
				MemoryMB int `json:"memoryMB"`
				Web      struct {
					Name                string `json:"name"`
					Namespace           string `json:"namespace"`
					ReservedConcurrency int    `json:"reservedConcurrency"`
				} `json:"web"`
				Event struct {
					Name                string `json:"name"`
					ReservedConcurrency int    `json:"reservedConcurrency"`
				} `json:"event"`
			}
			readJSON(t, filepath.Join(dir, "concurrency.json"), &c, true)
			var web scfComponent
			raw, err := os.ReadFile(filepath.Join(dir, "serverless.yml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(raw, &web); err != nil {
				t.Fatal(err)
			}
			var rc struct {
				Functions []struct {
					Name       string `json:"name"`
					MemorySize int    `json:"memorySize"`
				} `json:"functions"`
			}
			readJSON(t, filepath.Join(dir, "cloudbaserc.json"), &rc, false)
			want := tencentConcurrency[stage]
			if c.Web.ReservedConcurrency != want || c.Event.ReservedConcurrency != want {
				t.Errorf("reserved concurrency web %d event %d, want %d", c.Web.ReservedConcurrency, c.Event.ReservedConcurrency, want)
			}
			if c.Web.Name != web.Inputs.Name || c.Web.Namespace != "default" || c.MemoryMB != web.Inputs.MemorySize {
				t.Errorf("web cap %+v (memory %d) does not match the Web function %s (memory %d)", c.Web, c.MemoryMB, web.Inputs.Name, web.Inputs.MemorySize)
			}
			if len(rc.Functions) != 1 || c.Event.Name != rc.Functions[0].Name || c.MemoryMB != rc.Functions[0].MemorySize {
				t.Errorf("event cap %+v (memory %d) does not match cloudbaserc.json %+v", c.Event, c.MemoryMB, rc.Functions)
			}
		})
	}
}

// readJSON decodes path into v; strict refuses unknown fields.
func readJSON(t *testing.T, path string, v any, strict bool) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
