package audit

import "testing"

// TestParseReason checks each reason the hub writes against the text that
// logs already hold, so that a change to a constructor that would leave
// stored entries unparsed fails here.
func TestParseReason(t *testing.T) {
	tests := []struct {
		written, stored string
		kind            ReasonKind
		named           string
	}{
		{ConsentGivenReason("gp-practice"), "consent given to gp-practice", ReasonConsentGiven, "gp-practice"},
		{ConsentWithdrawnReason("gp-practice"), "consent to tell gp-practice withdrawn", ReasonConsentWithdrawn, "gp-practice"},
		{WithdrawalNoticeReason("child-benefit"), "notice to child-benefit that consent was withdrawn", ReasonWithdrawalNotice, "child-benefit"},
		{ActionDueReason("primary-school"), "action that primary-school asked to be reminded of", ReasonActionDue, "primary-school"},
		{LawfulBasisReason("Education Act 1996, s.436A."), "lawful basis: Education Act 1996, s.436A.", ReasonLawfulBasis, "Education Act 1996, s.436A."},
		{ReasonInformantChose, "informant's choice at registration", ReasonRegistration, ""},
		{ReasonNotAParent, "the informant is not a parent, so could not consent", ReasonRegistration, ""},
		{ReasonLawRequires, "the law requires the service to be told, so the informant was not asked", ReasonRegistration, ""},
	}
	for _, tt := range tests {
		if tt.written != tt.stored {
			t.Errorf("the hub now writes %q where logs hold %q", tt.written, tt.stored)
		}
		kind, named := ParseReason(tt.stored)
		if kind != tt.kind {
			t.Errorf("ParseReason(%q) kind = %v, want %v", tt.stored, kind, tt.kind)
		}
		if named != tt.named {
			t.Errorf("ParseReason(%q) named %q, want %q", tt.stored, named, tt.named)
		}
	}

	for _, other := range []string{
		"", "worker-reads-own-cases", "Visiting the family after a call from the school.",
		"consent given to ", "notice to  that consent was withdrawn", "lawful basis: ",
		"consent to tell gp-practice", "action that gp-practice",
	} {
		kind, named := ParseReason(other)
		if kind != ReasonOther {
			t.Errorf("ParseReason(%q) kind = %v, want ReasonOther", other, kind)
		}
		if named != "" {
			t.Errorf("ParseReason(%q) named %q, want nothing", other, named)
		}
	}
}
