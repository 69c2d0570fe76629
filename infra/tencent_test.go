//go:build unix

package infra

import (
	"bytes"
	"encoding/json"
	"maps"
	"net"
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

// cloudbaseConfig is cloudbaserc.json (version 2.0) as callsign uses it.
// Decoding rejects unknown fields, so a typo fails here and not on deploy.
type cloudbaseConfig struct {
	Version      string              `json:"version"`
	EnvID        string              `json:"envId"`
	FunctionRoot string              `json:"functionRoot"`
	Functions    []cloudbaseFunction `json:"functions"`
}

type cloudbaseFunction struct {
	Name              string            `json:"name"`
	Runtime           string            `json:"runtime"`
	Handler           string            `json:"handler"`
	Timeout           int               `json:"timeout"`
	MemorySize        int               `json:"memorySize"`
	InstallDependency bool              `json:"installDependency"`
	Role              string            `json:"role"`
	EnvVariables      map[string]string `json:"envVariables"`
	VPC               *struct {
		VpcID    string `json:"vpcId"`
		SubnetID string `json:"subnetId"`
	} `json:"vpc"`
	Triggers []any `json:"triggers"`
}

// scfComponent is a `component: scf` serverless.yml for `scf deploy`. Only
// the fields callsign uses are known; any other key is an error.
type scfComponent struct {
	App       string `yaml:"app"`
	Stage     string `yaml:"stage"`
	Component string `yaml:"component"`
	Name      string `yaml:"name"`
	Inputs    struct {
		Name string `yaml:"name"`
		Type string `yaml:"type"`
		Src  struct {
			Src string `yaml:"src"`
		} `yaml:"src"`
		Runtime     string `yaml:"runtime"`
		Region      string `yaml:"region"`
		Description string `yaml:"description"`
		MemorySize  int    `yaml:"memorySize"`
		Timeout     int    `yaml:"timeout"`
		Role        string `yaml:"role"`
		VpcConfig   *struct {
			VpcID    string `yaml:"vpcId"`
			SubnetID string `yaml:"subnetId"`
		} `yaml:"vpcConfig"`
		Environment struct {
			Variables map[string]string `yaml:"variables"`
		} `yaml:"environment"`
		Events []map[string]struct {
			Parameters struct {
				NetConfig struct {
					EnableIntranet bool `yaml:"enableIntranet"`
					EnableExtranet bool `yaml:"enableExtranet"`
				} `yaml:"netConfig"`
				Qualifier string `yaml:"qualifier"`
				AuthType  string `yaml:"authType"`
			} `yaml:"parameters"`
		} `yaml:"events"`
	} `yaml:"inputs"`
}

// scfFunctionName is the SCF component's rule for function names.
var scfFunctionName = regexp.MustCompile(`^[A-Za-z][\w-]{0,58}[A-Za-z0-9]$`)

// scfMemorySizes are the memory steps SCF accepts (MB).
var scfMemorySizes = []int{64, 128, 256, 384, 512, 640, 768, 896, 1024, 1152, 1280, 1408, 1536, 1664, 1792, 1920, 2048, 2176, 2304, 2432, 2560, 2688, 2816, 2944, 3072}

// tencentEnv is the environment both Tencent functions of a stage share, with
// deploy-time references written by ref (the syntax differs per tool).
func tencentEnv(stage string, ref func(name string) string) map[string]string {
	p := stagePolicies[stage]
	env := map[string]string{
		"CALLSIGN_STAGE":               stage,
		"CALLSIGN_LOG_LEVEL":           p.LogLevel,
		"CALLSIGN_SECRET_SOURCE":       "tencent-ssm",
		"CALLSIGN_SECRET_NAME":         "callsign-" + stage + "-trtc",
		"CALLSIGN_SECRET_VERSION":      "v1",
		"CALLSIGN_SECRET_CACHE_TTL":    p.SecretCacheTTL,
		"CALLSIGN_WECHAT_APP_ID":       ref("CALLSIGN_WECHAT_APP_ID"),
		"CALLSIGN_USER_SIG_TTL":        p.UserSigTTL,
		"CALLSIGN_PRIVATE_MAP_KEY_TTL": p.PrivateMapKeyTTL,
		"CALLSIGN_INVITE_TTL":          p.InviteTTL,
		"CALLSIGN_LIMITER":             p.TencentLimiter,
		"CALLSIGN_RATE_LIMITS":         p.RateLimits,
	}
	if p.TencentLimiter == "redis" {
		env["CALLSIGN_REDIS_URL"] = ref("CALLSIGN_REDIS_URL")
	}
	return env
}

func cloudbaseRef(name string) string { return "{{env." + name + "}}" }
func componentRef(name string) string { return "${env:" + name + "}" }

func TestCloudbaseConfig(t *testing.T) {
	root := repoRoot(t)
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, "infra", "tencent", stage, "cloudbaserc.json"))
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			var c cloudbaseConfig
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("parsing: %v", err)
			}
			if c.Version != "2.0" || c.EnvID != cloudbaseRef("TCB_ENV_ID") || c.FunctionRoot != "./functions" {
				t.Errorf("version %q envId %q functionRoot %q, want 2.0, %s, ./functions", c.Version, c.EnvID, c.FunctionRoot, cloudbaseRef("TCB_ENV_ID"))
			}
			if len(c.Functions) != 1 {
				t.Fatalf("%d functions, want 1", len(c.Functions))
			}
			fn := c.Functions[0]
			if fn.Name != "callsign" || fn.Runtime != "Go1" || fn.Handler != "main" {
				t.Errorf("name %q runtime %q handler %q, want callsign, Go1, main", fn.Name, fn.Runtime, fn.Handler)
			}
			// One CAM role per stage, the Web function's: without it the
			// function runs as the account-wide TCB_QcsRole, and a grant on
			// this stage's secret would reach every environment.
			if want := "callsign-" + stage + "-scf"; fn.Role != want {
				t.Errorf("role %q, want %q (the stage's own role)", fn.Role, want)
			}
			if fn.Timeout != 6 || fn.MemorySize != 256 || fn.InstallDependency || len(fn.Triggers) != 0 {
				t.Errorf("timeout %d memory %d installDependency %v triggers %v, want 6, 256, false, none", fn.Timeout, fn.MemorySize, fn.InstallDependency, fn.Triggers)
			}
			want := tencentEnv(stage, cloudbaseRef)
			want["CALLSIGN_VERIFIERS"] = "cloudbase"
			if !reflect.DeepEqual(fn.EnvVariables, want) {
				t.Errorf("envVariables differ\n got: %v\nwant: %v", fn.EnvVariables, want)
			}
			checkTencentEnv(t, fn.EnvVariables, cloudbaseRef)
			redis := stagePolicies[stage].TencentLimiter == "redis"
			if redis != (fn.VPC != nil) {
				t.Errorf("vpc set = %v, want %v (Redis is reachable only inside its VPC)", fn.VPC != nil, redis)
			}
			if fn.VPC != nil && (fn.VPC.VpcID != cloudbaseRef("TENCENT_VPC_ID") || fn.VPC.SubnetID != cloudbaseRef("TENCENT_SUBNET_ID")) {
				t.Errorf("vpc %+v, want deploy-time references", *fn.VPC)
			}
			checkNoSecrets(t, string(raw))
		})
	}
}

