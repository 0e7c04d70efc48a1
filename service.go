package joinedup

import (
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Service is a connected service: a back office that receives life events
// and requests through a connector, acts on them and reports outcomes.
type Service struct {
	ID           ServiceID `json:"id"`
	Organisation OrgID     `json:"organisation"`
	Name         string    `json:"name"`
	// EventTypes are the life event types the service takes, such as
	// "birth.registered".
	EventTypes []string `json:"eventTypes"`
	// Fields are the payload fields the service declared a purpose for, as
	// dotted paths into the payload ("child.dateOfBirth", "parents.name").
	// A path into an array applies to each element. The service receives
	// only these fields.
	Fields []string `json:"fields"`
	// Purpose is the reason the service needs the fields; it is shown to the
	// informant when consent is asked.
	Purpose string `json:"purpose"`
	// LawfulBasis, when set, names the law that requires the service to be
	// told of every event it takes, with or without the informant's
	// consent, such as a statutory duty to notify. It is recorded with
	// each disclosure in place of a consent decision.
	LawfulBasis string   `json:"lawfulBasis,omitempty"`
	Endpoint    Endpoint `json:"endpoint"`
	// Secret is the Standard Webhooks signing secret ("whsec_" and base64)
	// shared by the hub and the service. It signs deliveries to the service
	// and the service's callbacks to the hub. It is never shown after
	// registration.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// RetiredAt is when an operator removed the service, or zero for a
	// service in use. A retired service is kept, because consent
	// decisions, deliveries and the audit log name it, but it is no longer
	// offered and receives nothing more.
	RetiredAt time.Time `json:"retiredAt,omitzero"`
}

// ServiceNameKey returns name in the form in which two names of services,
// or of organisations, compare equal. The key is in NFKC and case-folded,
// without accents or apostrophes. Other punctuation counts as white
// space, and each run of white space as one space. Each letter of
// another script that looks like a Latin one is replaced by that Latin
// letter. "I", "l", "1" and "|" become "i", and "0" becomes "o", because
// many fonts draw them alike.
//
// So "Child Benefit", " CHILD  BENEFIT", "Child Bénéfit", "ChiId
// Benefit" with a capital I, "Child-Benefit.", the name with a fullwidth
// letter or a no-break space, and the name with a Cyrillic "е" or a Greek
// "Β" are the same name. No two services in use may share a key, because
// the birth form shows each service by its name, and no two
// organisations may either.
func ServiceNameKey(name string) string {
	// Accented letters are decomposed and their accents dropped, so that
	// a name cannot differ from another by a mark that is hard to see,
	// and a Cyrillic "ё" maps as its base letter does.
	skeleton := strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		if latin, ok := latinLookAlikes[r]; ok {
			return latin
		}
		return r
	}, norm.NFD.String(norm.NFKC.String(name)))
	key := strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune(apostrophes, r):
			return -1
		case r == 'l' || r == '1' || r == '|':
			return 'i'
		case r == '0':
			return 'o'
		case unicode.IsPunct(r):
			return ' '
		}
		return r
	}, norm.NFKC.String(cases.Fold().String(skeleton)))
	return strings.Join(strings.Fields(key), " ")
}

// apostrophes are the characters written as an apostrophe, which a name
// may have or leave out, as in "Childrens Services".
const apostrophes = "'’ʼ‘`´"

// latinLookAlikes maps letters of other alphabets that look like a Latin
// letter of the same case to that Latin letter: from Cyrillic, Greek,
// Armenian and Cherokee, and the dotless Latin "ı" and "ȷ". Case matters:
// a Cyrillic capital "В" looks like "B", but its small "в" does not look
// like "b".
//
// NOTE: look-alikes from scripts not listed here, and symbols that look
// like letters, still count as different letters.
var latinLookAlikes = map[rune]rune{
	// Latin letters without their dot.
	'ı': 'i', 'ȷ': 'j',
	// Cyrillic capitals.
	'А': 'A', 'В': 'B', 'С': 'C', 'Е': 'E', 'Н': 'H', 'І': 'I', 'Ӏ': 'I',
	'Ј': 'J', 'К': 'K', 'М': 'M', 'О': 'O', 'Р': 'P', 'Ԛ': 'Q', 'Ѕ': 'S',
	'Т': 'T', 'Ԝ': 'W', 'Х': 'X', 'У': 'Y', 'Ү': 'Y',
	// Cyrillic small letters.
	'а': 'a', 'с': 'c', 'ԁ': 'd', 'е': 'e', 'һ': 'h', 'і': 'i', 'ј': 'j',
	'ӏ': 'l', 'о': 'o', 'р': 'p', 'ԛ': 'q', 'ѕ': 's', 'ԝ': 'w', 'х': 'x',
	'у': 'y', 'ү': 'y',
	// Greek capitals.
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K',
	'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Greek small letters.
	'α': 'a', 'ι': 'i', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'υ': 'u', 'γ': 'y',
	// Cyrillic letters with a stroke or tail that still read as Latin.
	'Ғ': 'F', 'Ҫ': 'C', 'ҫ': 'c',
	// Armenian.
	'Օ': 'O', 'օ': 'o', 'Ս': 'U', 'ս': 'u', 'Տ': 'S', 'ց': 'g', 'հ': 'h', 'ո': 'n', 'զ': 'q',
	// Cherokee capitals.
	'Ꭰ': 'D', 'Ꮢ': 'R', 'Ꮐ': 'G', 'Ꭺ': 'A', 'Ᏼ': 'B', 'Ꮯ': 'C', 'Ꭼ': 'E', 'Ꮋ': 'H', 'Ꮖ': 'I', 'Ꭻ': 'J', 'Ꮶ': 'K',
	'Ꮮ': 'L', 'Ꮇ': 'M', 'Ꮲ': 'P', 'Ꮪ': 'S', 'Ꭲ': 'T', 'Ꮩ': 'V', 'Ꮃ': 'W', 'Ꮓ': 'Z',
}

// Takes reports whether s takes events of the given type.
func (s *Service) Takes(eventType string) bool {
	return contains(s.EventTypes, eventType)
}

// Retired reports whether s has been removed.
func (s *Service) Retired() bool { return !s.RetiredAt.IsZero() }

// RetiredLastError is the last error of a delivery that was ended because
// its service was removed.
const RetiredLastError = "The service was removed."

// ServiceRemoved returns the ENOTFOUND error for a request that names the
// retired service s as if it were still in use.
func ServiceRemoved(s *Service) *Error {
	return Errorf(ENOTFOUND, "The service %q was removed on %s and is kept only for the records that name it.",
		s.ID, Today(s.RetiredAt))
}

// Endpoint kinds.
const (
	EndpointWebhook = "webhook" // HTTP POST signed with the Standard Webhooks scheme
	EndpointNATS    = "nats"    // NATS request on a subject, for services inside the cluster
)

// Endpoint is how a service receives deliveries.
type Endpoint struct {
	Kind    string `json:"kind"`
	URL     string `json:"url,omitempty"`
	Subject string `json:"subject,omitempty"`
}
