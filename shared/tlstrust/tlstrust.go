// Package tlstrust provides the TLS client configuration of callsign's
// calls to its clouds' own APIs (the secret store, the rate-limit table,
// the TRTC cloud API, WeChat's code2Session): the server's certificate is
// verified against a few embedded roots, the ones those endpoints chain
// to, before Go's system trust store is loaded.
//
// The system trust store costs the first TLS handshake of a process tens of
// milliseconds: Go parses every certificate of the bundle file and of each
// file in the certificate directories, which on Debian hold every root
// three times over (docs/performance.md). Every cold start of a stage that
// reads its secret from a managed store pays it in app.New, the first
// removal of an intruder by a callbacks instance would pay it for the TRTC
// cloud API, and the first session request for WeChat. The embedded
// roots parse in about a millisecond, and the system store is loaded only
// for a server they do not verify (an endpoint override to another
// authority, a region with other certificates), so what is accepted does
// not change: the embedded roots are in the system stores callsign runs on.
package tlstrust

import (
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
)

// Anchors is a set of embedded root certificates tried before the system
// trust store.
type Anchors struct {
	name string
	pool func() *x509.CertPool
}

// newAnchors returns the Anchors of pemData, parsed on first use.
func newAnchors(name string, pemData []byte) *Anchors {
	return &Anchors{name: name, pool: sync.OnceValue(func() *x509.CertPool {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			panic("tlstrust: the embedded " + name + " roots do not parse")
		}
		return pool
	})}
}

// String returns the set's name.
func (a *Anchors) String() string { return a.name }

// Pool returns the set's roots, parsed on the first call.
func (a *Anchors) Pool() *x509.CertPool { return a.pool() }

var (
	//go:embed amazon-trust-services.pem
	amazonPEM []byte
	//go:embed digicert-global.pem
	digicertPEM []byte
)

// The embedded sets.
var (
	// AmazonTrustServices are the roots every AWS service endpoint chains
	// to: Amazon Root CA 1-4 and their cross-signer, Starfield Services
	// Root Certificate Authority - G2.
	AmazonTrustServices = newAnchors("Amazon Trust Services", amazonPEM)
	// DigiCertGlobal are DigiCert Global Root G2 and DigiCert Global Root
	// CA: the roots of the Tencent Cloud API endpoints
	// (*.tencentcloudapi.com), whose certificate both cross-sign, and of
	// WeChat's API (api.weixin.qq.com).
	DigiCertGlobal = newAnchors("DigiCert Global", digicertPEM)
)

// Environment variables with which an operator replaces Go's system trust
// store (crypto/x509 reads them).
const (
	EnvCertFile = "SSL_CERT_FILE"
	EnvCertDir  = "SSL_CERT_DIR"
)

// ClientConfig returns the TLS configuration of a client of the one server
// host (a DNS name or an IP address, without port): the server's
// certificate is verified for host against first's roots and, only when
// they do not verify it, against the system roots. It returns nil, Go's own
// verification against the system roots, when getenv reports
// SSL_CERT_FILE or SSL_CERT_DIR: the operator chose the trust store.
//
// A client with this configuration must talk to host only (callsign's
// store clients follow no redirect to another host).
func ClientConfig(getenv func(string) string, host string, first *Anchors) *tls.Config {
	if getenv(EnvCertFile) != "" || getenv(EnvCertDir) != "" {
		return nil
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification is not skipped: VerifyConnection does it, for
		// host, on every full and resumed handshake.
		InsecureSkipVerify: true,
		VerifyConnection:   VerifyInOrder(host, first.Pool, nil),
	}
}

// Transport returns the transport of a client of host: a clone of
// http.DefaultTransport whose TLS configuration is ClientConfig(os.Getenv,
// host, first), or whose configuration is Go's default when ClientConfig
// returns nil. A program that replaced http.DefaultTransport with another
// RoundTripper gets that RoundTripper unchanged.
func Transport(host string, first *Anchors) http.RoundTripper {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	dt = dt.Clone()
	if cfg := ClientConfig(os.Getenv, host, first); cfg != nil {
		dt.TLSClientConfig = cfg
	}
	return dt
}

// VerifyInOrder returns a tls.Config.VerifyConnection that accepts a
// connection when the server's chain verifies for host against the roots
// of first, or else against fallback's (a nil fallback, or a nil pool from
// it, means the system roots). fallback is called only when first's roots
// do not verify the chain. The connection's own server name is not used
// for the check (a TLS client sends none for an IP address), but one that
// differs from host fails it.
func VerifyInOrder(host string, first, fallback func() *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tlstrust: the server sent no certificate")
		}
		if host == "" || (cs.ServerName != "" && cs.ServerName != host) {
			return errors.New("tlstrust: the connection is not to the client's server")
		}
		opts := x509.VerifyOptions{DNSName: host, Intermediates: x509.NewCertPool(), Roots: first()}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		leaf := cs.PeerCertificates[0]
		if _, err := leaf.Verify(opts); err == nil {
			return nil
		}
		opts.Roots = nil
		if fallback != nil {
			opts.Roots = fallback()
		}
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("tlstrust: server certificate: %w", err)
		}
		return nil
	}
}
