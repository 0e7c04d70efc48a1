package joinedup

import (
	"strings"
	"unicode"
)

// scriptOf returns the name of the script of the letter r, such as
// "Latin" or "Cyrillic", or "" for a character of no one script, such as
// a digit or a combining accent.
func scriptOf(r rune) string {
	if unicode.In(r, unicode.Common, unicode.Inherited) {
		return ""
	}
	for _, name := range likelyScripts {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// likelyScripts are the scripts looked up first, because names of
// services and people here are mostly written in them.
var likelyScripts = []string{"Latin", "Cyrillic", "Greek", "Armenian", "Cherokee"}

// MixesAlphabets reports whether a word of s, a run of letters and marks,
// has letters from more than one script, such as "Вenefit" with a
// Cyrillic "В" or "Cօօp" with Armenian "օ". Such a word reads as another
// word written wholly in Latin letters, but does not compare equal to it.
// Words wholly in one script are allowed, and so are names that put words
// of different scripts side by side.
func MixesAlphabets(s string) bool {
	for word := range strings.FieldsFuncSeq(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsMark(r) }) {
		seen := ""
		for _, r := range word {
			script := scriptOf(r)
			if script == "" {
				continue
			}
			// Japanese, Chinese and Korean words mix Han with kana,
			// Bopomofo or Hangul, none of which looks Latin.
			switch script {
			case "Hiragana", "Katakana", "Bopomofo", "Hangul":
				script = "Han"
			}
			if seen != "" && seen != script {
				return true
			}
			seen = script
		}
	}
	return false
}
