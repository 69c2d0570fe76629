//go:build unix

package infra

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeTool writes an executable shell script that records how it was run
// (one "key=value" line per fact) into $FAKE_LOG, then prints $FAKE_OUTPUT.
func fakeTool(t *testing.T, dir, name, facts string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	script := "#!/bin/sh\n" +
		"{\n" +
		"  echo \"" + name + ".cwd=$(pwd)\"\n" +
		"  echo \"" + name + ".args=$*\"\n" +
		facts +
		"} >> \"$FAKE_LOG\"\n" +
		"printf '%s\\n' \"$FAKE_OUTPUT\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatalf("writing %s: %v", name, err)
	}
	return path
}

// readFacts parses a fake tool log into a map (the last value of a key wins)
// and the order of tool invocations.
func readFacts(t *testing.T, path string) (map[string]string, []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		t.Fatalf("reading the fake log: %v", err)
	}
	facts := map[string]string{}
	var calls []string
	for line := range strings.Lines(string(raw)) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		facts[k] = v
		if strings.HasSuffix(k, ".args") {
			calls = append(calls, strings.TrimSuffix(k, ".args")+" "+v)
		}
	}
	return facts, calls
}

const tencentFacts = `  if [ -f cloudbaserc.json ]; then
    echo "tcb.main=$(ls -l functions/callsign/main | cut -c1-10)"
    echo "tcb.rc_mode=$(ls -l cloudbaserc.json | cut -c1-10)"
    echo "tcb.dotenv=$(ls -a | grep -c '^\.env$')"
    cp cloudbaserc.json "$FAKE_LOG.cloudbaserc.json"
  fi
  if [ -f serverless.yml ]; then
    echo "scf.main=$(ls -l code/main | cut -c1-10) $(ls -l code/scf_bootstrap | cut -c1-10)"
    echo "scf.redis=$CALLSIGN_REDIS_URL"
    echo "scf.yml=$(cksum < serverless.yml)"
  fi
`

func cksum(t *testing.T, path string) string {
	t.Helper()
	out, err := run(t, 30*time.Second, filepath.Dir(path), nil, "sh", "-c", "cksum < "+filepath.Base(path))
	if err != nil {
		t.Fatalf("cksum %s: %v", path, err)
	}
	return strings.TrimSpace(out)
}

