package tlstrust

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testtls"
)

// TestAnchors pins the embedded sets: exactly these certificates, in this
// order, by subject and SHA-256 fingerprint of the DER encoding, each a
// self-issued authority that verifies as a root of its set's pool.
func TestAnchors(t *testing.T) {
	type root struct{ cn, sha256 string }
	tests := []struct {
		anchors *Anchors
		pem     []byte
		want    []root
	}{
		{AmazonTrustServices, amazonPEM, []root{
			{"Amazon Root CA 1", "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e"},
			{"Amazon Root CA 2", "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4"},
			{"Amazon Root CA 3", "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4"},
			{"Amazon Root CA 4", "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092"},
			{"Starfield Services Root Certificate Authority - G2", "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5"},
		}},
		{DigiCertGlobal, digicertPEM, []root{
			{"DigiCert Global Root G2", "cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f"},
			{"DigiCert Global Root CA", "4348a0e9444c78cb265e058d5e8944b4d84f9662bd26db257f8934a443c70161"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.anchors.String(), func(t *testing.T) {
			var got []root
			rest := tt.pem
			for {
				var block *pem.Block
				block, rest = pem.Decode(rest)
				if block == nil {
					break
				}
				if block.Type != "CERTIFICATE" {
					t.Fatalf("PEM block of type %q", block.Type)
				}
				c, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				if !c.IsCA || !slices.Equal(c.RawSubject, c.RawIssuer) {
					t.Errorf("%s: not a self-issued authority", c.Subject.CommonName)
				}
				if _, err := c.Verify(x509.VerifyOptions{Roots: tt.anchors.Pool()}); err != nil {
					t.Errorf("%s does not verify as a root of the pool: %v", c.Subject.CommonName, err)
				}
				sum := sha256.Sum256(block.Bytes)
				got = append(got, root{c.Subject.CommonName, hex.EncodeToString(sum[:])})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("embedded roots\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestClientConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool // a configuration of ours, rather than Go's default
	}{
		{"no trust-store variables", nil, true},
		{"SSL_CERT_FILE set", map[string]string{"SSL_CERT_FILE": "/etc/ssl/own.pem"}, false},
		{"SSL_CERT_DIR set", map[string]string{"SSL_CERT_DIR": "/etc/ssl/own"}, false},
		{"both empty", map[string]string{"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ClientConfig(func(k string) string { return tt.env[k] }, "ssm.eu-west-1.amazonaws.com", AmazonTrustServices)
			if (cfg != nil) != tt.want {
				t.Fatalf("configuration %v, want ours: %v", cfg, tt.want)
			}
			if cfg != nil && (cfg.VerifyConnection == nil || !cfg.InsecureSkipVerify || cfg.MinVersion != tls.VersionTLS12 || cfg.RootCAs != nil) {
				t.Errorf("configuration does not verify through VerifyConnection: %+v", cfg)
			}
		})
	}
}

// TestTransport: without trust-store variables the transport is a clone of
// http.DefaultTransport verifying through ClientConfig; with SSL_CERT_FILE
// or SSL_CERT_DIR set it keeps Go's default configuration.
func TestTransport(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ours bool // TLS configuration from ClientConfig
	}{
		{"no trust-store variables", map[string]string{EnvCertFile: "", EnvCertDir: ""}, true},
		{"SSL_CERT_FILE set", map[string]string{EnvCertFile: "/etc/ssl/own.pem", EnvCertDir: ""}, false},
		{"SSL_CERT_DIR set", map[string]string{EnvCertFile: "", EnvCertDir: "/etc/ssl/own"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tr, ok := Transport("api.weixin.qq.com", DigiCertGlobal).(*http.Transport)
			if !ok || tr == http.DefaultTransport {
				t.Fatalf("Transport = %T %p, want a clone of http.DefaultTransport", tr, tr)
			}
			cfg := tr.TLSClientConfig
			if ours := cfg != nil && cfg.VerifyConnection != nil && cfg.InsecureSkipVerify; ours != tt.ours {
				t.Fatalf("TLS configuration %+v, want ours: %v", cfg, tt.ours)
			}
			if !tt.ours && cfg != nil && (cfg.InsecureSkipVerify || cfg.RootCAs != nil || cfg.MinVersion != 0) {
				t.Fatalf("TLS configuration %+v, want Go's default verification", cfg)
			}
			if tr.Proxy == nil || !tr.ForceAttemptHTTP2 {
				t.Error("the clone lost http.DefaultTransport's settings")
			}
		})
	}
}

// TestVerifyInOrder connects to servers with chains of different origins
// through a client verifying with VerifyInOrder, first against root A,
// then against root B.
func TestVerifyInOrder(t *testing.T) {
	rootA, rootB, rootC := testtls.NewCA(t, "root A", nil), testtls.NewCA(t, "root B", nil), testtls.NewCA(t, "root C", nil)
	interA := testtls.NewCA(t, "intermediate under A", rootA)
	loopbackIP := []string{"127.0.0.1"}
	tests := []struct {
		name         string
		host         string // the client's endpoint host
		srv          *httptest.Server
		wantErr      string // substring; "" means the request succeeds
		wantFallback int32  // calls of the fallback roots
	}{
		{"chain to the first roots", "127.0.0.1", rootA.Serve(t, nil, loopbackIP), "", 0},
		{"chain to the first roots through an intermediate", "127.0.0.1", interA.Serve(t, nil, loopbackIP, interA), "", 0},
		{"chain to the fallback roots", "127.0.0.1", rootB.Serve(t, nil, loopbackIP), "", 1},
		{"chain to neither", "127.0.0.1", rootC.Serve(t, nil, loopbackIP), "certificate signed by unknown authority", 1},
		{"first roots, certificate for another name", "127.0.0.1", rootA.Serve(t, nil, []string{"other.example"}), "doesn't contain any IP SANs", 1},
		{"first roots, client of another endpoint", "10.0.0.1", rootA.Serve(t, nil, loopbackIP), "not 10.0.0.1", 1},
		{"intermediate not sent", "127.0.0.1", interA.Serve(t, nil, loopbackIP), "certificate signed by unknown authority", 1},
		{"no endpoint host", "", rootA.Serve(t, nil, loopbackIP), "not to the client's server", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fallbacks atomic.Int32
			verify := VerifyInOrder(tt.host, rootA.Pool, func() *x509.CertPool {
				fallbacks.Add(1)
				return rootB.Pool()
			})
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, VerifyConnection: verify}}}
			resp, err := client.Get(tt.srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("request failed: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
			if got := fallbacks.Load(); got != tt.wantFallback {
				t.Errorf("fallback roots loaded %d times, want %d", got, tt.wantFallback)
			}
		})
	}
}

// BenchmarkTrustStore measures what a client's first TLS handshake pays to
// get its roots: Go's system trust store (x509.SystemCertPool) against each
// embedded set. Every iteration runs two fresh processes (the test binary
// again, as a helper), one per embedded set, each loading its set first
// and then the system store. Metrics: amazon-ms, digicert-ms and system-ms
// (over both processes), medians over the iterations.
//
//	go test -run '^$' -bench TrustStore -benchtime 20x ./shared/tlstrust/
func BenchmarkTrustStore(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	load := func(set string) (system, anchors float64) {
		cmd := exec.Command(exe, "-test.run=^TestTrustStoreHelper$")
		cmd.Env = append(os.Environ(), trustStoreHelperEnv+"="+set)
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("helper: %v\n%s", err, out)
		}
		if _, err := fmt.Sscanf(lastLine(string(out), "trust-store "), "trust-store %g %g", &system, &anchors); err != nil {
			b.Fatalf("helper output %q: %v", out, err)
		}
		return system, anchors
	}
	var system, amazon, digicert []float64
	for b.Loop() {
		s1, a := load("amazon")
		s2, d := load("digicert")
		system, amazon, digicert = append(system, s1, s2), append(amazon, a), append(digicert, d)
	}
	b.ReportMetric(median(system), "system-ms")
	b.ReportMetric(median(amazon), "amazon-ms")
	b.ReportMetric(median(digicert), "digicert-ms")
}

// trustStoreHelperEnv names the embedded set ("amazon" or "digicert") that
// TestTrustStoreHelper times; unset, the helper returns at once.
const trustStoreHelperEnv = "CALLSIGN_TLSTRUST_TRUST_STORE_HELPER"

// TestTrustStoreHelper is BenchmarkTrustStore's fresh process: with
// trustStoreHelperEnv set it loads that embedded set, then the system
// trust store, and prints "trust-store <system ms> <set ms>". Otherwise it
// returns at once: it checks nothing on its own.
func TestTrustStoreHelper(t *testing.T) {
	sets := map[string]*Anchors{"amazon": AmazonTrustServices, "digicert": DigiCertGlobal}
	name := os.Getenv(trustStoreHelperEnv)
	if name == "" {
		return
	}
	set, ok := sets[name]
	if !ok {
		t.Fatalf("%s=%q names no embedded set", trustStoreHelperEnv, name)
	}
	t0 := time.Now()
	set.Pool()
	t1 := time.Now()
	if _, err := x509.SystemCertPool(); err != nil {
		t.Fatal(err)
	}
	t2 := time.Now()
	fmt.Printf("trust-store %s %s\n", ms(t2.Sub(t1)), ms(t1.Sub(t0)))
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// lastLine returns the last line of out that starts with prefix.
func lastLine(out, prefix string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], prefix) {
			return lines[i]
		}
	}
	return ""
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
