package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSConfig builds the tls.Config for the Redis client: nil when TLS is off;
// otherwise TLS 1.2 or later, trusting TLSCAFile (if set) instead of the
// system roots and presenting TLSCertFile/TLSKeyFile (if set). ServerName is
// left empty, so the dialer checks the certificate against each address's
// host. Load has already called it once, so its files were readable then;
// errors are *VarError naming the variable and the file.
func (r Redis) TLSConfig() (*tls.Config, error) {
	if !r.TLS {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if r.TLSCAFile != "" {
		pem, err := os.ReadFile(r.TLSCAFile)
		if err != nil {
			return nil, &VarError{Var: "DATAINGEST_REDIS_TLS_CA_FILE", Msg: fmt.Sprintf("cannot read %q: %v", r.TLSCAFile, unwrapPath(err))}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &VarError{Var: "DATAINGEST_REDIS_TLS_CA_FILE", Msg: fmt.Sprintf("%q holds no PEM certificate", r.TLSCAFile)}
		}
		cfg.RootCAs = pool
	}
	switch {
	case r.TLSCertFile == "" && r.TLSKeyFile == "":
	case r.TLSCertFile == "":
		return nil, &VarError{Var: "DATAINGEST_REDIS_TLS_CERT_FILE", Msg: "must be set with DATAINGEST_REDIS_TLS_KEY_FILE"}
	case r.TLSKeyFile == "":
		return nil, &VarError{Var: "DATAINGEST_REDIS_TLS_KEY_FILE", Msg: "must be set with DATAINGEST_REDIS_TLS_CERT_FILE"}
	default:
		for _, f := range []struct{ name, path string }{
			{"DATAINGEST_REDIS_TLS_CERT_FILE", r.TLSCertFile},
			{"DATAINGEST_REDIS_TLS_KEY_FILE", r.TLSKeyFile},
		} {
			if _, err := os.ReadFile(f.path); err != nil {
				return nil, &VarError{Var: f.name, Msg: fmt.Sprintf("cannot read %q: %v", f.path, unwrapPath(err))}
			}
		}
		cert, err := tls.LoadX509KeyPair(r.TLSCertFile, r.TLSKeyFile)
		if err != nil {
			return nil, &VarError{Var: "DATAINGEST_REDIS_TLS_CERT_FILE", Msg: fmt.Sprintf(
				"%q with key %q is not a usable certificate and key: %v", r.TLSCertFile, r.TLSKeyFile, err)}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// unwrapPath drops the *os.PathError wrapper, whose text repeats the path.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