func TestWebFunctionConfig(t *testing.T) {
	root := repoRoot(t)
	for _, stage := range stages {
		t.Run(stage, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, "infra", "tencent", stage, "serverless.yml"))
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			dec.KnownFields(true)
			var c scfComponent
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("parsing: %v", err)
			}
			in := c.Inputs
			got := []string{c.App, c.Stage, c.Component, c.Name, in.Name, in.Type, in.Src.Src, in.Runtime, in.Region, in.Role}
			want := []string{"callsign", stage, "scf", "callsign-web", "callsign-web-" + stage, "web", "./code", "Go1", "ap-guangzhou", "callsign-" + stage + "-scf"}
			if !slices.Equal(got, want) {
				t.Errorf("app, stage, component, name, inputs.{name, type, src, runtime, region, role} =\n %q\nwant\n %q", got, want)
			}
			if !scfFunctionName.MatchString(in.Name) {
				t.Errorf("function name %q breaks the SCF naming rule", in.Name)
			}
			if !slices.Contains(scfMemorySizes, in.MemorySize) || in.Timeout != 6 {
				t.Errorf("memorySize %d timeout %d, want an SCF memory step and 6", in.MemorySize, in.Timeout)
			}
			env := in.Environment.Variables
			wantEnv := tencentEnv(stage, componentRef)
			wantEnv["CALLSIGN_VERIFIERS"] = "session"
			wantEnv["CALLSIGN_HTTP_ADDR"] = "0.0.0.0:9000"
			wantEnv["CALLSIGN_ALLOWED_ORIGINS"] = stagePolicies[stage].AllowedOrigins
			// The Web function serves POST /v1/callbacks/trtc and /v1/callbacks/call.
			wantEnv["CALLSIGN_CALL_ENFORCEMENT"] = stagePolicies[stage].CallEnforcement
			wantEnv["CALLSIGN_TRTC_REGION"] = "ap-guangzhou"
			if !reflect.DeepEqual(env, wantEnv) {
				t.Errorf("environment differs\n got: %v\nwant: %v", env, wantEnv)
			}
			host, port, err := net.SplitHostPort(env["CALLSIGN_HTTP_ADDR"])
			if err != nil || host != "0.0.0.0" || port != "9000" {
				t.Errorf("CALLSIGN_HTTP_ADDR %q: a Web function must listen on 0.0.0.0:9000", env["CALLSIGN_HTTP_ADDR"])
			}
			checkTencentEnv(t, env, componentRef)
			redis := stagePolicies[stage].TencentLimiter == "redis"
			if redis != (in.VpcConfig != nil) {
				t.Errorf("vpcConfig set = %v, want %v", in.VpcConfig != nil, redis)
			}
			if in.VpcConfig != nil && (in.VpcConfig.VpcID != componentRef("TENCENT_VPC_ID") || in.VpcConfig.SubnetID != componentRef("TENCENT_SUBNET_ID")) {
				t.Errorf("vpcConfig %+v, want deploy-time references", *in.VpcConfig)
			}
			if len(in.Events) != 1 {
				t.Fatalf("%d events, want one Function URL (http) trigger", len(in.Events))
			}
			if keys := slices.Collect(maps.Keys(in.Events[0])); !slices.Equal(keys, []string{"http"}) {
				t.Fatalf("event kinds %v, want [http] (API Gateway triggers are retired)", keys)
			}
			p := in.Events[0]["http"].Parameters
			if p.AuthType != "NONE" || p.Qualifier != "$DEFAULT" || !p.NetConfig.EnableExtranet || p.NetConfig.EnableIntranet {
				t.Errorf("Function URL parameters %+v, want public (extranet only), $DEFAULT, authType NONE (callsign authenticates)", p)
			}
			checkNoSecrets(t, yamlContent(t, raw))
		})
	}
}

