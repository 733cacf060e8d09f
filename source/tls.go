package source

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
)

// tlsConfig is the TLS configuration of the endpoint's sslMode: nil for
// plain TCP.
func (e Endpoint) tlsConfig() (*tls.Config, error) {
	mode := strings.ToUpper(e.SSLMode)
	if mode == "" || mode == "DISABLED" {
		return nil, nil
	}
	c := &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12}
	if e.SSLCa != "" {
		pem, err := os.ReadFile(e.SSLCa)
		if err != nil {
			return nil, Permanentf("sslCa of %s: %v", e.Addr(), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, Permanentf("sslCa of %s: %s holds no PEM certificate", e.Addr(), e.SSLCa)
		}
		c.RootCAs = pool
	}
	switch mode {
	case "REQUIRED":
		c.InsecureSkipVerify = true
	case "VERIFY_CA":
		// The chain is checked, the host name is not: the certificate of
		// a server reached by IP address or another name passes.
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			opts := x509.VerifyOptions{Roots: c.RootCAs, Intermediates: x509.NewCertPool()}
			for _, cert := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(cert)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	case "VERIFY_IDENTITY":
	default:
		return nil, Permanentf("sslMode %q of %s is not DISABLED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY", e.SSLMode, e.Addr())
	}
	return c, nil
}
