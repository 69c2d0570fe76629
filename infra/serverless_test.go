//go:build unix

package infra

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/callsign-dev/callsign/shared/ratelimit"
)

// testWechatAppID is injected through the deployer's environment the way
// `make deploy` does, to check it reaches every function.
const testWechatAppID = "wx0123456789abcdef"

// slsEnv keeps serverless offline and quiet and makes sure no AWS
// credentials are available, so any attempt to resolve from AWS fails.
var slsEnv = []string{
	"SLS_TELEMETRY_DISABLED=1",
	"SLS_NOTIFICATIONS_MODE=off",
	"AWS_ACCESS_KEY_ID=",
	"AWS_SECRET_ACCESS_KEY=",
	"AWS_SESSION_TOKEN=",
	"CALLSIGN_WECHAT_APP_ID=" + testWechatAppID,
}

// slsService prepares a service directory holding serverless.yml and the
// fixture zips at bin/aws/<fn>.zip, as serverless.yml names them, without
// touching the repository's bin/.
func slsService(t *testing.T) (serverless, dir string) {
	t.Helper()
	root := repoRoot(t)
	serverless = requireTool(t, filepath.Join(root, "node_modules", ".bin", "serverless"), "run npm ci at the repository root")
	b := fixturePackages(t)
	dir = t.TempDir()
	yml, err := os.ReadFile(filepath.Join(root, "serverless.yml"))
	if err != nil {
		t.Fatalf("reading serverless.yml: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "serverless.yml"), yml, 0o644); err != nil {
		t.Fatalf("copying serverless.yml: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin", "aws"), 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	for _, z := range awsZips {
		body, err := os.ReadFile(filepath.Join(b.a, z))
		if err != nil {
			t.Fatalf("reading %s: %v", z, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bin", z), body, 0o644); err != nil {
			t.Fatalf("writing %s: %v", z, err)
		}
	}
	return serverless, dir
}

// TestServerlessPackage packages every stage offline and checks the
// generated CloudFormation template.
func TestServerlessPackage(t *testing.T) {
	serverless, dir := slsService(t)
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			out := filepath.Join(dir, "out", stage)
			o, err := run(t, 3*time.Minute, dir, slsEnv, serverless, "package", "--stage", stage, "--package", out)
			if err != nil {
				t.Fatalf("serverless package: %v\n%s", err, o)
			}
			raw, err := os.ReadFile(filepath.Join(out, "cloudformation-template-update-stack.json"))
			if err != nil {
				t.Fatalf("reading the template: %v", err)
			}
			var tpl template
			if err := json.Unmarshal(raw, &tpl); err != nil {
				t.Fatalf("parsing the template: %v", err)
			}
			checkTemplate(t, stage, tpl, string(raw))
		})
	}
}

// TestServerlessUnknownStage checks that a stage without params does not
// package (the per-stage params have no defaults).
func TestServerlessUnknownStage(t *testing.T) {
	serverless, dir := slsService(t)
	o, err := run(t, 3*time.Minute, dir, slsEnv, serverless, "package", "--stage", "qa", "--package", filepath.Join(dir, "out", "qa"))
	if err == nil {
		t.Fatalf("serverless package --stage qa succeeded; want a failure\n%s", o)
	}
	if !strings.Contains(o, "Cannot resolve variable") {
		t.Errorf("serverless package --stage qa failed without naming the unresolved param:\n%s", o)
	}
}

