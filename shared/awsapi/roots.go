package awsapi

import (
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"sync"
)

// amazonRootsPEM holds the Amazon Trust Services roots, which every AWS
// service endpoint callsign calls chains to.
//
//go:embed amazon-trust-services.pem
var amazonRootsPEM []byte

// amazonRoots parses amazonRootsPEM once, on the first TLS handshake of a
// default client.
var amazonRoots = sync.OnceValue(func() *x509.CertPool {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(amazonRootsPEM) {
		panic("awsapi: the embedded Amazon Trust Services roots do not parse")
	}
	return pool
})

// Environment variables with which an operator replaces Go's system trust
// store (crypto/x509 reads them). When either is set, a default client
// verifies exactly as Go does, against that store.
const (
	envCertFile = "SSL_CERT_FILE"
	envCertDir  = "SSL_CERT_DIR"
)

// amazonFirstTLS returns the TLS configuration of a default client of the
// endpoint on host (a DNS name or an IP address, without port): server
// certificates are verified for host against the Amazon Trust Services
// roots first and, only when that fails, against the system roots. It
// returns nil (Go's own verification against the system roots) when getenv
// reports SSL_CERT_FILE or SSL_CERT_DIR.
//
// The system trust store costs the first TLS handshake of every cold start
// tens of milliseconds: Go parses every certificate of the bundle file and
// of each file in the certificate directories, which on Debian hold every
// root three times over (docs/performance.md).
// AWS endpoints chain to the five embedded roots, which parse in well under
// a millisecond, so the system store is loaded only for an endpoint that
// does not (an override to another CA, a region outside Amazon Trust
// Services). What is accepted does not change: the Amazon Trust Services
// roots are in every system store callsign runs on.
func amazonFirstTLS(getenv func(string) string, host string) *tls.Config {
	if getenv(envCertFile) != "" || getenv(envCertDir) != "" {
		return nil
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification is not skipped: VerifyConnection does it, with
		// the host name, for every full and resumed handshake.
		InsecureSkipVerify: true,
		VerifyConnection:   verifyRootsInOrder(host, amazonRoots, nil),
	}
}

// verifyRootsInOrder returns a tls.Config.VerifyConnection that accepts a
// connection when the server's chain verifies for host (the client's one
// endpoint: a client never follows a redirect) against the roots of first,
// or else against fallback's (a nil fallback, or a nil pool from it, means
// the system roots). fallback is called only when first's roots do not
// verify the chain. The connection's own server name is not used: a TLS
// client sends none for an IP address.
func verifyRootsInOrder(host string, first, fallback func() *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("awsapi: the server sent no certificate")
		}
		if host == "" || (cs.ServerName != "" && cs.ServerName != host) {
			return errors.New("awsapi: connection is not to the client's endpoint")
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
			return fmt.Errorf("awsapi: server certificate: %w", err)
		}
		return nil
	}
}
