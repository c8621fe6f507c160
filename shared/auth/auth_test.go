package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	tk, err := NewTokens("0123456789abcdef0123", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	p := Principal{UserID: "u1", WorkspaceID: "w1", Role: RoleAgent, Name: "Ann"}
	s, _, err := tk.Issue(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tk.Verify(s)
	if err != nil || got != p {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestTokenRejectsExpiredForgedAndTampered(t *testing.T) {
	tk, _ := NewTokens("0123456789abcdef0123", time.Minute)
	other, _ := NewTokens("another-key-0123456789", time.Minute)
	p := Principal{UserID: "u1", WorkspaceID: "w1", Role: RoleAdmin}

	forged, _, _ := other.Issue(p)
	if _, err := tk.Verify(forged); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("forged accepted: %v", err)
	}
	past := time.Now().Add(-time.Hour)
	tk.now = func() time.Time { return past }
	expired, _, _ := tk.Issue(p)
	tk.now = time.Now
	if _, err := tk.Verify(expired); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired accepted: %v", err)
	}
	good, _, _ := tk.Issue(p)
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	if _, err := tk.Verify(tampered); err == nil {
		t.Fatal("tampered accepted")
	}
	if _, err := tk.Verify("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9."); err == nil {
		t.Fatal("alg none accepted")
	}
}

func TestPasswordAndAPIKey(t *testing.T) {
	h, err := HashPassword("s3cret!")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "s3cret!") || CheckPassword(h, "wrong") {
		t.Fatal("password check wrong")
	}
	k, hash, err := NewAPIKey()
	if err != nil || !IsAPIKey(k) || HashAPIKey(k) != hash || IsAPIKey("eyJ.x.y") {
		t.Fatalf("api key: %s %s %v", k, hash, err)
	}
}

func TestRoleRanks(t *testing.T) {
	if !(Principal{Role: RoleAdmin}).AtLeast(RoleManager) || (Principal{Role: RoleAgent}).AtLeast(RoleManager) {
		t.Fatal("rank order wrong")
	}
	if (Principal{Role: RoleAgent}).SeesMoney() || !(Principal{Role: RoleManager}).SeesMoney() {
		t.Fatal("money visibility wrong")
	}
}