func TestDeployTencent(t *testing.T) {
	b := fixturePackages(t)
	root := repoRoot(t)
	requireTool(t, "unzip", "deploy unpacks the zips for the Tencent tools")
	tools := t.TempDir()
	tcb := fakeTool(t, tools, "tcb", tencentFacts)
	scf := fakeTool(t, tools, "scf", tencentFacts)
	setconc := fakeTool(t, tools, "setconcurrency", "")
	// A password with JSON's special characters (and the & that bash's
	// pattern substitution would expand) must arrive intact.
	const redisURL = `redis://:fix"ture\pa&ss@10.0.0.5:6379/0`
	baseEnv := append(slices.Clone(makeEnv),
		"CALLSIGN_WECHAT_APP_ID=wx0123456789abcdef",
		"CALLSIGN_REDIS_URL="+redisURL,
		"TENCENT_VPC_ID=vpc-fixture",
		"TENCENT_SUBNET_ID=subnet-fixture",
		"TCB_ENV_ID=callsign-staging-fx01",
	)
	mk := filepath.Join(root, "infra", "package.mk")
	stageDir := filepath.Join(b.module, "dist", "tencent", "staging")
	caps := filepath.Join(root, "infra", "tencent", "staging", "concurrency.json")

	tests := []struct {
		name      string
		output    string // what both fake tools print
		wantOK    bool
		wantCalls []string
	}{
		{"success", "✔ deployed", true, []string{
			"tcb fn deploy callsign -e callsign-staging-fx01 --force",
			"setconcurrency -file " + caps + " -function event -namespace callsign-staging-fx01 -region ap-guangzhou",
			"scf deploy",
			"setconcurrency -file " + caps + " -function web -region ap-guangzhou",
		}},
		{"tcb reports failure with exit 0", "✖ [callsign] 函数部署失败", false, []string{"tcb fn deploy callsign -e callsign-staging-fx01 --force"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "fake.log")
			env := append(slices.Clone(baseEnv), "FAKE_LOG="+log, "FAKE_OUTPUT="+tc.output)
			out, err := run(t, 5*time.Minute, b.module, env, "make", "-f", mk, "deploy", "PROVIDER=tencent", "STAGE=staging", "TCB="+tcb, "SCF="+scf, "SETCONCURRENCY="+setconc)
			if (err == nil) != tc.wantOK {
				t.Fatalf("make deploy: err = %v, want success %v\n%s", err, tc.wantOK, out)
			}
			facts, calls := readFacts(t, log)
			if !slices.Equal(calls, tc.wantCalls) {
				t.Errorf("calls %q, want %q", calls, tc.wantCalls)
			}
			if _, err := os.Stat(filepath.Join(stageDir, "cloudbase", "cloudbaserc.json")); !os.IsNotExist(err) {
				t.Errorf("the rendered cloudbaserc.json holding the Redis URL was not removed (stat error %v)", err)
			}
			checkRenderedCloudbase(t, log+".cloudbaserc.json", map[string]string{
				"envId":                  "callsign-staging-fx01",
				"CALLSIGN_REDIS_URL":     redisURL,
				"CALLSIGN_WECHAT_APP_ID": "wx0123456789abcdef",
				"vpcId":                  "vpc-fixture",
				"subnetId":               "subnet-fixture",
			})
			want := map[string]string{
				"tcb.cwd":     filepath.Join(stageDir, "cloudbase"),
				"tcb.main":    "-rwxr-xr-x",
				"tcb.rc_mode": "-rw-------",
				"tcb.dotenv":  "0",
			}
			if tc.wantOK {
				want["scf.cwd"] = filepath.Join(stageDir, "web")
				want["scf.main"] = "-rwxr-xr-x -rwxr-xr-x"
				want["scf.redis"] = redisURL
				want["scf.yml"] = cksum(t, filepath.Join(root, "infra", "tencent", "staging", "serverless.yml"))
			}
			for k, v := range want {
				if facts[k] != v {
					t.Errorf("%s = %q, want %q", k, facts[k], v)
				}
			}
		})
	}
}

// checkRenderedCloudbase parses the cloudbaserc.json the deploy tool was
// given: valid JSON, no placeholder left, and the deploy-time values intact.
func checkRenderedCloudbase(t *testing.T, path string, want map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the deploy tool saw no cloudbaserc.json: %v", err)
	}
	if bytes.Contains(raw, []byte("{{")) {
		t.Errorf("placeholder left in the deployed cloudbaserc.json:\n%s", raw)
	}
	var c cloudbaseConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("the deployed cloudbaserc.json is not valid: %v", err)
	}
	if len(c.Functions) != 1 || c.Functions[0].VPC == nil {
		t.Fatalf("functions %+v", c.Functions)
	}
	fn := c.Functions[0]
	got := map[string]string{
		"envId":                  c.EnvID,
		"CALLSIGN_REDIS_URL":     fn.EnvVariables["CALLSIGN_REDIS_URL"],
		"CALLSIGN_WECHAT_APP_ID": fn.EnvVariables["CALLSIGN_WECHAT_APP_ID"],
		"vpcId":                  fn.VPC.VpcID,
		"subnetId":               fn.VPC.SubnetID,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deployed values\n got %q\nwant %q", got, want)
	}
}

func TestDeployAWS(t *testing.T) {
	b := fixturePackages(t)
	tools := t.TempDir()
	sls := fakeTool(t, tools, "serverless", `  echo "serverless.telemetry=$SLS_TELEMETRY_DISABLED $SLS_NOTIFICATIONS_MODE"
  echo "serverless.zips=$(ls bin/aws/*.zip | tr '\n' ' ')"
`)
	log := filepath.Join(t.TempDir(), "fake.log")
	env := append(slices.Clone(makeEnv), "CALLSIGN_WECHAT_APP_ID=wx0123456789abcdef", "FAKE_LOG="+log, "FAKE_OUTPUT=ok")
	out, err := run(t, 5*time.Minute, b.module, env, "make", "-f", filepath.Join(repoRoot(t), "infra", "package.mk"), "deploy", "PROVIDER=aws", "STAGE=prod", "SERVERLESS="+sls)
	if err != nil {
		t.Fatalf("make deploy: %v\n%s", err, out)
	}
	facts, calls := readFacts(t, log)
	wantCalls := []string{
		"serverless package --stage prod --package bin/serverless/prod",
		"serverless deploy --stage prod --package bin/serverless/prod",
	}
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("calls %q, want %q", calls, wantCalls)
	}
	if got, want := facts["serverless.telemetry"], "1 off"; got != want {
		t.Errorf("SLS_TELEMETRY_DISABLED SLS_NOTIFICATIONS_MODE = %q, want %q", got, want)
	}
	if got, want := facts["serverless.zips"], "bin/aws/callbacks.zip bin/aws/calls.zip bin/aws/session.zip bin/aws/usersig.zip "; got != want {
		t.Errorf("zips present = %q, want %q", got, want)
	}
}

