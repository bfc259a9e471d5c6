package secrets_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/registrarhq/registrar/internal/secrets"
)

func TestSealOpen(t *testing.T) {
	box, err := secrets.Load("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ct, err := box.Seal([]byte("tok-123"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("tok-123")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := box.Open(ct)
	if err != nil || string(pt) != "tok-123" {
		t.Fatalf("open: %q %v", pt, err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := box.Open(ct); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
}

func TestKeyFileCreatedPrivateAndReused(t *testing.T) {
	dir := t.TempDir()
	a, err := secrets.Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, secrets.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	ct, _ := a.Seal([]byte("x"))
	b, err := secrets.Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Open(ct); err != nil || string(pt) != "x" {
		t.Fatalf("second load cannot open: %v", err)
	}
}

func TestEnvKey(t *testing.T) {
	cases := []struct {
		key string
		ok  bool
	}{
		{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", true},
		{"3031323334353637383961626364656630313233343536373839616263646566", true},
		{"short", false},
	}
	for _, tc := range cases {
		_, err := secrets.Load(tc.key, "")
		if (err == nil) != tc.ok {
			t.Errorf("key %q: err %v", tc.key, err)
		}
	}
}
