package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataingest/dataingest/internal/testenv"
	"github.com/dataingest/dataingest/store"
	"github.com/dataingest/dataingest/task"
)

// TestTLSAndPasswordToRedis runs a node against a Redis that takes only
// TLS clients with a password, and checks that the password appears in none
// of the node's log lines. With DATAINGEST_SECRET_KEY set, a task's
// database password is stored sealed, and appears in no log line and no
// status either.
func TestTLSAndPasswordToRedis(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeTestCerts(t, dir)
	const password = "r3dis-s3cret"
	r := testenv.StartRedis(t, testenv.WithTLS(cert, key, ca), testenv.WithPassword(password))
	rdb := r.Client(t)
	st := store.New(rdb, "debezium")

	p := testenv.StartProcess(t, binary(t), []string{
		"DATAINGEST_REDIS_ADDRS=" + r.TLSAddr, "DATAINGEST_REDIS_TLS=true", "DATAINGEST_REDIS_TLS_CA_FILE=" + ca,
		"DATAINGEST_REDIS_PASSWORD=" + password, "DATAINGEST_NODE_ID=tls1", "DATAINGEST_HTTP_ADDR=127.0.0.1:0",
		"DATAINGEST_HEARTBEAT_INTERVAL=200ms", "DATAINGEST_FAILOVER_TIMEOUT=2s", "DATAINGEST_LOG_LEVEL=debug",
		"DATAINGEST_SECRET_KEY=" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
	})
	st.Publish(context.Background(), map[string]string{"cmd": "start", "task": "dg", "config": `{"taskType":"DATAGEN","datagen":{"rate":500}}`})
	waitFor(t, 10*time.Second, "events over TLS", func() bool { return len(seqs(t, rdb, st, "dg")) > 100 })
	checkGapFree(t, seqs(t, rdb, st, "dg"))

	// A task whose source is unreachable: its config is stored, it retries.
	const dbPassword = "db-s3cret-pw"
	closed, _ := testenv.FreePort()
	st.Publish(context.Background(), map[string]string{"cmd": "start", "task": "cdc", "config": fmt.Sprintf(
		`{"taskType":"MYSQL_CDC","snapshotMode":"never","dataSourceConfigs":[{"host":"127.0.0.1","port":%d,"username":"u","password":%q}],"cdcTables":["a.b"]}`,
		closed, dbPassword)})
	waitFor(t, 10*time.Second, "the task retrying", func() bool {
		ti, _ := st.Task(context.Background(), "cdc")
		return ti.Status == "RETRYING"
	})
	stored, _ := rdb.HGet(context.Background(), st.Keys().TaskConfig("cdc"), "config").Result()
	if strings.Contains(stored, dbPassword) || !strings.Contains(stored, task.SealedPrefix) {
		t.Errorf("stored config does not seal the password: %s", stored)
	}
	status, _ := rdb.HGetAll(context.Background(), st.Keys().TaskStatus("cdc")).Result()
	for _, secret := range []string{password, dbPassword} {
		if out := p.Output(); strings.Contains(out, secret) {
			t.Errorf("the node logged a password:\n%s", tail(out, 20))
		}
		if strings.Contains(fmt.Sprint(status), secret) {
			t.Errorf("the task status shows a password: %v", status)
		}
	}
}

// writeTestCerts writes a CA and a server certificate for 127.0.0.1 signed
// by it, returning the files' paths.
func writeTestCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dataingest test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server.key", "EC PRIVATE KEY", keyDER)
}
