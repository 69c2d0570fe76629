package awsapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
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
)

// TestAmazonRoots pins the embedded roots: exactly these five certificates,
// in this order, by subject and SHA-256 fingerprint of the DER encoding.
func TestAmazonRoots(t *testing.T) {
	want := []struct{ cn, sha256 string }{
		{"Amazon Root CA 1", "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e"},
		{"Amazon Root CA 2", "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4"},
		{"Amazon Root CA 3", "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4"},
		{"Amazon Root CA 4", "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092"},
		{"Starfield Services Root Certificate Authority - G2", "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5"},
	}
	var got []struct{ cn, sha256 string }
	rest := amazonRootsPEM
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
			t.Errorf("%s: not a self-issued CA certificate", c.Subject.CommonName)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: amazonRoots()}); err != nil {
			t.Errorf("%s does not verify as a root of the pool: %v", c.Subject.CommonName, err)
		}
		sum := sha256.Sum256(block.Bytes)
		got = append(got, struct{ cn, sha256 string }{c.Subject.CommonName, hex.EncodeToString(sum[:])})
	}
	if !slices.Equal(got, want) {
		t.Errorf("embedded roots\n got %v\nwant %v", got, want)
	}
}

func TestAmazonFirstTLS(t *testing.T) {
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
			cfg := amazonFirstTLS(func(k string) string { return tt.env[k] }, "ssm.eu-west-1.amazonaws.com")
			if (cfg != nil) != tt.want {
				t.Fatalf("configuration %v, want ours: %v", cfg, tt.want)
			}
			if cfg != nil && (cfg.VerifyConnection == nil || !cfg.InsecureSkipVerify || cfg.MinVersion != tls.VersionTLS12 || cfg.RootCAs != nil) {
				t.Errorf("configuration does not verify through VerifyConnection: %+v", cfg)
			}
		})
	}
}

// farPast and farFuture bound the test certificates' validity so widely
// that no clock a test meets falls outside it.
var (
	farPast   = time.Unix(0, 0)
	farFuture = time.Unix(1<<37, 0)
)

// testCA is a certificate authority for TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial atomic.Int64

func newTestCA(t *testing.T, name string, parent *testCA) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             farPast,
		NotAfter:              farFuture,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	signer, signerKey := tpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// serve starts a TLS server whose chain is a leaf for hosts (IP addresses
// or DNS names) issued by ca, followed by the intermediates.
func (ca *testCA) serve(t *testing.T, hosts []string, intermediates ...*testCA) *httptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    farPast,
		NotAfter:     farFuture,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tpl.IPAddresses = append(tpl.IPAddresses, ip)
		} else {
			tpl.DNSNames = append(tpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	chain := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	for _, i := range intermediates {
		chain.Certificate = append(chain.Certificate, i.cert.Raw)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("{}"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{chain}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestVerifyRootsInOrder connects to servers with chains of different
// origins through a client verifying with verifyRootsInOrder, first
// against root A, then against root B.
func TestVerifyRootsInOrder(t *testing.T) {
	rootA, rootB, rootC := newTestCA(t, "root A", nil), newTestCA(t, "root B", nil), newTestCA(t, "root C", nil)
	interA := newTestCA(t, "intermediate under A", rootA)
	loopbackIP := []string{"127.0.0.1"}
	tests := []struct {
		name         string
		host         string // the client's endpoint host
		srv          *httptest.Server
		wantErr      string // substring; "" means the request succeeds
		wantFallback int32  // calls of the fallback roots
	}{
		{"chain to the first roots", "127.0.0.1", rootA.serve(t, loopbackIP), "", 0},
		{"chain to the first roots through an intermediate", "127.0.0.1", interA.serve(t, loopbackIP, interA), "", 0},
		{"chain to the fallback roots", "127.0.0.1", rootB.serve(t, loopbackIP), "", 1},
		{"chain to neither", "127.0.0.1", rootC.serve(t, loopbackIP), "certificate signed by unknown authority", 1},
		{"first roots, certificate for another name", "127.0.0.1", rootA.serve(t, []string{"other.example"}), "doesn't contain any IP SANs", 1},
		{"first roots, client of another endpoint", "10.0.0.1", rootA.serve(t, loopbackIP), "not 10.0.0.1", 1},
		{"intermediate not sent", "127.0.0.1", interA.serve(t, loopbackIP), "certificate signed by unknown authority", 1},
		{"no endpoint host", "", rootA.serve(t, loopbackIP), "not to the client's endpoint", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fallbacks atomic.Int32
			verify := verifyRootsInOrder(tt.host, rootA.pool, func() *x509.CertPool {
				fallbacks.Add(1)
				return rootB.pool()
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

// TestDefaultClientVerifies calls a loopback HTTPS endpoint whose
// certificate chains to no trusted root through a client New built itself
// (no Options.HTTPClient): the call must fail on the certificate, never
// reaching the server. The configuration sets InsecureSkipVerify so that
// VerifyConnection does the verification; this checks that it does.
func TestDefaultClientVerifies(t *testing.T) {
	t.Setenv(envCertFile, "")
	t.Setenv(envCertDir, "")
	var reached atomic.Bool
	ca := newTestCA(t, "untrusted root", nil)
	srv := ca.serve(t, []string{"127.0.0.1"})
	srv.Config.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) })
	c, err := New(Options{Service: SSM, Region: "eu-west-1", Credentials: staticCreds(testCreds), Endpoint: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(context.Background(), "GetParameter", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("call error %v, want a certificate error", err)
	}
	if reached.Load() {
		t.Error("the request reached a server whose certificate does not verify")
	}
}

// BenchmarkTrustStore measures, in a fresh process per iteration (the test
// binary run again as a helper), what a default client's first TLS
// handshake pays to get its roots: Go's system trust store
// (x509.SystemCertPool) against the embedded Amazon Trust Services roots.
// Metrics: system-ms and amazon-ms, medians over the iterations.
//
//	go test -run '^$' -bench TrustStore -benchtime 20x ./shared/awsapi/
func BenchmarkTrustStore(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var system, amazon []float64
	for b.Loop() {
		cmd := exec.Command(exe, "-test.run=^TestTrustStoreHelper$")
		cmd.Env = append(os.Environ(), trustStoreHelperEnv+"=1")
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("helper: %v\n%s", err, out)
		}
		var s, a float64
		if _, err := fmt.Sscanf(lastLine(string(out), "trust-store "), "trust-store %g %g", &s, &a); err != nil {
			b.Fatalf("helper output %q: %v", out, err)
		}
		system, amazon = append(system, s), append(amazon, a)
	}
	b.ReportMetric(median(system), "system-ms")
	b.ReportMetric(median(amazon), "amazon-ms")
}

// trustStoreHelperEnv makes TestTrustStoreHelper time the two trust stores
// instead of returning at once.
const trustStoreHelperEnv = "CALLSIGN_AWSAPI_TRUST_STORE_HELPER"

// TestTrustStoreHelper is BenchmarkTrustStore's fresh process: with
// trustStoreHelperEnv set it loads the embedded roots, then the system
// trust store, and prints "trust-store <system ms> <amazon ms>". Otherwise
// it returns at once: it checks nothing on its own.
func TestTrustStoreHelper(t *testing.T) {
	if os.Getenv(trustStoreHelperEnv) != "1" {
		return
	}
	t0 := time.Now()
	if amazonRoots() == nil {
		t.Fatal("no embedded roots")
	}
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
