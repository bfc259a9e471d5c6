// Package secrets encrypts credentials at rest with AES-256-GCM. The key
// comes from REGISTRAR_SECRET_KEY (32 bytes, base64 or hex) or, failing
// that, from a key file created with mode 0600 in the data directory, so a
// copied database file alone never reveals a credential.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFileName is the key file in the data directory.
const KeyFileName = "secret.key"

// version prefixes every ciphertext so the scheme can change later.
const version byte = 1

// Box seals and opens secrets with one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes a key given as base64 (std or URL) or hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("REGISTRAR_SECRET_KEY must be 32 bytes encoded as base64 or hex (try: openssl rand -base64 32)")
}

// Load returns the Box for envKey when set, else for the key file in
// dataDir, creating it (0600) on first use. dataDir may be "" only when
// envKey is set.
func Load(envKey, dataDir string) (*Box, error) {
	if envKey != "" {
		key, err := ParseKey(envKey)
		if err != nil {
			return nil, err
		}
		return New(key)
	}
	if dataDir == "" {
		return nil, errors.New("no secret key: set REGISTRAR_SECRET_KEY or use a data directory")
	}
	path := filepath.Join(dataDir, KeyFileName)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, err := ParseKey(string(data))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return New(key)
	case errors.Is(err, os.ErrNotExist):
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
		// O_EXCL: two processes starting at once must not write two keys.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return Load("", dataDir)
		}
		if err != nil {
			return nil, fmt.Errorf("create key file: %w", err)
		}
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return New(key)
	default:
		return nil, fmt.Errorf("read key file: %w", err)
	}
}

// Seal encrypts plaintext.
func (b *Box) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, plaintext, []byte{version}), nil
}

// Open decrypts what Seal produced.
func (b *Box) Open(ciphertext []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(ciphertext) < 1+n || ciphertext[0] != version {
		return nil, errors.New("secrets: not a sealed value")
	}
	plain, err := b.aead.Open(nil, ciphertext[1:1+n], ciphertext[1+n:], []byte{version})
	if err != nil {
		return nil, errors.New("secrets: cannot decrypt (wrong REGISTRAR_SECRET_KEY or key file?)")
	}
	return plain, nil
}
