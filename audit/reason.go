package audit

import "strings"

// The reasons that the hub records for what it does itself, in the
// Reasons of an entry. Entries already in a log keep these texts, so a
// change here must still parse the old ones.
const (
	// ReasonInformantChose is the reason for a consent that the informant
	// gave or refused when the birth was registered.
	ReasonInformantChose = "informant's choice at registration"
	// ReasonNotAParent is the reason that no consent was asked of an
	// informant who is not a parent.
	ReasonNotAParent = "the informant is not a parent, so could not consent"
	// ReasonLawRequires is the reason that a service told under a lawful
	// basis was not offered to the informant.
	ReasonLawRequires = "the law requires the service to be told, so the informant was not asked"
)

// ReasonKind is the kind of a reason that the hub records, whatever
// service or law the reason names.
type ReasonKind int

const (
	// ReasonOther is any reason the hub did not write, such as a policy's
	// id or a social worker's own words for break glass.
	ReasonOther ReasonKind = iota
	ReasonRegistration
	ReasonConsentGiven
	ReasonConsentWithdrawn
	ReasonWithdrawalNotice
	ReasonActionDue
	ReasonLawfulBasis
)

// Prefixes and suffixes of the reasons that name a service or a law.
const (
	consentGivenPrefix = "consent given to "
	withdrawnPrefix    = "consent to tell "
	withdrawnSuffix    = " withdrawn"
	noticePrefix       = "notice to "
	noticeSuffix       = " that consent was withdrawn"
	actionPrefix       = "action that "
	actionSuffix       = " asked to be reminded of"
	lawfulBasisPrefix  = "lawful basis: "
)

// ConsentGivenReason is the reason for sending service a life event that
// the informant consented to it being told.
func ConsentGivenReason(service string) string { return consentGivenPrefix + service }

// ConsentWithdrawnReason is the reason for withdrawing the consent to tell
// service.
func ConsentWithdrawnReason(service string) string {
	return withdrawnPrefix + service + withdrawnSuffix
}

// WithdrawalNoticeReason is the reason for telling service that consent
// was withdrawn.
func WithdrawalNoticeReason(service string) string { return noticePrefix + service + noticeSuffix }

// ActionDueReason is the reason for reminding service of an action it
// planned.
func ActionDueReason(service string) string { return actionPrefix + service + actionSuffix }

// LawfulBasisReason is the reason for telling a service under the law
// that basis names.
func LawfulBasisReason(basis string) string { return lawfulBasisPrefix + basis }

// ParseReason returns the kind of a recorded reason and the service or
// law it names, if any. A reason the hub did not write is ReasonOther.
func ParseReason(reason string) (ReasonKind, string) {
	switch reason {
	case ReasonInformantChose, ReasonNotAParent, ReasonLawRequires:
		return ReasonRegistration, ""
	}
	if s, ok := between(reason, consentGivenPrefix, ""); ok {
		return ReasonConsentGiven, s
	}
	if s, ok := between(reason, withdrawnPrefix, withdrawnSuffix); ok {
		return ReasonConsentWithdrawn, s
	}
	if s, ok := between(reason, noticePrefix, noticeSuffix); ok {
		return ReasonWithdrawalNotice, s
	}
	if s, ok := between(reason, actionPrefix, actionSuffix); ok {
		return ReasonActionDue, s
	}
	if s, ok := between(reason, lawfulBasisPrefix, ""); ok {
		return ReasonLawfulBasis, s
	}
	return ReasonOther, ""
}

// between returns what s holds between prefix and suffix, when it starts
// and ends with them and holds something between.
func between(s, prefix, suffix string) (string, bool) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, suffix)
	return rest, ok && rest != ""
}
