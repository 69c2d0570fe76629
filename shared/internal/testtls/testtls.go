// Package testtls builds certificate authorities and HTTPS test servers for
// tests of TLS clients: ECDSA P-256 keys, certificates valid from 1970 to
// the year 6325, so that no clock a test meets falls outside them.
package testtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// notBefore and notAfter bound every certificate's validity.
var (
	notBefore = time.Unix(0, 0)
	notAfter  = time.Unix(1<<37, 0)
)

var serial atomic.Int64

// CA is a certificate authority.
type CA struct {
	// Cert is the authority's certificate.
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA returns a root authority named name when parent is nil, else an
// intermediate authority issued by parent.
func NewCA(t testing.TB, name string, parent *CA) *CA {
	t.Helper()
	key, tpl := newKeyAndTemplate(t, name)
	tpl.IsCA = true
	tpl.BasicConstraintsValid = true
	tpl.KeyUsage = x509.KeyUsageCertSign
	issuer, issuerKey := tpl, key
	if parent != nil {
		issuer, issuerKey = parent.Cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, issuer, &key.PublicKey, issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, key: key}
}

// newKeyAndTemplate returns a new key and the template of a certificate
// named name with the next serial number and the package's validity.
func newKeyAndTemplate(t testing.TB, name string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key, &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
}

// Pool returns a pool holding only the authority's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Serve starts an HTTPS server with handler (nil answers "{}") whose
// chain is a leaf certificate for hosts (IP addresses or DNS names) issued
// by ca, followed by intermediates. The server is closed when the test
// ends.
func (ca *CA) Serve(t testing.TB, handler http.Handler, hosts []string, intermediates ...*CA) *httptest.Server {
	t.Helper()
	key, tpl := newKeyAndTemplate(t, hosts[0])
	tpl.KeyUsage = x509.KeyUsageDigitalSignature
	tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tpl.IPAddresses = append(tpl.IPAddresses, ip)
		} else {
			tpl.DNSNames = append(tpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	chain := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	for _, i := range intermediates {
		chain.Certificate = append(chain.Certificate, i.Cert.Raw)
	}
	if handler == nil {
		handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("{}")) })
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{chain}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}