// checkTencentEnv checks every variable name against the config struct and
// every value that can be checked offline.
func checkTencentEnv(t *testing.T, env map[string]string, ref func(string) string) {
	t.Helper()
	all, secret := configVariables(t)
	for k, v := range env {
		if !all[k] {
			t.Errorf("%s is not a config variable (config.VariableNames)", k)
		}
		if secret[k] && v != ref(k) {
			t.Errorf("%s is a secret; its value must be the deploy-time reference %s, not a literal", k, ref(k))
		}
	}
	for _, k := range []string{"CALLSIGN_USER_SIG_TTL", "CALLSIGN_PRIVATE_MAP_KEY_TTL", "CALLSIGN_INVITE_TTL", "CALLSIGN_SECRET_CACHE_TTL"} {
		if _, err := time.ParseDuration(env[k]); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if _, err := ratelimit.ParsePolicies(env["CALLSIGN_RATE_LIMITS"], ratelimit.DefaultPolicies()); err != nil {
		t.Errorf("CALLSIGN_RATE_LIMITS: %v", err)
	}
	if env["CALLSIGN_SECRET_VERSION"] == "" {
		t.Errorf("CALLSIGN_SECRET_VERSION is empty; tencent-ssm needs a VersionId")
	}
}

func TestScfBootstrap(t *testing.T) {
	path := filepath.Join(repoRoot(t), "infra", "tencent", "scf_bootstrap")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o755 {
		t.Errorf("mode %v, want 0755", got)
	}
	if bytes.ContainsRune(raw, '\r') {
		t.Errorf("contains CR; SCF needs LF line endings")
	}
	if !bytes.HasSuffix(raw, []byte("\n")) {
		t.Errorf("does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if lines[0] != "#!/bin/bash" {
		t.Errorf("line 1 = %q, want #!/bin/bash", lines[0])
	}
	var cmds []string
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	// The Web mode is pinned (the end-to-end test
	// functions.TestScfBootstrapPinsWebMode runs this script).
	want := []string{"exec env -u _LAMBDA_SERVER_PORT -u AWS_LAMBDA_RUNTIME_API TENCENTCLOUD_RUNENV=SCF ./main"}
	if !slices.Equal(cmds, want) {
		t.Errorf("commands %q, want exactly %q", cmds, want)
	}
}

// TestRenderConfig runs render-config.sh, which writes the cloudbaserc.json
// the CloudBase CLI deploys: values JSON-escaped, unset or empty values and
// control characters refused without writing anything, and no value in an
// error message.
func TestRenderConfig(t *testing.T) {
	bash := requireTool(t, "bash", "render-config.sh is a bash script")
	script := filepath.Join(repoRoot(t), "infra", "tencent", "render-config.sh")
	if info, err := os.Stat(script); err != nil || info.Mode().Perm() != 0o755 {
		t.Fatalf("stat %s: %v (want mode 0755)", script, err)
	}
	dir := t.TempDir()
	template := filepath.Join(dir, "template.json")
	if err := os.WriteFile(template, []byte(`{"a": "{{env.RC_A}}", "b": "x-{{env.RC_B}}-y", "again": "{{env.RC_A}}"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tricky := `p"w\d&x ü {{env.RC_B}} \u0041 $HOME`
	tests := []struct {
		name    string
		env     []string
		want    map[string]string // nil: refused
		message string
	}{
		{"escaped", []string{"RC_A=" + tricky, "RC_B=&"}, map[string]string{"a": tricky, "b": "x-&-y", "again": tricky}, ""},
		{"unset", []string{"RC_A=v"}, nil, "render-config: RC_B is unset or empty"},
		{"empty", []string{"RC_A=v", "RC_B="}, nil, "render-config: RC_B is unset or empty"},
		{"control character", []string{"RC_A=sec\nret", "RC_B=v"}, nil, "render-config: RC_A holds a control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "cloudbaserc.json")
			msg, err := run(t, 30*time.Second, dir, append([]string{"PATH=" + os.Getenv("PATH")}, tc.env...), bash, script, template, out)
			if tc.want == nil {
				if code := exitCode(err); code != 2 || !strings.Contains(msg, tc.message) {
					t.Errorf("exit %d, output %q; want 2 and %q", code, msg, tc.message)
				}
				if strings.Contains(msg, "ret") {
					t.Errorf("the error quotes a value: %q", msg)
				}
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("output written although refused (stat error %v)", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v\n%s", err, msg)
			}
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, raw)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("output mode: %v, %v; want 0600", info.Mode().Perm(), err)
			}
		})
	}
}

func TestRunChecked(t *testing.T) {
	bash := requireTool(t, "bash", "run-checked.sh is a bash script")
	script := filepath.Join(repoRoot(t), "infra", "tencent", "run-checked.sh")
	info, err := os.Stat(script)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o755 {
		t.Errorf("mode %v, want 0755", got)
	}
	tests := []struct {
		name     string
		command  string // run by sh -c under run-checked.sh
		wantCode int
	}{
		{"clean success", `echo "✔ [callsign] deployed"`, 0},
		{"tcb failure with exit 0", `echo "✔ Authorization login successful!"; echo "✖ [callsign] 函数部署失败 No valid identity information"`, 1},
		{"components login prompt with exit 0", `echo "请扫码进行登陆"; echo "getaddrinfo ENOTFOUND scfdev.tencentserverless.com" >&2`, 1},
		{"error on stderr with exit 0", `echo "Error: request timed out" >&2`, 1},
		{"non-zero exit kept", `exit 3`, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, 30*time.Second, t.TempDir(), nil, bash, script, "sh", "-c", tc.command)
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%s", code, tc.wantCode, out)
			}
		})
	}
}
