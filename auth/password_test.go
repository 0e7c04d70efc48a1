package auth_test

import (
	"strings"
	"testing"

	"github.com/joinedup/joinedup/auth"
)

// fastParams keep tests quick. They are far too cheap for real passwords.
var fastParams = auth.Params{Time: 1, Memory: 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashPassword(t *testing.T) {
	hash, err := auth.HashPassword("correct horse battery staple", fastParams)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash = %q, want the PHC prefix $argon2id$v=19$m=1024,t=1,p=1$", hash)
	}

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"same password", "correct horse battery staple", true},
		{"wrong password", "correct horse battery stapler", false},
		{"empty password", "", false},
		{"case differs", "Correct horse battery staple", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.VerifyPassword(tt.password, hash)
			if err != nil {
				t.Fatalf("VerifyPassword: %v", err)
			}
			if got != tt.want {
				t.Errorf("VerifyPassword(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}

	again, err := auth.HashPassword("correct horse battery staple", fastParams)
	if err != nil {
		t.Fatalf("HashPassword again: %v", err)
	}
	if again == hash {
		t.Error("two hashes of one password are equal, want different salts")
	}
}

func TestHashPasswordNFKC(t *testing.T) {
	// "ﬁ" (U+FB01) is "fi" under NFKC, and "é" composed equals "e" with a
	// combining acute accent.
	hash, err := auth.HashPassword("ﬁne café day", fastParams)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	ok, err := auth.VerifyPassword("fine cafe\u0301 day", hash)
	if err != nil {
		t.Fatalf("VerifyPassword: %v", err)
	}
	if !ok {
		t.Error("VerifyPassword of the NFKC-equivalent password = false, want true")
	}
}

func TestDefaultParams(t *testing.T) {
	hash, err := auth.HashPassword("a long enough password", auth.DefaultParams)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("hash = %q, want RFC 9106's second option m=65536,t=3,p=4", hash)
	}
	ok, err := auth.VerifyPassword("a long enough password", hash)
	if err != nil || !ok {
		t.Errorf("VerifyPassword = %v, %v; want true, nil", ok, err)
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	tests := map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
		"argon2i":        "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5",
		"old version":    "$argon2id$v=16$m=1024,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5",
		"zero time":      "$argon2id$v=19$m=1024,t=0,p=1$c2FsdHNhbHQ$a2V5a2V5",
		"bad salt":       "$argon2id$v=19$m=1024,t=1,p=1$!!!$a2V5a2V5",
		"missing key":    "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
		"too many parts": "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5$x",
	}
	for name, hash := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := auth.VerifyPassword("password", hash)
			if err == nil {
				t.Errorf("VerifyPassword(%q) = %v, nil; want an error", hash, ok)
			}
			if ok {
				t.Errorf("VerifyPassword(%q) = true, want false", hash)
			}
		})
	}
}