// TestMakeGuards checks that bad or missing inputs stop make before any
// build or deploy step, with a message naming what to fix.
func TestMakeGuards(t *testing.T) {
	b := fixturePackages(t)
	mk := filepath.Join(repoRoot(t), "infra", "package.mk")
	unset := []string{"CALLSIGN_WECHAT_APP_ID=", "CALLSIGN_REDIS_URL=", "TENCENT_VPC_ID=", "TENCENT_SUBNET_ID=", "TCB_ENV_ID="}
	tests := []struct {
		name    string
		args    []string
		env     []string
		message string
	}{
		{"unknown stage", []string{"package", "STAGE=qa"}, nil, "STAGE must be one of: dev staging prod (got 'qa')"},
		{"missing stage", []string{"deploy", "PROVIDER=aws"}, nil, "STAGE must be one of"},
		{"unknown provider", []string{"deploy", "PROVIDER=gcp", "STAGE=dev"}, nil, "PROVIDER must be aws or tencent (got 'gcp')"},
		{"package outside bin", []string{"package", "STAGE=dev", "PACKAGE_OUT=elsewhere"}, nil, "need PACKAGE_OUT=bin"},
		{"aws without app id", []string{"deploy", "PROVIDER=aws", "STAGE=dev"}, nil, "set CALLSIGN_WECHAT_APP_ID"},
		{"tencent prod without redis", []string{"deploy", "PROVIDER=tencent", "STAGE=prod"}, []string{"CALLSIGN_WECHAT_APP_ID=wx0123456789abcdef"}, "set CALLSIGN_REDIS_URL to deploy prod to Tencent"},
		{"cloudbase without env id", []string{"deploy-tencent-event", "STAGE=dev"}, []string{"CALLSIGN_WECHAT_APP_ID=wx0123456789abcdef"}, "set TCB_ENV_ID"},
		{"cloudbase env of another stage", []string{"deploy-tencent-event", "STAGE=dev"}, []string{"CALLSIGN_WECHAT_APP_ID=wx0123456789abcdef", "TCB_ENV_ID=callsign-prod-1a2b3c"},
			"TCB_ENV_ID is not a CloudBase environment of stage dev: its name must end in 'dev' (e.g. callsign-dev-1a2b3c); refusing to deploy"},
		{"cloudbase env of another stage via deploy", []string{"deploy", "PROVIDER=tencent", "STAGE=staging"}, []string{"CALLSIGN_WECHAT_APP_ID=wx0123456789abcdef",
			"CALLSIGN_REDIS_URL=redis://10.0.0.5:6379/0", "TENCENT_VPC_ID=vpc-x", "TENCENT_SUBNET_ID=subnet-x", "TCB_ENV_ID=callsign-dev-staging"}, "TCB_ENV_ID is not a CloudBase environment of stage staging"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := slices.Concat(makeEnv, unset, tc.env, []string{"SERVERLESS=false", "TCB=false", "SCF=false"})
			out, err := run(t, time.Minute, b.module, env, "make", slices.Concat([]string{"-f", mk}, tc.args)...)
			if code := exitCode(err); code != 2 {
				t.Errorf("exit code %d (err %v), want 2\n%s", code, err, out)
			}
			if !strings.Contains(out, tc.message) {
				t.Errorf("output does not contain %q:\n%s", tc.message, out)
			}
			if strings.Contains(out, "go build") {
				t.Errorf("a build started before the guard stopped make:\n%s", out)
			}
		})
	}
}
