package ingest

import "testing"

// TestPhoneOf pins which identities are phone numbers: WhatsApp wa_ids
// (digits of an international number), written as the CRM keys phones.
func TestPhoneOf(t *testing.T) {
	for _, tc := range []struct{ platform, user, want string }{
		{"whatsapp", "972987654321", "+972987654321"},
		{"whatsapp", "491234567890", "+491234567890"},
		{"whatsapp", "US.13491208655302741918", ""}, // business-scoped user id
		{"whatsapp", "12345", ""},                   // too short for a number
		{"whatsapp", "1234567890123456", ""},        // longer than E.164 allows
		{"whatsapp", "", ""},
		{"instagram", "972987654321", ""},
		{"telegram", "3527065", ""},
	} {
		if got := phoneOf(tc.platform, tc.user); got != tc.want {
			t.Errorf("phoneOf(%q, %q) = %q, want %q", tc.platform, tc.user, got, tc.want)
		}
	}
}
