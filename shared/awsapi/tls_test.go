package awsapi

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/callsign-dev/callsign/shared/internal/testtls"
	"github.com/callsign-dev/callsign/shared/tlstrust"
)

// TestDefaultClientVerifies calls a loopback HTTPS endpoint whose
// certificate chains to no trusted root through a client New built itself
// (no Options.HTTPClient): the call must fail on the certificate, never
// reaching the server. Its TLS configuration sets InsecureSkipVerify so
// that VerifyConnection does the verification; this checks that it does.
func TestDefaultClientVerifies(t *testing.T) {
	t.Setenv(tlstrust.EnvCertFile, "")
	t.Setenv(tlstrust.EnvCertDir, "")
	var reached atomic.Bool
	srv := testtls.NewCA(t, "untrusted root", nil).Serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) }), []string{"127.0.0.1"})
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