// template is the part of a CloudFormation template the checks read.
type template struct {
	Resources map[string]resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`
}

type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

func (tpl template) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range tpl.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

func checkTemplate(t *testing.T, stage string, tpl template, raw string) {
	t.Helper()
	p := stagePolicies[stage]
	fnByID := checkFunctions(t, stage, p, tpl)
	checkRoutes(t, tpl, fnByID)
	checkTable(t, stage, tpl)
	checkIAM(t, stage, tpl)
	checkObservability(t, stage, tpl, fnByID)
	checkNoSecrets(t, raw)

	for id, lg := range tpl.ofType("AWS::Logs::LogGroup") {
		if got := lg.Properties["RetentionInDays"]; got != float64(p.LogRetentionDays) {
			t.Errorf("log group %s: RetentionInDays = %v, want %d", id, got, p.LogRetentionDays)
		}
	}
	apis := tpl.ofType("AWS::ApiGatewayV2::Api")
	if len(apis) != 1 {
		t.Fatalf("%d HTTP APIs, want 1", len(apis))
	}
	for id, api := range apis {
		if api.Properties["ProtocolType"] != "HTTP" {
			t.Errorf("%s: ProtocolType = %v, want HTTP", id, api.Properties["ProtocolType"])
		}
		if _, ok := api.Properties["CorsConfiguration"]; ok {
			t.Errorf("%s: gateway CORS configured; CORS is the functions' job (CALLSIGN_ALLOWED_ORIGINS)", id)
		}
	}
	if _, ok := tpl.Outputs["HttpApiUrl"]; !ok {
		t.Errorf("no HttpApiUrl output")
	}
}

// goRuntimeVariables are the variables of a function's environment that
// the Go runtime reads rather than callsign's configuration.
var goRuntimeVariables = map[string]bool{"GOMAXPROCS": true}

// checkFunctions checks the four Lambda functions and returns a map from
// logical ID to short function name (usersig, calls, session, callbacks).
func checkFunctions(t *testing.T, stage string, p stagePolicy, tpl template) map[string]string {
	t.Helper()
	all, secret := configVariables(t)
	wantEnv := map[string]any{
		"CALLSIGN_STAGE":               stage,
		"CALLSIGN_LOG_LEVEL":           p.LogLevel,
		"CALLSIGN_SECRET_SOURCE":       "aws-secretsmanager",
		"CALLSIGN_SECRET_NAME":         "callsign/" + stage + "/trtc",
		"CALLSIGN_SECRET_CACHE_TTL":    p.SecretCacheTTL,
		"CALLSIGN_WECHAT_APP_ID":       testWechatAppID,
		"CALLSIGN_VERIFIERS":           "session",
		"CALLSIGN_JWT_ISSUER":          "",
		"CALLSIGN_JWT_AUDIENCE":        "",
		"CALLSIGN_JWT_JWKS_URL":        "",
		"CALLSIGN_USER_SIG_TTL":        p.UserSigTTL,
		"CALLSIGN_PRIVATE_MAP_KEY_TTL": p.PrivateMapKeyTTL,
		"CALLSIGN_INVITE_TTL":          p.InviteTTL,
		"CALLSIGN_ALLOWED_ORIGINS":     p.AllowedOrigins,
		"CALLSIGN_LIMITER":             "dynamodb",
		"CALLSIGN_RATE_LIMITS":         p.RateLimits,
		"CALLSIGN_DYNAMODB_TABLE":      map[string]any{"Ref": "RateLimitTable"},
		"CALLSIGN_CALL_ENFORCEMENT":    p.CallEnforcement,
		"CALLSIGN_CALL_UNKNOWN_ROOM":   "ignore",
		"CALLSIGN_TRTC_REGION":         "ap-guangzhou",
		"GOMAXPROCS":                   "1",
	}
	fns := tpl.ofType("AWS::Lambda::Function")
	byID := map[string]string{}
	for id, fn := range fns {
		name, _ := fn.Properties["FunctionName"].(string)
		short, ok := strings.CutPrefix(name, "callsign-"+stage+"-")
		if !ok {
			t.Errorf("%s: FunctionName %q, want callsign-%s-<fn>", id, name, stage)
			continue
		}
		byID[id] = short
		props := fn.Properties
		if props["Runtime"] != "provided.al2023" {
			t.Errorf("%s: Runtime = %v, want provided.al2023", short, props["Runtime"])
		}
		if props["Handler"] != "bootstrap" {
			t.Errorf("%s: Handler = %v, want bootstrap", short, props["Handler"])
		}
		if !reflect.DeepEqual(props["Architectures"], []any{"arm64"}) {
			t.Errorf("%s: Architectures = %v, want [arm64]", short, props["Architectures"])
		}
		if props["MemorySize"] != float64(256) || props["Timeout"] != float64(6) {
			t.Errorf("%s: MemorySize %v Timeout %v, want 256 and 6", short, props["MemorySize"], props["Timeout"])
		}
		code, _ := props["Code"].(map[string]any)
		if key, _ := code["S3Key"].(string); !strings.HasSuffix(key, "/"+short+".zip") {
			t.Errorf("%s: Code.S3Key %q does not end in /%s.zip", short, key, short)
		}
		envBlock, _ := props["Environment"].(map[string]any)
		env, _ := envBlock["Variables"].(map[string]any)
		if !reflect.DeepEqual(env, wantEnv) {
			t.Errorf("%s: environment differs\n got: %v\nwant: %v", short, env, wantEnv)
		}
		for k := range env {
			if !all[k] && !goRuntimeVariables[k] {
				t.Errorf("%s: %s is not a config variable (config.VariableNames)", short, k)
			}
			if secret[k] {
				t.Errorf("%s: %s is a secret; it must come from the secret store, not the environment", short, k)
			}
		}
	}
	names := slices.Sorted(maps.Values(byID))
	if want := []string{"callbacks", "calls", "session", "usersig"}; !slices.Equal(names, want) {
		t.Errorf("functions %v, want %v", names, want)
	}
	if _, err := ratelimit.ParsePolicies(p.RateLimits, ratelimit.DefaultPolicies()); err != nil {
		t.Errorf("stage rate limits do not parse: %v", err)
	}
	return byID
}

// checkRoutes maps every route to its function and compares with DESIGN §2
// (plus OPTIONS preflight for each POST route).
func checkRoutes(t *testing.T, tpl template, fnByID map[string]string) {
	t.Helper()
	want := map[string]string{
		"POST /v1/usersig":        "usersig",
		"OPTIONS /v1/usersig":     "usersig",
		"GET /healthz":            "usersig",
		"POST /v1/calls":          "calls",
		"OPTIONS /v1/calls":       "calls",
		"POST /v1/calls/join":     "calls",
		"OPTIONS /v1/calls/join":  "calls",
		"POST /v1/session":        "session",
		"OPTIONS /v1/session":     "session",
		"POST /v1/callbacks/trtc": "callbacks",
		"POST /v1/callbacks/call": "callbacks",
	}
	got := map[string]string{}
	for id, r := range tpl.ofType("AWS::ApiGatewayV2::Route") {
		key, _ := r.Properties["RouteKey"].(string)
		integ := integrationID(r.Properties["Target"])
		ir, ok := tpl.Resources[integ]
		if !ok || ir.Type != "AWS::ApiGatewayV2::Integration" {
			t.Errorf("route %s (%s): target %v is not an integration", id, key, r.Properties["Target"])
			continue
		}
		if ir.Properties["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration %s: PayloadFormatVersion %v, want 2.0", integ, ir.Properties["PayloadFormatVersion"])
		}
		fnID := getAttTarget(ir.Properties["IntegrationUri"])
		got[key] = fnByID[fnID]
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes differ\n got: %v\nwant: %v", got, want)
	}
}

// integrationID reads {"Fn::Join": ["/", ["integrations", {"Ref": ID}]]}.
func integrationID(target any) string {
	join, _ := target.(map[string]any)["Fn::Join"].([]any)
	if len(join) != 2 {
		return ""
	}
	parts, _ := join[1].([]any)
	if len(parts) != 2 || parts[0] != "integrations" {
		return ""
	}
	id, _ := parts[1].(map[string]any)["Ref"].(string)
	return id
}

// getAttTarget reads {"Fn::GetAtt": [ID, "Arn"]}.
func getAttTarget(v any) string {
	m, _ := v.(map[string]any)
	ga, _ := m["Fn::GetAtt"].([]any)
	if len(ga) != 2 || ga[1] != "Arn" {
		return ""
	}
	id, _ := ga[0].(string)
	return id
}

func checkTable(t *testing.T, stage string, tpl template) {
	t.Helper()
	tables := tpl.ofType("AWS::DynamoDB::Table")
	if _, ok := tables["RateLimitTable"]; !ok || len(tables) != 1 {
		t.Fatalf("tables %v, want exactly RateLimitTable", slices.Sorted(maps.Keys(tables)))
	}
	want := map[string]any{
		"TableName":               "callsign-" + stage + "-ratelimit",
		"BillingMode":             "PAY_PER_REQUEST",
		"AttributeDefinitions":    []any{map[string]any{"AttributeName": "pk", "AttributeType": "S"}},
		"KeySchema":               []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
		"TimeToLiveSpecification": map[string]any{"AttributeName": "exp", "Enabled": true},
	}
	if got := tables["RateLimitTable"].Properties; !reflect.DeepEqual(got, want) {
		t.Errorf("RateLimitTable properties differ\n got: %v\nwant: %v", got, want)
	}
}

// statement is one IAM policy statement with Action normalised to a list.
type statement struct {
	Effect   string
	Actions  []string
	Resource any
}

func checkIAM(t *testing.T, stage string, tpl template) {
	t.Helper()
	var stmts []statement
	for id, role := range tpl.ofType("AWS::IAM::Role") {
		policies, _ := role.Properties["Policies"].([]any)
		for _, pol := range policies {
			doc, _ := pol.(map[string]any)["PolicyDocument"].(map[string]any)
			list, _ := doc["Statement"].([]any)
			for _, s := range list {
				m, _ := s.(map[string]any)
				st := statement{Resource: m["Resource"]}
				st.Effect, _ = m["Effect"].(string)
				switch a := m["Action"].(type) {
				case string:
					st.Actions = []string{a}
				case []any:
					for _, x := range a {
						s, _ := x.(string)
						st.Actions = append(st.Actions, s)
					}
				default:
					t.Errorf("role %s: statement without Action: %v", id, m)
				}
				stmts = append(stmts, st)
			}
		}
	}
	var dynamo, secrets []statement
	for _, st := range stmts {
		services := map[string]bool{}
		for _, a := range st.Actions {
			service, op, _ := strings.Cut(a, ":")
			if a == "*" || strings.Contains(op, "*") {
				t.Errorf("wildcard action %q", a)
			}
			services[service] = true
		}
		for service := range services {
			switch service {
			case "dynamodb":
				dynamo = append(dynamo, st)
			case "secretsmanager":
				secrets = append(secrets, st)
			case "ssm", "kms":
				t.Errorf("unexpected %s statement %v: the AWS stages read Secrets Manager only", service, st)
			}
			if service == "dynamodb" || service == "secretsmanager" || service == "ssm" || service == "kms" {
				if r, _ := json.Marshal(st.Resource); strings.Contains(string(r), "*") {
					t.Errorf("%s statement: resource %s contains a wildcard", service, r)
				}
			}
		}
	}
	wantDynamo := statement{Effect: "Allow", Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"},
		Resource: map[string]any{"Fn::GetAtt": []any{"RateLimitTable", "Arn"}}}
	if len(dynamo) != 1 || !reflect.DeepEqual(dynamo[0], wantDynamo) {
		t.Errorf("dynamodb statements %v, want one %v", dynamo, wantDynamo)
	}
	wantSecrets := statement{Effect: "Allow", Actions: []string{"secretsmanager:GetSecretValue"},
		Resource: map[string]any{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:callsign/" + stage + "/trtc-??????"}}
	if len(secrets) != 1 || !reflect.DeepEqual(secrets[0], wantSecrets) {
		t.Errorf("secretsmanager statements %v, want one %v", secrets, wantSecrets)
	}
}

// awsAccessKey matches an AWS access key ID.
var awsAccessKey = regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)

// checkNoSecrets scans text (a template or a config file) for secret
// material or for variables that would pull it in.
func checkNoSecrets(t *testing.T, text string) {
	t.Helper()
	_, secret := configVariables(t)
	for name := range secret {
		if name == "CALLSIGN_REDIS_URL" {
			continue // checked per cloud: only a deploy-time reference may appear
		}
		if strings.Contains(text, name) {
			t.Errorf("contains the secret variable %s", name)
		}
	}
	for _, s := range []string{"SecretString", "SecretBinary", "secretKey", "previousSecretKey", "wechatAppSecret", "tokenKey", "PRIVATE KEY", "${ssm:", "${aws:", "${cf:", "${s3:"} {
		if strings.Contains(text, s) {
			t.Errorf("contains %q", s)
		}
	}
	if k := awsAccessKey.FindString(text); k != "" {
		t.Errorf("contains an AWS access key ID")
	}
}

// slsFile is the part of serverless.yml checked statically.
type slsFile struct {
	Service              string                    `yaml:"service"`
	FrameworkVersion     string                    `yaml:"frameworkVersion"`
	ConfigValidationMode string                    `yaml:"configValidationMode"`
	Params               map[string]map[string]any `yaml:"params"`
	Provider             struct {
		Name         string `yaml:"name"`
		Runtime      string `yaml:"runtime"`
		Architecture string `yaml:"architecture"`
	} `yaml:"provider"`
	Package struct {
		Individually bool `yaml:"individually"`
	} `yaml:"package"`
	Functions map[string]struct {
		Handler string `yaml:"handler"`
		Package struct {
			Artifact string `yaml:"artifact"`
		} `yaml:"package"`
	} `yaml:"functions"`
}

// TestServerlessFile checks serverless.yml itself: it needs no tool, so it
// also runs where node_modules is absent.
func TestServerlessFile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "serverless.yml"))
	if err != nil {
		t.Fatalf("reading serverless.yml: %v", err)
	}
	var f slsFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("parsing serverless.yml: %v", err)
	}
	checks := []struct {
		what, got, want string
	}{
		{"service", f.Service, "callsign"},
		{"frameworkVersion", f.FrameworkVersion, "3"},
		{"configValidationMode", f.ConfigValidationMode, "error"},
		{"provider.name", f.Provider.Name, "aws"},
		{"provider.runtime", f.Provider.Runtime, "provided.al2023"},
		{"provider.architecture", f.Provider.Architecture, "arm64"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !f.Package.Individually {
		t.Errorf("package.individually is not true")
	}
	if got := slices.Sorted(maps.Keys(f.Functions)); !slices.Equal(got, []string{"callbacks", "calls", "session", "usersig"}) {
		t.Errorf("functions %v, want callbacks, calls, session, usersig", got)
	}
	for name, fn := range f.Functions {
		if want := "bin/aws/" + name + ".zip"; fn.Package.Artifact != want || fn.Handler != "bootstrap" {
			t.Errorf("%s: artifact %q handler %q, want %q and bootstrap", name, fn.Package.Artifact, fn.Handler, want)
		}
	}
	if got := slices.Sorted(maps.Keys(f.Params)); !slices.Equal(got, []string{"default", "dev", "prod", "staging"}) {
		t.Errorf("params stages %v, want default, dev, prod, staging", got)
	}
	content := yamlContent(t, raw)
	checkNoSecrets(t, content)
	if strings.Contains(content, "CALLSIGN_REDIS_URL") {
		t.Errorf("serverless.yml sets CALLSIGN_REDIS_URL; the AWS stages use DynamoDB")
	}
}

// yamlContent returns every key and scalar value of a YAML document, one per
// line, without its comments (which may name what must not be used).
func yamlContent(t *testing.T, raw []byte) string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parsing YAML: %v", err)
	}
	var b strings.Builder
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			b.WriteString(n.Value)
			b.WriteByte('\n')
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return b.String()
}
